import { describe, expect, test } from 'vitest';
import { validateYaml } from './load.js';

const BASE = `name: dev
storage:
  partitions:
    - { label: ESP, filesystem: vfat, size: 64M, esp: true }
    - { label: DATA, filesystem: ext4, size: rest, mount: /data }
containers:
`;

function error(yaml: string): string {
  try {
    validateYaml('kiln.yml', yaml);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a validation error');
}

describe('containers in the config', () => {
  test('a valid container gets its defaults', () => {
    const config = validateYaml('kiln.yml', `${BASE}  - { name: web, image: "oci:images:web" }\n`);
    expect(config.containers[0]).toMatchObject({ name: 'web', restart: 'always', network: 'host', stopSignal: 'SIGTERM', console: true, privileged: false });
    expect(config.containerStore).toBe('/data/kiln/containers');
  });

  test('a priority outside 1-99 names the container field and its line', () => {
    expect(error(`${BASE}  - name: rt\n    image: oci:x\n    realtime: { policy: fifo, priority: 120 }\n`)).toMatch(
      /kiln\.yml:9:\d+: containers\[0\]\.realtime\.priority: .*99/,
    );
  });

  test('two containers with one name', () => {
    expect(error(`${BASE}  - { name: web, image: "oci:a" }\n  - { name: web, image: "oci:b" }\n`)).toMatch(
      /containers\[1\]\.name: "web" is already the name of containers\[0\]/,
    );
  });

  test('a mount from an unknown label', () => {
    expect(error(`${BASE}  - name: web\n    image: oci:a\n    mounts: [{ type: partition, label: LOGS, target: /logs }]\n`)).toMatch(
      /containers\[0\]\.mounts\[0\]\.label: expected the label of a mounted partition in storage\.partitions, found "LOGS"/,
    );
  });

  test('a dependency on an unknown container, and a cycle', () => {
    expect(error(`${BASE}  - { name: web, image: "oci:a", dependsOn: [db] }\n`)).toMatch(/containers\[0\]\.dependsOn\[0\]: no container is named "db"/);
    expect(error(`${BASE}  - { name: a, image: "oci:a", dependsOn: [b] }\n  - { name: b, image: "oci:b", dependsOn: [a] }\n`)).toMatch(
      /the dependencies form a cycle/,
    );
  });

  test('a healthcheck: exactly one probe, and tcp/http only with network: host, each naming the field', () => {
    const config = validateYaml('kiln.yml', `${BASE}  - { name: web, image: "oci:a", healthcheck: { http: { port: 8080 } } }\n`);
    expect(config.containers[0]!.healthcheck).toEqual({
      http: { port: 8080, path: '/' },
      intervalSeconds: 10,
      timeoutSeconds: 5,
      retries: 3,
      startPeriodSeconds: 0,
    });
    expect(error(`${BASE}  - { name: web, image: "oci:a", healthcheck: { retries: 2 } }\n`)).toMatch(
      /containers\[0\]\.healthcheck: expected one of exec, tcp or http/,
    );
    expect(error(`${BASE}  - { name: web, image: "oci:a", network: none, healthcheck: { tcp: { port: 5432 } } }\n`)).toMatch(
      /containers\[0\]\.healthcheck\.tcp: a tcp check connects to 127\.0\.0\.1 of the device: it needs network: host \(or use an exec check\)/,
    );
    expect(error(`${BASE}  - { name: web, image: "oci:a", healthcheck: { http: { port: 70000 } } }\n`)).toMatch(/containers\[0\]\.healthcheck\.http\.port/);
  });

  test('containers need the store on a mounted partition', () => {
    expect(error('name: dev\ncontainers:\n  - { name: web, image: "oci:a" }\n')).toMatch(
      /containerStore: expected a folder on a mounted partition .* no storage\.partitions/,
    );
  });
});
