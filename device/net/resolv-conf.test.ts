import { describe, expect, it } from 'vitest';
import { resolvConfText } from './resolv-conf.ts';

describe('resolvConfText', () => {
  it("configured servers first, then each lease's, each once, with the leases' domains as the search list", () => {
    expect(
      resolvConfText(
        ['1.1.1.1', '10.0.2.3'],
        [
          { name: 'eth0', servers: ['10.0.2.3', '10.0.2.4'], domain: 'lan' },
          { name: 'eth1', servers: ['192.168.1.1'], domain: 'lan' },
        ],
      ),
    ).toBe(
      "# Written by kiln's init from the config, DHCP on eth0, DHCP on eth1.\n" +
        'search lan\n' +
        'nameserver 1.1.1.1\nnameserver 10.0.2.3\nnameserver 10.0.2.4\nnameserver 192.168.1.1\n',
    );
  });
  it('IPv6 servers as they are; no search line without a domain', () => {
    expect(resolvConfText(['fd00::53'], [])).toBe("# Written by kiln's init from the config.\nnameserver fd00::53\n");
  });
  it('no servers at all: only the comment (the resolver then asks nobody)', () => {
    expect(resolvConfText([], [{ name: 'eth0', servers: [] }])).toBe("# Written by kiln's init from the config, DHCP on eth0.\n");
  });
});
