import { describe, expect, it } from 'vitest';
import { fakeFs } from '../testing/fakes.ts';
import { describeInterfaceConfig, listInterfaces, matchInterfaces, readCarrier, type InterfaceConfig } from './interfaces.ts';

const sysNet = (name: string, index: number, mac: string, carrier?: string) => ({
  [`/sys/class/net/${name}/ifindex`]: `${index}\n`,
  [`/sys/class/net/${name}/address`]: `${mac}\n`,
  ...(carrier === undefined ? {} : { [`/sys/class/net/${name}/carrier`]: `${carrier}\n` }),
});

const iface = (fields: Partial<InterfaceConfig>): InterfaceConfig => ({ dhcp: false, addresses: [], routes: [], ...fields });

describe('listInterfaces', () => {
  it('reads name, index and MAC (lower case) of each interface, sorted by name', () => {
    const fs = fakeFs({ ...sysNet('lo', 1, '00:00:00:00:00:00'), ...sysNet('eth0', 2, '52:54:00:AB:CD:EF'), '/sys/class/net/broken/ifindex': 'x\n' });
    expect(listInterfaces(fs)).toEqual([
      { name: 'eth0', index: 2, mac: '52:54:00:ab:cd:ef' },
      { name: 'lo', index: 1, mac: '00:00:00:00:00:00' },
    ]);
  });
  it('is empty without /sys/class/net', () => {
    expect(listInterfaces(fakeFs())).toEqual([]);
  });
});

describe('readCarrier', () => {
  it('is true, false, or unknown (the file fails while the link is down)', () => {
    const fs = fakeFs({ ...sysNet('eth0', 2, 'x', '1'), ...sysNet('eth1', 3, 'y', '0'), ...sysNet('eth2', 4, 'z') });
    expect([readCarrier(fs, 'eth0'), readCarrier(fs, 'eth1'), readCarrier(fs, 'eth2')]).toEqual([true, false, undefined]);
  });
});

describe('matchInterfaces', () => {
  const present = [
    { name: 'eth0', index: 2, mac: '52:54:00:12:34:56' },
    { name: 'eth1', index: 3, mac: '52:54:00:12:34:57' },
  ];
  it('matches by name, by MAC (any case), or by both when both are given', () => {
    const result = matchInterfaces([iface({ mac: '52:54:00:12:34:57' }), iface({ name: 'eth0', mac: '52:54:00:12:34:56' })], present);
    expect(result.matched.map((m) => [describeInterfaceConfig(m.config), m.iface.name])).toEqual([
      ['52:54:00:12:34:57', 'eth1'],
      ['eth0 (52:54:00:12:34:56)', 'eth0'],
    ]);
    expect(
      matchInterfaces([iface({ mac: '02:AB:CD:EF:00:01' })], [...present, { name: 'eth2', index: 4, mac: '02:ab:cd:ef:00:01' }]).matched[0]!.iface.name,
    ).toBe('eth2');
  });
  it('a name and a MAC that disagree match nothing', () => {
    expect(matchInterfaces([iface({ name: 'eth0', mac: '52:54:00:12:34:57' })], present)).toEqual({
      matched: [],
      missing: [iface({ name: 'eth0', mac: '52:54:00:12:34:57' })],
      duplicates: [],
    });
  });
  it('reports what is missing, and a second entry for an interface already taken', () => {
    const result = matchInterfaces([iface({ name: 'eth0' }), iface({ name: 'wlan0' }), iface({ mac: '52:54:00:12:34:56' })], present);
    expect(result.matched.map((m) => m.iface.name)).toEqual(['eth0']);
    expect(result.missing.map(describeInterfaceConfig)).toEqual(['wlan0']);
    expect(result.duplicates.map((d) => [describeInterfaceConfig(d.config), d.iface.name])).toEqual([['52:54:00:12:34:56', 'eth0']]);
  });
});
