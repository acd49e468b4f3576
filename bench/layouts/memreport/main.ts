// One line, 10 s after it starts (the boot has settled): the whole system's used memory (MemTotal - MemAvailable),
// the init's resident set, and what the root filesystem holds in RAM (Shmem: the initramfs's unpacked files).
import { readFileSync } from 'node:fs';

const kib = (text: string, key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
const mib = (k: number): string => (k / 1024).toFixed(1);

setTimeout(() => {
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const init = readFileSync('/proc/1/status', 'utf8');
  const total = kib(meminfo, 'MemTotal');
  const used = total - kib(meminfo, 'MemAvailable');
  console.log(
    `memreport: used ${mib(used)} MiB of ${mib(total)} MiB; init RSS ${mib(kib(init, 'VmRSS'))} MiB; Shmem ${mib(kib(meminfo, 'Shmem'))} MiB; arch ${process.arch}`,
  );
}, 10_000);
