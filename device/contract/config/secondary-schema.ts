/**
 * The settings an operator may change on a running device without rebuilding its firmware: the *secondary*
 * config, a YAML file on a writable partition. The same zod schema runs on the host (`kiln config check`, and as
 * part of the primary schema) and on the device (validating the secondary at boot and on SIGHUP), so both report
 * the same messages. Erasable TypeScript only: the device runs this file from source.
 */
import { z } from 'zod';
import { containerOverrideSchema } from './containers-schema.ts';
import { updatePullSchema } from './update-pull-schema.ts';

const ipv4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const ipv6 = /^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$/;
const ip = z.string().refine((s) => ipv4.test(s) || ipv6.test(s), { message: 'expected an IPv4 or IPv6 address' });
const cidr = z.string().refine(
  (s) => {
    const [addr, len, extra] = s.split('/');
    if (extra !== undefined || len === undefined || !/^\d+$/.test(len)) return false;
    return ipv4.test(addr!) ? Number(len) <= 32 : ipv6.test(addr!) && Number(len) <= 128;
  },
  { message: 'expected an address with a prefix length, like "192.168.1.10/24" or "fd00::10/64"' },
);

export const interfaceSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'expected an interface name like "eth0"')
      .optional()
      .describe('Kernel interface name.'),
    mac: z
      .string()
      .regex(/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/, 'expected a MAC address like "52:54:00:12:34:56"')
      .optional()
      .describe('Match the interface by MAC address instead of name.'),
    dhcp: z.boolean().default(false).describe('Get an IPv4 address by DHCP (with lease renewal and retries).'),
    addresses: z.array(cidr).default([]).describe('Static addresses with prefix length.'),
    gateway: ip.optional().describe('Default route through this address.'),
    routes: z.array(z.object({ to: cidr, via: ip }).strict()).default([]),
    mtu: z.number().int().min(576).max(65535).optional(),
  })
  .strict()
  .refine((i) => i.name !== undefined || i.mac !== undefined, { message: 'expected "name" or "mac" to say which interface' });

export const networkSchema = z
  .object({
    interfaces: z.array(interfaceSchema).default([]),
    dns: z.array(ip).default([]).describe('Name servers for /etc/resolv.conf (DHCP adds its own).'),
  })
  .strict();

export const timeSchema = z
  .object({
    servers: z.array(z.string().min(1)).default([]).describe('NTP servers, "host" or "host:port".'),
  })
  .strict();

export const logSchema = z
  .object({
    level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  })
  .strict();

export const sysctlSchema = z
  .record(
    z.string().regex(/^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/, 'expected a sysctl name like "net.ipv4.ip_forward"'),
    z.union([z.string(), z.number(), z.boolean()]),
  )
  .describe('Kernel settings written to /proc/sys at boot.');

/** Keys the secondary config may set; everything else belongs to the primary config only. */
export const SECONDARY_KEYS = ['hostname', 'network', 'time', 'sysctl', 'log', 'api', 'containers', 'registries', 'update'] as const;

export const secondarySchema = z
  .object({
    hostname: z
      .string()
      .regex(/^(?=.{1,63}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/, 'expected a hostname of letters, digits and "-" (at most 63)')
      .optional(),
    network: networkSchema.optional(),
    time: timeSchema.optional(),
    sysctl: sysctlSchema.optional(),
    log: logSchema.optional(),
    api: z
      .object({
        token: z
          .string()
          .regex(/^[\x21-\x7e]{16,256}$/, 'expected a bearer token of 16-256 printable characters without spaces')
          .describe('Bearer token of the management API over TCP (apiPort); without one there is no TCP listener.'),
      })
      .strict()
      .optional(),
    containers: z
      .record(z.string(), containerOverrideSchema)
      .optional()
      .describe('Per container (by name): env, args, realtime, resources, console, restart, backoff; applied at its next start.'),
    registries: z
      .record(
        z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'expected a registry host[:port] as image references write it, like "ghcr.io" or "127.0.0.1:5000"'),
        z
          .object({
            mirror: z
              .string()
              .regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/, 'expected an origin like "https://mirror.site.lan" or "http://10.0.2.2:5000"')
              .describe("Where the device pulls that registry's images from instead (a site mirror; the host as a QEMU guest sees it)."),
          })
          .strict(),
      )
      .optional()
      .describe('Registries the device reaches at another address when it pulls a missing image, or its firmware, at run time.'),
    update: updatePullSchema.optional().describe('Pull the firmware from a registry: the tag to follow, how often to look, when to reboot into it.'),
  })
  .strict();

export type Secondary = z.output<typeof secondarySchema>;
export type SecondaryInput = z.input<typeof secondarySchema>;
export type Network = z.output<typeof networkSchema>;
export type Time = z.output<typeof timeSchema>;
