// Second judges: dosfstools (fsck.fat, mkfs.fat) and mtools must agree with what encodeFat32 writes,
// and decodeFat32 must read what they write.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFat32 } from './decode.js';
import { encodeFat32, encodeFat32Extents } from './encode.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'kiln-fat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PACKAGES: Record<string, string> = { 'fsck.fat': 'dosfstools', 'mkfs.fat': 'dosfstools', mdir: 'mtools', mcopy: 'mtools', mmd: 'mtools' };

/** Runs a judge; its stdout, or an error with its output (exit status 1 from fsck.fat means "errors found"). */
function judge(tool: string, args: string[], encoding: 'utf8' | 'buffer' = 'utf8'): string {
  try {
    // MTOOLS_SKIP_CHECK: image files have no real disk geometry for mtools to verify.
    const out = execFileSync(tool, args, { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
    return encoding === 'utf8' ? out.toString('utf8') : out.toString('latin1');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${tool} not found: install the ${PACKAGES[tool]} package`);
    const e = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`${tool} ${args.join(' ')} failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
  }
}

const pattern = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 7) & 0xff);
const files = [
  { path: 'EFI/BOOT/BOOTX64.EFI', data: pattern(300_001, 1) },
  { path: 'EFI/systemd/systemd-bootx64.efi', data: pattern(1234, 2) },
  { path: 'loader/entries/kiln.conf', data: new TextEncoder().encode('title kiln\n') },
  { path: 'loader/loader.conf', data: new Uint8Array(0) },
  { path: 'exactly-one-cluster.bin', data: pattern(512, 3) },
  { path: 'Ünïcode name with a much longer tail than thirteen.txt', data: pattern(513, 4) },
  ...Array.from({ length: 40 }, (_, i) => ({ path: `many/file number ${i}.bin`, data: pattern(i * 50, i) })),
];

describe('dosfstools and mtools judge encodeFat32', () => {
  const image = join(dir, 'ours.img');
  writeFileSync(image, encodeFat32({ sizeBytes: 40 * MiB, label: 'KILN ESP', files, hiddenSectors: 2048 }));

  it('fsck.fat finds no errors', () => {
    const report = judge('fsck.fat', ['-n', '-v', image]);
    // 46 files + 6 directories + the label entry
    expect(report).toMatch(/Checking free cluster summary\.\n.*ours\.img: 53 files, \d+\/80628 clusters\n$/);
    expect(report).not.toMatch(/differ|wrong|invalid|bad|broken|orphan|free cluster summary wrong|will be|\?/i);
  });

  it('mtools returns the exact bytes of every file', () => {
    for (const file of files.filter((f) => f.data.length > 0)) {
      const got = judge('mcopy', ['-n', '-i', image, `::${file.path}`, '-'], 'buffer');
      expect(Buffer.compare(Buffer.from(got, 'latin1'), file.data), file.path).toBe(0);
    }
  });

  it('mdir lists the long names and the label', () => {
    const listing = judge('mdir', ['-i', image, '-/', '::']);
    expect(listing).toContain('Volume in drive : is KILN ESP');
    expect(listing).toMatch(/^SYSTEM~1 EFI\s+1234 1980-01-01\s+0:00\s+systemd-bootx64\.efi$/m);
    expect(listing).toMatch(/^BOOTX64\s+EFI\s+300001 /m);
    expect(listing).toMatch(/^_N_COD~1 TXT\s+513 .* Ünïcode name with a much longer tail than thirteen\.txt$/m);
    for (let i = 0; i < 40; i++) expect(listing).toContain(` file number ${i}.bin\n`);
  });
});

describe('mkfs.fat judges the boot sector', () => {
  // mkfs.fat's defaults: 32 sectors × 64 heads below 512 MiB, 63 × 255 above.
  it.each([
    [40, '64/32'],
    [300, '64/32'],
    [630, '255/63'], // a whole number of 63-sector tracks: mkfs.fat drops a partial last track, kiln does not
  ])('matches mkfs.fat -F 32 for %i MiB', (mib, geometry) => {
    const theirs = join(dir, `mkfs-${mib}.img`);
    writeFileSync(theirs, new Uint8Array(0));
    execFileSync('truncate', ['-s', `${mib}M`, theirs]);
    judge('mkfs.fat', ['-F', '32', '-g', geometry, '-h', '2048', '-i', '1234ABCD', '-n', 'KILN ESP', '--invariant', theirs]);
    const mkfs = readFileSync(theirs).subarray(0, 1024);
    const ours = encodeFat32Extents({ sizeBytes: mib * MiB, label: 'KILN ESP', volumeId: 0x1234abcd, hiddenSectors: 2048, files: [] }).extents[0].bytes;
    // Everything from the bytes-per-sector field to the boot code (the OEM name at 3 differs by design),
    // the signature, and FSInfo's signatures and free count (mkfs.fat's next-free hint is 2, ours 3).
    expect(Buffer.from(ours.subarray(11, 90)).toString('hex')).toBe(Buffer.from(mkfs.subarray(11, 90)).toString('hex'));
    expect([...ours.subarray(510, 516)]).toEqual([...mkfs.subarray(510, 516)]);
    expect(Buffer.from(ours.subarray(512 + 484, 512 + 492)).toString('hex')).toBe(Buffer.from(mkfs.subarray(512 + 484, 512 + 492)).toString('hex'));
    rmSync(theirs);
  });
});

describe('decodeFat32 reads what mtools writes', () => {
  it('finds mtools long names, short names and contents', () => {
    const image = join(dir, 'mtools.img');
    writeFileSync(image, new Uint8Array(0));
    execFileSync('truncate', ['-s', '34M', image]);
    judge('mkfs.fat', ['-F', '32', '-n', 'THEIRS', image]);
    const local = join(dir, 'src');
    rmSync(local, { recursive: true, force: true });
    execFileSync('mkdir', ['-p', local]);
    writeFileSync(join(local, 'A long file name.data'), pattern(5000, 9));
    writeFileSync(join(local, 'SHORT.TXT'), 'short');
    judge('mmd', ['-i', image, '::Sub Dir']);
    judge('mcopy', ['-i', image, join(local, 'A long file name.data'), join(local, 'SHORT.TXT'), '::Sub Dir/']);
    const volume = decodeFat32(readFileSync(image));
    expect(volume.label).toBe('THEIRS');
    expect(volume.entries.map((e) => [e.path, e.shortName, e.data.length])).toEqual([
      ['Sub Dir', 'SUBDIR~1', 0],
      ['Sub Dir/A long file name.data', 'ALONGF~1.DAT', 5000],
      ['Sub Dir/SHORT.TXT', 'SHORT.TXT', 5],
    ]);
    expect(Buffer.compare(volume.entries[1].data, pattern(5000, 9))).toBe(0);
    expect(volume.freeClusters).toBe(volume.fsInfoFreeClusters);
  });
});
