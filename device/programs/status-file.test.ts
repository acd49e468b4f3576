import { describe, expect, it } from 'vitest';
import { formatStatus, statusDocument } from './status-file.ts';
import type { ServiceStatus } from './supervisor.ts';

const identity = { name: 'programs', hostname: 'kiln-programs', kilnVersion: '0.1.0', buildId: 'abc123', arch: 'x86_64' };
const services: ServiceStatus[] = [
  { name: 'heartbeat', state: 'running', pid: 212, restart: 'always', starts: 1 },
  {
    name: 'flaky',
    state: 'waiting',
    restart: 'on-failure',
    starts: 3,
    lastExit: { code: 1, signal: null, ranMs: 800, description: 'exited with code 1' },
    nextStartAt: 5000,
  },
  { name: 'broken', state: 'exited', restart: 'never', starts: 1, lastExit: { code: 1, signal: null, ranMs: 2100, description: 'exited with code 1' } },
];

describe('status file', () => {
  it('stores the next start relative to when it was written', () => {
    const doc = statusDocument(identity, ['greet', 'heartbeat'], services, 1000, 20_000);
    expect(doc.services[1]).toMatchObject({ name: 'flaky', nextStartInMs: 4000 });
    expect(doc.services[1]).not.toHaveProperty('nextStartAt');
    expect(doc).toMatchObject({ name: 'programs', kiln: '0.1.0', updatedUptimeMs: 20_000, commands: ['greet', 'heartbeat'] });
  });

  it('prints a table, counting down to the next start (golden text)', () => {
    const doc = statusDocument(identity, ['greet', 'heartbeat', 'flaky', 'broken'], services, 1000, 20_000);
    expect(formatStatus(doc, 21_500)).toBe(
      [
        'programs (kiln-programs): kiln 0.1.0, build abc123, x86_64, up 21.5 s',
        'service    state    pid  starts  last exit',
        'heartbeat  running  212  1       -',
        'flaky      waiting  -    3       exited with code 1 after 800 ms; starts again in 2.5 s',
        'broken     exited   -    1       exited with code 1 after 2.1 s (restart: never)',
        'commands: greet, heartbeat, flaky, broken',
        '',
      ].join('\n'),
    );
  });

  it('says when there are no services', () => {
    expect(formatStatus(statusDocument(identity, [], [], 0, 1000), 1000)).toBe(
      'programs (kiln-programs): kiln 0.1.0, build abc123, x86_64, up 1 s\nservices: none\ncommands: none\n',
    );
  });
});
