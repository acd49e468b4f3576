import { describe, expect, it } from 'vitest';
import { SyscallError } from '../sys/libc.ts';
import { ackFor, fakeNetSys } from '../testing/fake-net.ts';
import { parseIPv4, parsePrefix } from '../formats/ip.ts';
import { RTM_NEWADDR, RTPROT_STATIC, decodeMessages } from '../formats/netlink.ts';
import { createRtnl } from './rtnl.ts';

describe('createRtnl', () => {
  it('sends one request per change, each with the next sequence number', () => {
    const sys = fakeNetSys();
    const rtnl = createRtnl(sys);
    rtnl.setLink('eth0', { index: 2, up: true });
    rtnl.addAddress('eth0', { index: 2, address: parsePrefix('10.0.2.15/24') });
    rtnl.addRoute('eth0', { destination: parsePrefix('0.0.0.0/0'), gateway: parseIPv4('10.0.2.2'), index: 2, protocol: RTPROT_STATIC });
    expect(sys.requests.map((r) => decodeMessages(r).map((m) => [m.type, m.seq])[0])).toEqual([
      [16, 1],
      [20, 2],
      [24, 3],
    ]);
  });

  it('turns a negative acknowledgement into a SyscallError saying what was asked', () => {
    const sys = fakeNetSys((request) => (decodeMessages(request)[0]!.type === RTM_NEWADDR ? 17 : 0));
    const rtnl = createRtnl(sys);
    let error: unknown;
    try {
      rtnl.addAddress('eth0', { index: 2, address: parsePrefix('10.0.2.15/24') });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SyscallError);
    expect((error as SyscallError).message).toBe('add address 10.0.2.15/24 on eth0: File exists (EEXIST)');
    expect((error as SyscallError).code).toBe('EEXIST');
    expect(() =>
      rtnl.addRoute('eth0', { destination: parsePrefix('10.9.0.0/16'), gateway: parseIPv4('10.0.2.9'), index: 2, protocol: RTPROT_STATIC }),
    ).not.toThrow();
  });

  it('names the route in errors', () => {
    const rtnl = createRtnl(fakeNetSys(() => 101));
    expect(() => rtnl.addRoute('eth0', { destination: parsePrefix('0.0.0.0/0'), gateway: parseIPv4('10.0.2.2'), index: 2, protocol: RTPROT_STATIC })).toThrow(
      'add route default via 10.0.2.2 dev eth0: Network is unreachable (ENETUNREACH)',
    );
  });

  it('reports a kernel answer without the acknowledgement', () => {
    const sys = fakeNetSys();
    sys.rtnetlink = (request) => {
      const ack = ackFor(request);
      ack[8] ^= 0xff; // another sequence number
      return ack;
    };
    expect(() => createRtnl(sys).setLink('lo', { index: 1, up: true })).toThrow('set lo up: the kernel sent no acknowledgement');
  });
});
