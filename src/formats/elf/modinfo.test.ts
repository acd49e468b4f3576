import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { decodeElf, decodeModinfo, sectionBytes } from './index.js';

const encode = (text: string) => new TextEncoder().encode(text);

describe('decodeModinfo', () => {
  test('groups repeated keys in file order and skips NUL padding', () => {
    const section = encode('license=GPL\0alias=virtio:d02\0\0\0\0alias=virtio:d03\0depends=\0name=virtio_blk\0');
    expect(decodeModinfo(section)).toEqual(
      new Map([
        ['license', ['GPL']],
        ['alias', ['virtio:d02', 'virtio:d03']],
        ['depends', ['']],
        ['name', ['virtio_blk']],
      ]),
    );
  });

  test('keeps "=" inside values, reads UTF-8, tolerates a missing final NUL and a bare key', () => {
    const section = encode('parm=x:a=b means c\0author=Jörg Rödel\0intree');
    expect([...decodeModinfo(section)]).toEqual([
      ['parm', ['x:a=b means c']],
      ['author', ['Jörg Rödel']],
      ['intree', ['']],
    ]);
  });

  test('an empty section has no entries', () => {
    expect(decodeModinfo(new Uint8Array(0)).size).toBe(0);
  });
});

// Second judge: kmod's modinfo when installed, else readelf's string dump of .modinfo.

const MODINFO = ['/sbin/modinfo', '/usr/sbin/modinfo', '/usr/bin/modinfo'].find((path) => existsSync(path));
const hasReadelf = (() => {
  try {
    execFileSync('readelf', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** The `.modinfo` strings as `readelf -p` prints them, in order. */
function readelfModinfo(file: string): string[] {
  const dump = execFileSync('readelf', ['-W', '-p', '.modinfo', file], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return [...dump.matchAll(/^\s*\[\s*[0-9a-f]+\]\s\s(.*)$/gm)].map((m) => m[1]);
}

function ourModinfo(file: string): Map<string, string[]> {
  const bytes = readFileSync(file);
  return decodeModinfo(sectionBytes(bytes, decodeElf(bytes), '.modinfo')!);
}

function judgeDepends(file: string): string {
  if (MODINFO !== undefined) return execFileSync(MODINFO, ['-F', 'depends', file], { encoding: 'utf8' }).trim();
  const line = readelfModinfo(file).find((entry) => entry.startsWith('depends='));
  return line === undefined ? '' : line.slice('depends='.length);
}

const FIXTURES = new URL('../modules/fixtures/', import.meta.url).pathname;
const KERNEL = '/tmp/probe/k/lib/modules/6.1.0-56-rt-amd64/kernel';

describe.skipIf(!MODINFO && !hasReadelf)('decodeModinfo agrees with modinfo/readelf', () => {
  test.each(['virtio_blk.ko', 'crc16.ko'])('fixture %s: depends', (name) => {
    const ours = ourModinfo(join(FIXTURES, name)).get('depends') ?? [];
    expect(ours.join(',')).toBe(judgeDepends(join(FIXTURES, name)));
  });

  test('fixture virtio_blk.ko: the known content', () => {
    const info = ourModinfo(join(FIXTURES, 'virtio_blk.ko'));
    expect(info.get('depends')).toEqual(['virtio,virtio_ring']);
    expect(info.get('name')).toEqual(['virtio_blk']);
    expect(info.get('parmtype')).toEqual(['queue_depth:uint', 'poll_queues:uint', 'num_request_queues:uint']);
  });

  test.skipIf(!hasReadelf).each(['virtio_blk.ko', 'crc16.ko'])('fixture %s: every entry, in order', (name) => {
    const entries = [...ourModinfo(join(FIXTURES, name))].flatMap(([key, values]) => values.map((v) => `${key}=${v}`));
    // readelf lists strings in file order; ours are grouped by key, so compare as sorted lists.
    expect(entries.sort()).toEqual(readelfModinfo(join(FIXTURES, name)).sort());
  });

  test.skipIf(!existsSync(KERNEL) || !hasReadelf)(
    'a sample of the real kernel tree (every 40th module)',
    () => {
      const files = (readdirSync(KERNEL, { recursive: true }) as string[]).filter((f) => f.endsWith('.ko')).sort();
      const sample = files.filter((_, i) => i % 40 === 0);
      expect(sample.length).toBeGreaterThan(50);
      for (const file of sample) {
        const path = join(KERNEL, file);
        const ours = [...ourModinfo(path)].flatMap(([key, values]) => values.map((v) => `${key}=${v}`));
        // readelf -p shows a string only up to its first newline (printed as "\n") and escapes other bytes outside
        // printable ASCII its own way: compare the printable entries character for character, and the count of all.
        const ascii = (list: string[]) => list.filter((entry) => /^[\x20-\x7e]*$/.test(entry)).sort();
        const theirs = readelfModinfo(path);
        expect(ours.length, file).toBe(theirs.length);
        expect(ascii(ours.map((entry) => entry.replace(/\n[^]*$/, '\\n'))), file).toEqual(ascii(theirs));
        expect((ourModinfo(path).get('depends') ?? []).join(','), file).toBe(judgeDepends(path));
      }
    },
    60_000,
  );
});
