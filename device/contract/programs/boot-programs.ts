/**
 * The `programs` section of /etc/kiln/boot.json: every program the build shipped (its command in PATH) and, for
 * services, how the init runs them. Written by the build from the validated config, so a wrong shape is a kiln bug,
 * reported with its key path.
 */
import { RESTART_POLICIES, type Backoff, type RestartPolicy } from './backoff.ts';

export interface BootProgram {
  name: string;
  /** Absolute path of the command (its stub), e.g. /usr/bin/greet. */
  command: string;
  args: string[];
  env: Record<string, string>;
  service?: { restart: RestartPolicy; backoff: Backoff };
}

/** A service as the init's supervisor (device/programs/supervisor.ts) runs it. */
export interface ServiceSpec {
  name: string;
  /** The program's command (its stub in PATH). */
  command: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  restart: RestartPolicy;
  backoff: Backoff;
}

/** PATH and HOME for programs the init starts; the kernel gives the init no PATH at all. */
export const SERVICE_BASE_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
};

function fail(path: string, expected: string): never {
  throw new TypeError(`/etc/kiln/boot.json: programs${path} must be ${expected}`);
}

function strings(value: unknown, path: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) fail(path, 'an array of strings');
  return value as string[];
}

function number(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(path, 'a number of milliseconds');
  return value;
}

export function parseBootPrograms(value: unknown): BootProgram[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail('', 'an array');
  return value.map((raw: unknown, i): BootProgram => {
    const at = `[${i}]`;
    if (typeof raw !== 'object' || raw === null) fail(at, 'an object');
    const p = raw as Record<string, unknown>;
    if (typeof p.name !== 'string') fail(`${at}.name`, 'a string');
    if (typeof p.command !== 'string' || !p.command.startsWith('/')) fail(`${at}.command`, 'an absolute path');
    const env = p.env ?? {};
    if (typeof env !== 'object' || env === null || Object.values(env).some((v) => typeof v !== 'string')) fail(`${at}.env`, 'an object of strings');
    const program: BootProgram = { name: p.name, command: p.command, args: strings(p.args ?? [], `${at}.args`), env: env as Record<string, string> };
    if (p.service !== undefined && p.service !== null) {
      const s = p.service as Record<string, unknown>;
      if (!(RESTART_POLICIES as readonly unknown[]).includes(s.restart)) fail(`${at}.service.restart`, RESTART_POLICIES.join(', '));
      const b = (s.backoff ?? {}) as Record<string, unknown>;
      program.service = {
        restart: s.restart as RestartPolicy,
        backoff: {
          initialMs: number(b.initialMs, `${at}.service.backoff.initialMs`),
          maxMs: number(b.maxMs, `${at}.service.backoff.maxMs`),
          resetAfterMs: number(b.resetAfterMs, `${at}.service.backoff.resetAfterMs`),
        },
      };
    }
    return program;
  });
}

/** The services among the programs, in config order, as the supervisor runs them. */
export function serviceSpecs(programs: readonly BootProgram[]): ServiceSpec[] {
  return programs.flatMap((p) =>
    p.service === undefined
      ? []
      : [{ name: p.name, command: p.command, args: p.args, env: { ...SERVICE_BASE_ENV, ...p.env }, restart: p.service.restart, backoff: p.service.backoff }],
  );
}
