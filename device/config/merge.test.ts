import { describe, expect, it } from 'vitest';
import { keysSet, mergeSettings } from './merge.ts';

const network = { interfaces: [{ name: 'eth0', dhcp: true, addresses: [], routes: [] }], dns: [] };

describe('mergeSettings (primary ⊕ secondary)', () => {
  it('keeps the primary where the secondary says nothing', () => {
    const primary = { hostname: 'gw', network, log: { level: 'info' as const } };
    expect(mergeSettings(primary, {})).toEqual(primary);
  });

  it('replaces each key the secondary sets as a whole', () => {
    const secondary = {
      hostname: 'gw-7',
      network: { interfaces: [{ name: 'eth1', dhcp: false, addresses: ['10.0.0.2/24'], routes: [] }], dns: ['10.0.0.1'] },
      time: { servers: ['ntp.example'] },
      log: { level: 'debug' as const },
    };
    expect(mergeSettings({ hostname: 'gw', network, time: { servers: ['pool.ntp.org'] } }, secondary)).toEqual(secondary);
  });

  it('carries the firmware pull settings, which only the secondary has', () => {
    const update = { source: 'registry.example/fleet/gw:stable', interval: 600, window: { start: '02:00', end: '04:00' } };
    expect(mergeSettings({ hostname: 'gw' }, { update }).update).toEqual(update);
  });

  it('merges sysctl by setting name, the secondary winning', () => {
    const merged = mergeSettings({ hostname: 'gw', sysctl: { 'vm.swappiness': 60, 'net.ipv4.ip_forward': true } }, { sysctl: { 'vm.swappiness': 10 } });
    expect(merged.sysctl).toEqual({ 'vm.swappiness': 10, 'net.ipv4.ip_forward': true });
  });

  it('does not change its inputs', () => {
    const primary = { hostname: 'gw', sysctl: { 'vm.swappiness': 60 } };
    mergeSettings(primary, { hostname: 'x', sysctl: { 'vm.swappiness': 1 } });
    expect(primary).toEqual({ hostname: 'gw', sysctl: { 'vm.swappiness': 60 } });
  });

  it('names the keys a secondary sets', () => {
    expect(keysSet({ hostname: 'a', sysctl: {} })).toEqual(['hostname', 'sysctl']);
    expect(keysSet({})).toEqual([]);
  });
});
