import { describe, expect, it } from 'vitest';
import { parseBootConfig } from '../contract/boot-config.ts';
import { parsePrefix } from '../formats/ip.ts';
import {
  AF_INET,
  AF_INET6,
  IFA_ADDRESS,
  IFA_LOCAL,
  NLMSG_DONE,
  NLM_F_MULTI,
  RTM_GETADDR,
  RTM_NEWADDR,
  decodeMessages,
  encodeAttribute,
  encodeMessage,
} from '../formats/netlink.ts';
import { fakeNetSys } from '../testing/fake-net.ts';
import { fakeFs } from '../testing/fakes.ts';
import { statusDocument } from './stage.ts';

const IFA_F_PERMANENT = 0x80;

/** One RTM_NEWADDR of a dump, as the kernel sends it: ifaddrmsg, then IFA_ADDRESS (and IFA_LOCAL for IPv4). */
function newAddr(seq: number, index: number, text: string): Uint8Array {
  const prefix = parsePrefix(text);
  const header = new Uint8Array(8);
  header[0] = prefix.family === 4 ? AF_INET : AF_INET6;
  header[1] = prefix.length;
  header[2] = IFA_F_PERMANENT;
  new DataView(header.buffer).setUint32(4, index, true);
  const attributes = [encodeAttribute(IFA_ADDRESS, prefix.bytes)];
  if (prefix.family === 4) attributes.push(encodeAttribute(IFA_LOCAL, prefix.bytes));
  return encodeMessage(RTM_NEWADDR, NLM_F_MULTI, seq, [header, ...attributes]);
}

/** A kernel whose address dump holds `addresses` (ifindex, "address/length"), in dump order. */
function kernelWithAddresses(addresses: [number, string][]) {
  const net = fakeNetSys();
  net.rtnetlink = (request) => {
    net.requests.push(Uint8Array.from(request));
    const [message] = decodeMessages(request);
    expect(message!.type).toBe(RTM_GETADDR);
    return Buffer.concat([
      ...addresses.map(([index, text]) => newAddr(message!.seq, index, text)),
      encodeMessage(NLMSG_DONE, NLM_F_MULTI, message!.seq, [new Uint8Array(4)]),
    ]);
  };
  return net;
}

const config = parseBootConfig(
  JSON.stringify({ name: 'nettest', hostname: 'nettest', kilnVersion: '0.1.0', buildId: 'b1', arch: 'x86_64', modules: [], statusPort: 8080 }),
);
const fs = fakeFs({
  '/proc/uptime': '19.25 30.10\n',
  '/sys/class/net/lo/ifindex': '1\n',
  '/sys/class/net/lo/address': '00:00:00:00:00:00\n',
  '/sys/class/net/eth0/ifindex': '2\n',
  '/sys/class/net/eth0/address': '52:54:00:12:34:56\n',
});

describe('statusDocument', () => {
  // The e2e bug: eth0 held 10.0.2.15/24 (the forwarded port answered on it), yet /status listed only lo, because
  // the addresses came from os.networkInterfaces(), which leaves out every interface not both UP and RUNNING.
  it('lists the addresses the kernel has on each interface, whatever the link state', () => {
    const net = kernelWithAddresses([
      [1, '127.0.0.1/8'],
      [2, '10.0.2.15/24'],
      [1, '::1/128'],
      [2, 'fe80::5054:ff:fe12:3456/64'],
    ]);
    const document = statusDocument({ config, fs, net });
    expect(document.addresses).toEqual({ lo: ['127.0.0.1/8', '::1/128'], eth0: ['10.0.2.15/24', 'fe80::5054:ff:fe12:3456/64'] });
    expect(document).toMatchObject({ name: 'nettest', kiln: '0.1.0', buildId: 'b1', uptimeSeconds: 19.25 });
  });

  it('names an interface gone from /sys by its index', () => {
    const net = kernelWithAddresses([[7, '192.0.2.1/24']]);
    expect(statusDocument({ config, fs, net }).addresses).toEqual({ if7: ['192.0.2.1/24'] });
  });
});
