import { describe, expect, it } from 'vitest';
import { fromShortNameField, generateShortName, isShortName, lfnChecksum, longNameProblem, toShortNameField } from './names.js';

describe('short names', () => {
  it('accepts only upper-case 8.3 names from the portable set', () => {
    expect(['BOOTX64.EFI', 'EFI', 'A', 'README', 'X.Y', 'A-B_C~1.$$$'].every(isShortName)).toBe(true);
    expect(['bootx64.efi', 'Boot', 'TOOLONGNAME', 'A.TOOL', 'A B', 'A.B.C', '.A', 'A.', 'A+B', 'É'].some(isShortName)).toBe(false);
  });

  it('converts between names and the 11-byte field', () => {
    expect(toShortNameField('BOOTX64.EFI')).toBe('BOOTX64 EFI');
    expect(toShortNameField('EFI')).toBe('EFI        ');
    expect(fromShortNameField('BOOTX64 EFI')).toBe('BOOTX64.EFI');
    expect(fromShortNameField('EFI        ')).toBe('EFI');
  });

  it('generates Windows-style basis names with numeric tails', () => {
    const taken = new Set<string>();
    const add = (name: string): string => {
      const field = generateShortName(name, taken);
      taken.add(field);
      return field;
    };
    expect(add('systemd-bootx64.efi')).toBe('SYSTEM~1EFI');
    expect(add('systemd-bootaa64.efi')).toBe('SYSTEM~2EFI');
    expect(add('readme.txt')).toBe('README  TXT'); // only the case differs: nothing lost, no tail
    expect(add('README.txt')).toBe('README~1TXT'); // now taken
    expect(add('my file.tar.gz')).toBe('MYFILE~1GZ ');
    expect(add('.hidden')).toBe('HIDDEN~1   ');
    expect(add('a+b=c')).toBe('A_B_C~1    ');
    expect(add('Ünïcode.json')).toBe('_N_COD~1JSO');
    for (let i = 3; i <= 9; i++) add('systemd-bootx64.efi');
    expect(add('systemd-bootx64.efi')).toBe('SYSTE~10EFI');
  });

  it('rejects names FAT cannot hold', () => {
    expect(longNameProblem('ok name.efi')).toBeUndefined();
    expect(longNameProblem('a:b')).toBe('character ":" is not allowed');
    expect(longNameProblem('trailing.')).toBe('ends with a dot or space');
    expect(longNameProblem('..')).toBe('".." is reserved');
    expect(longNameProblem('')).toBe('empty name');
    expect(longNameProblem('x'.repeat(256))).toBe('longer than 255 UTF-16 code units');
  });
});

describe('lfnChecksum', () => {
  it('rotates right and adds each byte (FAT spec 7.2)', () => {
    // Independent arithmetic: rotate right by one within a byte, then add.
    const reference = (name: string): number => [...name].reduce((sum, ch) => ((sum >> 1) + (sum & 1) * 0x80 + ch.charCodeAt(0)) % 256, 0);
    for (const name of ['BOOTX64 EFI', 'SYSTEM~1EFI', 'README  TXT']) {
      expect(lfnChecksum(Buffer.from(name, 'latin1'))).toBe(reference(name));
    }
    expect(lfnChecksum(Buffer.from('BOOTX64 EFI', 'latin1'))).toBe(0x1d); // the byte mtools 4.0.32 writes for BootX64.efi
  });
});
