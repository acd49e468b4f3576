/**
 * `containers:` in the primary config: OCI images the init runs with crun and supervises. Shared by the host (the
 * build resolves and pins the images, `kiln disk` seeds the store) and the device (the init runs them; the
 * secondary config may override a container's settings). Erasable TypeScript only.
 */
import { z } from 'zod';
import { DEFAULT_BACKOFF } from '../programs/backoff.ts';
import { backoffSchema, restartSchema } from './service-schema.ts';

/** A container name: also its crun id, cgroup and log file name. */
export const CONTAINER_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/** Capabilities a container has unless it asks for more (or is privileged): enough to run an ordinary daemon. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETGID',
  'CAP_SETUID',
];

export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGKILL'] as const;

const absolutePath = z.string().regex(/^\/(?!.*(^|\/)\.\.(\/|$))/, 'expected an absolute path without "..", like "/var/lib/app"');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name like "LOG_LEVEL"');
const cpuList = z.array(z.number().int().min(0).max(1023)).min(1);
const sizePattern = /^\d+(\.\d+)?\s*(K|M|G)(i?B)?$/i;

const mountSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('partition'),
      label: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'expected the LABEL of a partition in storage.partitions'),
      path: z
        .string()
        .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))/, 'expected a folder relative to the partition\'s root, like "apps/web"')
        .default('')
        .describe("Folder inside the partition; created on first start. @default the partition's root"),
      target: absolutePath.describe('Where the container sees it.'),
      readOnly: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      type: z.literal('tmpfs'),
      target: absolutePath,
      size: z.string().regex(sizePattern, 'expected a size like "16M"').default('16M'),
      readOnly: z.boolean().default(false),
    })
    .strict(),
]);

export const realtimeSchema = z
  .object({
    policy: z.enum(['fifo', 'rr']).describe('SCHED_FIFO or SCHED_RR.'),
    priority: z.number().int().min(1).max(99).describe('Real-time priority, 1 (lowest) to 99.'),
    cpus: cpuList.optional().describe("CPUs the container's process may run on (its affinity), e.g. [1]."),
  })
  .strict();

const port = z.number().int().min(1).max(65535);

/** Is the container's service working? Probed while it runs; `retries` failures in a row make it unhealthy. */
export const healthcheckSchema = z
  .object({
    exec: z.array(z.string()).min(1).optional().describe('A command run inside the container (crun exec): healthy when it exits 0.'),
    tcp: z.object({ port }).strict().optional().describe('Healthy when 127.0.0.1:port accepts a connection (network: host).'),
    http: z
      .object({ port, path: z.string().regex(/^\//, 'expected a path like "/health"').default('/') })
      .strict()
      .optional()
      .describe('Healthy when GET http://127.0.0.1:port/path answers 2xx or 3xx (network: host).'),
    intervalSeconds: z.number().min(0.5).max(3600).default(10),
    timeoutSeconds: z.number().min(0.1).max(600).default(5),
    retries: z.number().int().min(1).max(100).default(3).describe('Failed checks in a row that make it unhealthy.'),
    startPeriodSeconds: z.number().min(0).max(3600).default(0).describe('Failures this soon after a start do not count.'),
  })
  .strict()
  .superRefine((h, ctx) => {
    const probes = [h.exec, h.tcp, h.http].filter((p) => p !== undefined).length;
    if (probes !== 1) ctx.addIssue({ code: 'custom', message: probes === 0 ? 'expected one of exec, tcp or http' : 'expected only one of exec, tcp or http' });
  });
export type Healthcheck = z.output<typeof healthcheckSchema>;

export const containerSchema = z
  .object({
    name: z.string().regex(CONTAINER_NAME, 'expected lower-case letters, digits, ".", "_" and "-", like "web"'),
    image: z
      .string()
      .min(1)
      .describe('oci:<folder>[:<tag>], oci-archive:<file>[:<tag>], docker-archive:<file>, or a registry reference host/repo[:tag|@digest].'),
    command: z.array(z.string()).optional().describe("Replaces the image's Entrypoint."),
    args: z.array(z.string()).optional().describe("Replaces the image's Cmd."),
    env: z.record(envName, z.string()).default({}).describe("Added to (and overriding) the image's Env."),
    workingDir: absolutePath.optional().describe("@default the image's WorkingDir, else /"),
    user: z
      .string()
      .regex(/^\d+(:\d+)?$/, 'expected a numeric uid or uid:gid, like "1000:1000"')
      .optional()
      .describe("@default the image's User when numeric, else 0:0"),
    mounts: z.array(mountSchema).default([]),
    restart: restartSchema,
    backoff: backoffSchema.default(DEFAULT_BACKOFF).describe('Exponential delay between restarts.'),
    stopSignal: z.enum(STOP_SIGNALS).default('SIGTERM'),
    stopTimeoutSeconds: z.number().min(0).max(600).default(10).describe('Then SIGKILL.'),
    dependsOn: z.array(z.string()).default([]).describe('Containers started before this one; one with a healthcheck must be healthy before this one starts.'),
    healthcheck: healthcheckSchema.optional().describe('Probed while it runs; unhealthy (retries failures in a row) means restarted, unless restart: never.'),
    realtime: realtimeSchema.optional().describe("Real-time scheduling, applied before the container's code runs."),
    resources: z
      .object({
        memory: z.string().regex(sizePattern, 'expected a size like "256M"').optional().describe('cgroup v2 memory.max.'),
        cpuWeight: z.number().int().min(1).max(10000).optional().describe('cgroup v2 cpu.weight (default 100).'),
        cpus: cpuList.optional().describe('cgroup v2 cpuset.cpus.'),
      })
      .strict()
      .default({}),
    capabilities: z
      .array(z.string().regex(/^CAP_[A-Z_]+$/, 'expected a capability name like "CAP_NET_ADMIN"'))
      .default([])
      .describe(`Added to the default set (${DEFAULT_CAPABILITIES.join(', ')}).`),
    privileged: z.boolean().default(false).describe('Every capability and every device: only when really needed.'),
    devices: z.array(absolutePath).default([]).describe('Device nodes passed in, e.g. /dev/ttyS1.'),
    network: z.enum(['host', 'none']).default('host').describe("host: the device's network; none: only loopback."),
    console: z.boolean().default(true).describe('Echo its output to the console, prefixed with its name.'),
  })
  .strict();

export type ContainerConfig = z.output<typeof containerSchema>;

/** What the secondary config may change of a container, by name: applied at its next start. */
export const containerOverrideSchema = z
  .object({
    env: z.record(envName, z.string()).optional().describe("Merged into the container's env (these win)."),
    args: z.array(z.string()).optional(),
    realtime: realtimeSchema.optional(),
    resources: containerSchema.shape.resources.optional(),
    console: z.boolean().optional(),
    restart: restartSchema.optional(),
    backoff: backoffSchema.optional(),
  })
  .strict();
export type ContainerOverride = z.output<typeof containerOverrideSchema>;

/** A container with the secondary config's override for it applied (env merged by name, the rest replaced). */
export function withOverride<C extends ContainerConfig>(c: C, override: ContainerOverride | undefined): C {
  if (override === undefined) return c;
  const { env, ...rest } = override;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return { ...c, ...defined, env: { ...c.env, ...env } };
}
export type ContainerMount = ContainerConfig['mounts'][number];

/** Whether `folder` lies on the filesystem mounted at `mount` (the mount point itself or below it). */
export function isOnMount(folder: string, mount: string | undefined): boolean {
  return mount !== undefined && (folder === mount || folder.startsWith(`${mount.replace(/\/$/, '')}/`));
}

/** Names unique, dependencies known and acyclic: checked on the host and again on the device after a merge. */
export function containerListIssues(
  list: readonly { name: string; dependsOn: readonly string[]; network?: string; healthcheck?: { tcp?: unknown; http?: unknown } }[],
): { index: number; field: string; message: string }[] {
  const issues: { index: number; field: string; message: string }[] = [];
  const first = new Map<string, number>();
  list.forEach((c, i) => {
    const seen = first.get(c.name);
    if (seen !== undefined) issues.push({ index: i, field: 'name', message: `"${c.name}" is already the name of containers[${seen}]; names must be unique` });
    else first.set(c.name, i);
  });
  list.forEach((c, i) => {
    c.dependsOn.forEach((d, j) => {
      if (!first.has(d)) issues.push({ index: i, field: `dependsOn.${j}`, message: `no container is named "${d}"` });
      else if (d === c.name) issues.push({ index: i, field: `dependsOn.${j}`, message: 'a container cannot depend on itself' });
    });
    for (const probe of ['tcp', 'http'] as const) {
      if (c.healthcheck?.[probe] !== undefined && c.network === 'none') {
        issues.push({
          index: i,
          field: `healthcheck.${probe}`,
          message: `a ${probe} check connects to 127.0.0.1 of the device: it needs network: host (or use an exec check)`,
        });
      }
    }
  });
  if (issues.length === 0) {
    const order = startOrder(list);
    if (order === undefined) issues.push({ index: 0, field: 'dependsOn', message: 'the dependencies form a cycle' });
  }
  return issues;
}

/** Names in an order where every container comes after what it depends on (config order otherwise); undefined on a cycle. */
export function startOrder(list: readonly { name: string; dependsOn: readonly string[] }[]): string[] | undefined {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const byName = new Map(list.map((c) => [c.name, c]));
  const visit = (name: string): boolean => {
    const s = state.get(name);
    if (s === 'done') return true;
    if (s === 'visiting') return false;
    state.set(name, 'visiting');
    for (const d of byName.get(name)?.dependsOn ?? []) if (byName.has(d) && !visit(d)) return false;
    state.set(name, 'done');
    order.push(name);
    return true;
  };
  for (const c of list) if (!visit(c.name)) return undefined;
  return order;
}

export const containersSchema = z
  .array(containerSchema)
  .default([])
  .superRefine((list, ctx) => {
    for (const issue of containerListIssues(list))
      ctx.addIssue({ code: 'custom', path: [issue.index, ...issue.field.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p))], message: issue.message });
  })
  .describe('OCI containers the init runs with crun and keeps running per their restart policy.');
