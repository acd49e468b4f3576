import { KilnError } from '../util/errors.js';
import { formatLocation, type ConfigLocation } from '../../device/contract/config/location.ts';

// Shared with the device, which prints its secondary config's problems the same way.
export { formatKeyPath, formatLocation, type ConfigLocation } from '../../device/contract/config/location.ts';

/**
 * One problem in a config file, printed as one line:
 * `examples/minimal.yml:4:3: kernel.modules[0]: expected a kernel module name, found "virtio blk"`.
 */
export class ConfigError extends KilnError {
  readonly location: ConfigLocation;
  readonly problems: string[];
  constructor(location: ConfigLocation, problem: string, more: string[] = []) {
    super('CONFIG_INVALID', `${formatLocation(location)}: ${problem}`);
    this.name = 'ConfigError';
    this.location = location;
    this.problems = [this.message, ...more];
  }
}
