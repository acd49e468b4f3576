import { describe, expect, it } from 'vitest';
import { crashStage, hangStage, kilnOptions, splitCmdline } from './cmdline.ts';

describe('splitCmdline', () => {
  it('splits on whitespace and drops quotes like the kernel', () => {
    expect(splitCmdline('console=ttyS0,115200  panic=-1 foo="a b" "x y"\n')).toEqual(['console=ttyS0,115200', 'panic=-1', 'foo=a b', 'x y']);
  });
  it('keeps an empty quoted word', () => {
    expect(splitCmdline('a "" b')).toEqual(['a', '', 'b']);
  });
});

describe('kilnOptions', () => {
  it('takes only kiln.* words, the last one winning', () => {
    const options = kilnOptions('BOOT_IMAGE=/vmlinuz kiln.crash=mounts quiet kiln.debug kiln.crash=modules kilnx=1\n');
    expect([...options]).toEqual([
      ['crash', 'modules'],
      ['debug', ''],
    ]);
  });
  it('keeps "=" inside values', () => {
    expect(kilnOptions('kiln.env=A=B').get('env')).toBe('A=B');
  });
});

describe('crashStage', () => {
  it('names the stage from kiln.crash=', () => {
    expect(crashStage(kilnOptions('panic=-1 kiln.crash=power-button'))).toBe('power-button');
  });
  it('is undefined when absent or empty', () => {
    expect(crashStage(kilnOptions('panic=-1'))).toBeUndefined();
    expect(crashStage(kilnOptions('kiln.crash='))).toBeUndefined();
  });
});

describe('hangStage', () => {
  it('names the stage from kiln.hang=, beside kiln.crash=', () => {
    const options = kilnOptions('panic=-1 kiln.hang=ready kiln.crash=modules');
    expect(hangStage(options)).toBe('ready');
    expect(crashStage(options)).toBe('modules');
  });
  it('is undefined when absent or empty', () => {
    expect(hangStage(kilnOptions('kiln.crash=ready'))).toBeUndefined();
    expect(hangStage(kilnOptions('kiln.hang='))).toBeUndefined();
  });
});
