import { describe, expect, it } from 'vitest';
import { describeLease, leaseFromAck } from './lease.ts';
import type { DhcpMessage, DhcpOptions } from './message.ts';

function ack(options: Omit<DhcpOptions, 'messageType'>, yiaddr = '10.0.2.15'): DhcpMessage {
  return {
    op: 'reply',
    xid: 1,
    secs: 0,
    broadcast: true,
    ciaddr: '0.0.0.0',
    yiaddr,
    siaddr: '10.0.2.2',
    giaddr: '0.0.0.0',
    chaddr: '52:54:00:12:34:56',
    options: { messageType: 'ACK', ...options },
  };
}

describe('leaseFromAck', () => {
  it("takes QEMU's lease: T1 and T2 at 0.5 and 0.875 of it when the server does not say", () => {
    const lease = leaseFromAck(
      ack({ serverId: '10.0.2.2', leaseSeconds: 86400, subnetMask: '255.255.255.0', routers: ['10.0.2.2'], dnsServers: ['10.0.2.3'] }),
      5000,
    );
    expect(lease).toEqual({
      address: '10.0.2.15',
      prefixLength: 24,
      routers: ['10.0.2.2'],
      dnsServers: ['10.0.2.3'],
      serverId: '10.0.2.2',
      leaseSeconds: 86400,
      renewalSeconds: 43200,
      rebindingSeconds: 75600,
      grantedAt: 5000,
    });
    expect(describeLease(lease)).toBe('10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3 lease 86400 s');
  });

  it('keeps T1 ≤ T2 ≤ lease whatever the server sent', () => {
    const lease = leaseFromAck(ack({ serverId: '10.0.2.2', leaseSeconds: 100, renewalSeconds: 300, rebindingSeconds: 200 }), 0);
    expect([lease.renewalSeconds, lease.rebindingSeconds, lease.leaseSeconds]).toEqual([100, 100, 100]);
  });

  it('assumes the class mask without option 1, and keeps domain and a sane MTU', () => {
    const lease = leaseFromAck(ack({ serverId: '172.16.0.1', leaseSeconds: 60, domainName: 'lan', mtu: 1400 }, '172.16.5.5'), 0);
    expect([lease.prefixLength, lease.domainName, lease.mtu]).toEqual([16, 'lan', 1400]);
    expect(leaseFromAck(ack({ serverId: '10.0.0.1', leaseSeconds: 60, mtu: 100 }), 0).mtu).toBeUndefined();
  });

  it('an infinite lease has no renewal', () => {
    const lease = leaseFromAck(ack({ serverId: '10.0.2.2', leaseSeconds: 0xffffffff }), 0);
    expect([lease.renewalSeconds, lease.rebindingSeconds]).toEqual([0xffffffff, 0xffffffff]);
    expect(describeLease(lease)).toBe('10.0.2.15/8 lease infinite');
  });

  it('says what an unusable ACK lacks', () => {
    expect(() => leaseFromAck(ack({ leaseSeconds: 60 }), 0)).toThrow(new TypeError('DHCP ACK without a server identifier (option 54)'));
    expect(leaseFromAck(ack({ leaseSeconds: 60 }), 0, '10.0.2.2').serverId).toBe('10.0.2.2');
    expect(() => leaseFromAck(ack({ serverId: '10.0.2.2' }), 0)).toThrow(new TypeError('DHCP ACK without a lease time (option 51)'));
    expect(() => leaseFromAck(ack({ serverId: '10.0.2.2', leaseSeconds: 60 }, '0.0.0.0'), 0)).toThrow(
      new TypeError('DHCP ACK without an address (yiaddr 0.0.0.0)'),
    );
  });
});
