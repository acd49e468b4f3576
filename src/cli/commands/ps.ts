import { Command } from 'commander';
import { routes, type ContainerView } from '../../device-api/client.js';
import { DEVICE_HELP, deviceClient, withDeviceOptions, type DeviceOptions } from '../device-target.js';
import { table } from '../format.js';
import { print, type CliIo } from '../io.js';

/** "exited with code 1 after 2.5 s" as the device words it, else what the fields say. */
export function describeLastExit(exit: ContainerView['lastExit']): string {
  if (exit === undefined || exit === null) return '-';
  if (typeof exit.description === 'string') return exit.description;
  if (typeof exit.signal === 'string') return `killed by ${exit.signal}`;
  return typeof exit.code === 'number' ? `exited with code ${exit.code}` : '-';
}

export function containerTable(containers: readonly ContainerView[]): string {
  return table([
    ['NAME', 'STATE', 'PID', 'STARTS', 'LAST EXIT', 'IMAGE'],
    ...containers.map((c) => [
      c.name,
      c.health === undefined ? c.state : `${c.state} (${c.health.state})`,
      c.pid === undefined ? '-' : String(c.pid),
      String(c.starts),
      describeLastExit(c.lastExit),
      c.image,
    ]),
  ]);
}

export function psCommand(io: CliIo): Command {
  return withDeviceOptions(new Command('ps').description("List a device's containers: state, pid, starts, last exit, image (management API)"))
    .option('--json', "print the API's JSON array as it is, for scripts")
    .addHelpText(
      'after',
      `
${DEVICE_HELP}

  KILN_TOKEN=... kiln ps --device 192.168.1.20:18080
  kiln ps --device [fd00::20]:18080 --token-file ~/.config/kiln/gw.token
  kiln ps --device 127.0.0.1:18080 --json | jq -r '.[] | select(.state != "running") | .name'`,
    )
    .action(async (opts: DeviceOptions & { json?: boolean }) => {
      const client = await deviceClient(opts, io);
      const containers = await client.json<ContainerView[]>(routes.containers());
      if (opts.json) return print(io.stdout, JSON.stringify(containers, null, 2));
      if (containers.length === 0) return print(io.stdout, `${client.address.label}: no containers`);
      print(io.stdout, containerTable(containers));
    });
}
