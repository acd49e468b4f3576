/**
 * `kiln run --secure-boot[=snakeoil|setup]`: boot under firmware that enforces UEFI Secure Boot. Debian's OVMF ships
 * a Secure Boot build and two variable stores that fit it: `snakeoil`, with Debian's test certificate enrolled as
 * PK, KEK and db (an image signed with /usr/share/ovmf/PkKek-1-snakeoil.key boots, any other is refused), and
 * `setup`, the plain store with no keys (Setup Mode: anything boots, and the OS may enrol its own keys).
 */
import { KilnError } from '../util/errors.js';
import type { ArchSpec, FirmwarePair, SecureBootKeys } from './arch.js';
import { findFirmware } from './firmware.js';

export const SECURE_BOOT_KEYS: readonly SecureBootKeys[] = ['snakeoil', 'setup'];

/** The firmware pair for a Secure Boot run, or a one-line error for an architecture kiln has none for. */
export async function secureBootFirmware(spec: ArchSpec, keys: SecureBootKeys): Promise<FirmwarePair> {
  const firmware = spec.secureBoot;
  if (firmware === undefined) throw secureBootUnsupported(spec.arch);
  return findFirmware(spec, [{ code: firmware.code, vars: firmware.vars[keys] }]);
}

export function secureBootUnsupported(arch: string): KilnError {
  return new KilnError('RUN_BAD_OPTION', `--secure-boot: x86_64 only (OVMF's Secure Boot build); kiln run has no Secure Boot firmware for ${arch}`);
}

/** `--secure-boot` alone means the snakeoil keys: the one store that both enforces and lets a signed image boot. */
export function parseSecureBoot(value: string | boolean | undefined): SecureBootKeys | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return 'snakeoil';
  if ((SECURE_BOOT_KEYS as readonly string[]).includes(value)) return value as SecureBootKeys;
  // commander gives `--secure-boot out/BOOTX64.EFI` the image as the option's value.
  throw new KilnError('RUN_BAD_OPTION', `--secure-boot ${value}: expected snakeoil (Debian's test keys enrolled) or setup (no keys, Setup Mode)`, {
    hint: 'Write --secure-boot=snakeoil, or put --secure-boot after the image.',
  });
}
