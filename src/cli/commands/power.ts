import { Command } from 'commander';
import { routes } from '../../device-api/client.js';
import { DEVICE_HELP, deviceClient, withDeviceOptions, type DeviceOptions } from '../device-target.js';
import { print, type CliIo } from '../io.js';

type Power = 'reboot' | 'poweroff';

/** `kiln reboot|poweroff --device HOST:PORT`: the device answers 202 first, then goes down. */
export function powerCommand(io: CliIo, action: Power): Command {
  const verb = action === 'reboot' ? 'Reboot' : 'Power off';
  return withDeviceOptions(new Command(action).description(`${verb} a device: containers stopped, file systems unmounted cleanly (management API)`))
    .addHelpText(
      'after',
      `
${DEVICE_HELP}

The device accepts the request (HTTP 202), then does what SIGTERM (reboot) or SIGUSR2 (power-off) to its init
does. kiln returns once it is accepted; it does not wait for the device to go down${action === 'reboot' ? ' or come back' : ''}.

  KILN_TOKEN=... kiln ${action} --device 192.168.1.20:18080`,
    )
    .action(async (opts: DeviceOptions) => {
      const client = await deviceClient(opts, io);
      await client.json(routes.power(action), { method: 'POST' });
      print(io.stdout, `${client.address.label}: ${action === 'reboot' ? 'rebooting' : 'powering off'}`);
    });
}
