import { describe, expect, test } from 'vitest';
import { archSpec } from './arch.js';
import { parseForward } from './forward.js';
import { buildQemuArgs, escapeOptionValue } from './qemu-args.js';

const base = {
  memory: '1G',
  cpus: 2,
  accel: { accel: 'tcg', cpu: 'max' } as const,
  firmware: { code: '/fw/OVMF_CODE_4M.fd', vars: '/tmp/run/OVMF_VARS_4M.fd' },
};

/** The value following each occurrence of `flag`. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

describe('buildQemuArgs', () => {
  test('x86_64: q35, single-threaded TCG with -cpu max without PKU, no display, no reboot, console on stdio', () => {
    const args = buildQemuArgs({ ...base, spec: archSpec('x86_64'), espDisk: '/tmp/run/esp.img', qmpSocket: '/tmp/run/qmp.sock' });
    expect(values(args, '-machine')).toEqual(['q35']);
    expect(values(args, '-accel')).toEqual(['tcg,thread=single']);
    expect(values(args, '-cpu')).toEqual(['max,-pku']);
    expect(values(args, '-smp')).toEqual(['2']);
    expect(values(args, '-m')).toEqual(['1G']);
    expect(values(args, '-display')).toEqual(['none']);
    expect(args).toContain('-no-reboot');
    expect(args).toContain('-nodefaults');
    expect(values(args, '-serial')).toEqual(['chardev:console']);
    expect(values(args, '-chardev')).toEqual(['stdio,id=console,signal=off', 'socket,id=qmp,path=/tmp/run/qmp.sock,server=on,wait=off']);
    expect(values(args, '-mon')).toEqual(['chardev=qmp,mode=control']);
  });

  test('firmware as two pflash units, code read-only; the ESP as the first boot disk', () => {
    const args = buildQemuArgs({ ...base, spec: archSpec('x86_64'), espDisk: '/tmp/run/esp.img' });
    expect(values(args, '-drive')).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/fw/OVMF_CODE_4M.fd',
      'if=pflash,format=raw,unit=1,file=/tmp/run/OVMF_VARS_4M.fd',
      'if=none,id=esp,format=raw,file=/tmp/run/esp.img',
    ]);
    expect(values(args, '-device')).toEqual(['virtio-blk-pci,drive=esp,bootindex=0']);
  });

  test('extra drives follow the ESP, each with its format', () => {
    const args = buildQemuArgs({
      ...base,
      spec: archSpec('x86_64'),
      espDisk: '/e.img',
      extraDrives: [
        { path: '/d/data.qcow2', format: 'qcow2' },
        { path: '/d/raw.img', format: 'raw' },
      ],
    });
    expect(values(args, '-drive').slice(3)).toEqual(['if=none,id=data0,format=qcow2,file=/d/data.qcow2', 'if=none,id=data1,format=raw,file=/d/raw.img']);
    expect(values(args, '-device').slice(1)).toEqual(['virtio-blk-pci,drive=data0', 'virtio-blk-pci,drive=data1']);
  });

  test('KVM uses -cpu host', () => {
    const args = buildQemuArgs({ ...base, spec: archSpec('x86_64'), accel: { accel: 'kvm', cpu: 'host' } });
    expect(values(args, '-accel')).toEqual(['kvm']);
    expect(values(args, '-cpu')).toEqual(['host']);
  });

  test('aarch64: the virt machine; under TCG pointer authentication the cheap way, under KVM the host CPU', () => {
    const args = buildQemuArgs({ ...base, spec: archSpec('aarch64') });
    expect(values(args, '-machine')).toEqual(['virt']);
    expect(values(args, '-cpu')).toEqual(['max,pauth-impdef=on']);
    expect(values(args, '-accel')).toEqual(['tcg,thread=single']);
    expect(values(buildQemuArgs({ ...base, spec: archSpec('aarch64'), accel: { accel: 'kvm', cpu: 'host' } }), '-cpu')).toEqual(['host']);
  });

  test('--tcg-threads overrides the architecture under TCG and means nothing under KVM', () => {
    expect(values(buildQemuArgs({ ...base, spec: archSpec('x86_64'), tcgThreads: 'multi' }), '-accel')).toEqual(['tcg,thread=multi']);
    const kvm = buildQemuArgs({ ...base, spec: archSpec('x86_64'), tcgThreads: 'multi', accel: { accel: 'kvm', cpu: 'host' } });
    expect(values(kvm, '-accel')).toEqual(['kvm']);
  });

  test('no ESP and no QMP for the KVM probe', () => {
    const args = buildQemuArgs({ ...base, spec: archSpec('x86_64') });
    expect(args).not.toContain('-device');
    expect(args).not.toContain('-mon');
  });

  test('network: a virtio-net NIC on the user network, fixed MAC, no option ROM, one hostfwd per forward', () => {
    const args = buildQemuArgs({
      ...base,
      spec: archSpec('x86_64'),
      espDisk: '/e.img',
      network: { forwards: [parseForward('18080:8080'), parseForward('0.0.0.0:2222:22')] },
    });
    expect(values(args, '-netdev')).toEqual(['user,id=net0,hostfwd=tcp:127.0.0.1:18080-:8080,hostfwd=tcp:0.0.0.0:2222-:22']);
    expect(values(args, '-device')).toEqual(['virtio-blk-pci,drive=esp,bootindex=0', 'virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56,romfile=']);
  });

  test('network without forwards; no network, no NIC', () => {
    expect(values(buildQemuArgs({ ...base, spec: archSpec('x86_64'), network: { forwards: [] } }), '-netdev')).toEqual(['user,id=net0']);
    expect(buildQemuArgs({ ...base, spec: archSpec('x86_64') })).not.toContain('-netdev');
  });

  test('watchdog: an i6300esb on the PCI bus of both machines, after the disks; none unless asked (the KVM probe)', () => {
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const args = buildQemuArgs({ ...base, spec: archSpec(arch), espDisk: '/e.img', watchdog: true });
      expect(values(args, '-device')).toEqual(['virtio-blk-pci,drive=esp,bootindex=0', 'i6300esb']);
      expect(values(buildQemuArgs({ ...base, spec: archSpec(arch), espDisk: '/e.img' }), '-device')).not.toContain('i6300esb');
    }
    // No -watchdog-action: QEMU's default (reset) is what -no-reboot turns into the run's outcome `reset`.
    expect(buildQemuArgs({ ...base, spec: archSpec('x86_64'), watchdog: true })).not.toContain('-watchdog-action');
  });

  test('Secure Boot: q35 with SMM and the variable flash secure; nothing of it otherwise', () => {
    const firmware = { code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', vars: '/tmp/run/OVMF_VARS_4M.snakeoil.fd' };
    const args = buildQemuArgs({ ...base, spec: archSpec('x86_64'), firmware, secureBoot: true });
    expect(values(args, '-machine')).toEqual(['q35,smm=on']);
    expect(values(args, '-global')).toEqual(['driver=cfi.pflash01,property=secure,value=on']);
    expect(values(args, '-drive')).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
      'if=pflash,format=raw,unit=1,file=/tmp/run/OVMF_VARS_4M.snakeoil.fd',
    ]);
    expect(buildQemuArgs({ ...base, spec: archSpec('x86_64') })).not.toContain('-global');
  });

  test('commas in paths are doubled, as QEMU option syntax wants', () => {
    expect(escapeOptionValue('/a,b/c,,d')).toBe('/a,,b/c,,,,d');
    const args = buildQemuArgs({ ...base, spec: archSpec('x86_64'), espDisk: '/tmp/x,y/esp.img' });
    expect(values(args, '-drive')).toContain('if=none,id=esp,format=raw,file=/tmp/x,,y/esp.img');
  });
});
