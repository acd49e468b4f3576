import { describe, expect, it } from 'vitest';
import { networkModules } from './network-modules.js';

describe('networkModules', () => {
  it('adds virtio-net when the primary config has a network', () => {
    expect(networkModules({ network: { interfaces: [{ name: 'eth0', dhcp: true, addresses: [], routes: [] }], dns: [] } })).toEqual([
      'virtio_pci',
      'virtio_net',
    ]);
  });
  it('adds it when only the secondary default configures the network', () => {
    expect(networkModules({ secondary: { path: '/data/s.yml', default: { network: { interfaces: [], dns: [] } } } })).toEqual(['virtio_pci', 'virtio_net']);
  });
  it('adds nothing without a network', () => {
    expect(networkModules({})).toEqual([]);
    expect(networkModules({ secondary: { path: '/data/s.yml', default: {} } })).toEqual([]);
  });
});
