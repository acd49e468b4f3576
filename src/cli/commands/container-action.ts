import { Command } from 'commander';
import { routes, type ContainerAction, type ContainerView } from '../../device-api/client.js';
import { DEVICE_HELP, deviceClient, withDeviceOptions, type DeviceOptions } from '../device-target.js';
import { print, type CliIo } from '../io.js';
import { describeLastExit } from './ps.js';

const WHAT: Record<ContainerAction, string> = {
  start: 'Start a stopped container on a device',
  stop: 'Stop a container on a device (SIGTERM, then SIGKILL after its stop timeout); it stays stopped until started',
  restart: 'Stop a container on a device and start it again',
};

const ACTION_TIMEOUT_MS = 60_000;

/** `kiln start|stop|restart --device HOST:PORT <container>`: the action, then the container's state after it. */
export function containerActionCommand(io: CliIo, action: ContainerAction): Command {
  return withDeviceOptions(new Command(action).description(`${WHAT[action]} (management API)`), { defaultTimeoutMs: ACTION_TIMEOUT_MS })
    .argument('<container>', 'container name, as kiln ps lists it')
    .option('--json', "print the container's state after the action as the API's JSON")
    .addHelpText(
      'after',
      `
${DEVICE_HELP}

Waits for the device to finish the ${action} (up to ${ACTION_TIMEOUT_MS / 1000} s unless --timeout says otherwise: a stop waits out the
container's stop timeout), then prints the container's state, e.g.
  web: running, pid 812, 3 starts, last exit: exited with code 1

  KILN_TOKEN=... kiln ${action} --device 192.168.1.20:18080 web
  kiln ${action} --device [::1]:18080 --token-file gw.token web --json`,
    )
    .action(async (container: string, opts: DeviceOptions & { json?: boolean }) => {
      const client = await deviceClient(opts, io);
      // The device answers once a stop has waited out the container's stop timeout: more than the usual 10 s.
      const timeoutMs = opts.timeout === undefined ? ACTION_TIMEOUT_MS : opts.timeout * 1000;
      const view = await client.json<ContainerView>(routes.action(container, action), { method: 'POST', timeoutMs });
      if (opts.json) return print(io.stdout, JSON.stringify(view, null, 2));
      const parts = [view.state ?? 'unknown'];
      if (view.pid !== undefined) parts.push(`pid ${view.pid}`);
      if (typeof view.starts === 'number') parts.push(`${view.starts} start${view.starts === 1 ? '' : 's'}`);
      if (view.lastExit !== undefined) parts.push(`last exit: ${describeLastExit(view.lastExit)}`);
      print(io.stdout, `${view.name ?? container}: ${parts.join(', ')}`);
    });
}
