/**
 * kiln's own boot entries: one `Boot####` per slot (a Hard Drive node for the slot's GPT partition, then the slot's
 * UEFI executable), and a `BootOrder` that starts with the committed slot and keeps the other right after it — some
 * firmware drops a BootNext whose target is not in BootOrder. Re-asserted on every boot, because firmware may remove
 * entries it cannot resolve (after a power cut, or QEMU's bootindex); each variable is written only when its bytes
 * differ, to spare the flash. BootNext is set for a trial and consumed by the firmware itself.
 */
import type { EfiVars } from '../sys/efivars.ts';
import { decodeLoadOption, encodeLoadOption, LOAD_OPTION_ACTIVE } from '../contract/efi/load-option.ts';
import {
  BOOT_VARIABLE_ATTRIBUTES,
  EFI_GLOBAL_VARIABLE,
  bootEntryName,
  decodeBootNext,
  decodeBootOrder,
  decodeEfivarfsFile,
  efivarfsName,
  encodeBootNext,
  encodeBootOrder,
  encodeEfivarfsFile,
} from '../contract/efi/variables.ts';
import type { Slot, SlotName } from './slots.ts';

export interface SlotEntry {
  slot: Slot;
  /** The firmware's menu text, e.g. "kiln A: gateway 1.2.0 (3f2a9c…)". */
  description: string;
  /** The slot's executable with backslashes: \EFI\kiln\KILNX64.EFI */
  loaderPath: string;
}

function globalVariable(vars: EfiVars, name: string): Uint8Array | undefined {
  const file = vars.read(efivarfsName(name));
  return file === undefined ? undefined : decodeEfivarfsFile(file).data;
}

function writeIfDifferent(vars: EfiVars, name: string, data: Uint8Array): boolean {
  const file = encodeEfivarfsFile({ attributes: BOOT_VARIABLE_ATTRIBUTES, data });
  const old = vars.read(efivarfsName(name));
  if (old !== undefined && Buffer.from(old).equals(Buffer.from(file))) return false;
  vars.write(efivarfsName(name), file);
  return true;
}

/** Boot#### numbers present in the store. */
function entryNumbers(vars: EfiVars): number[] {
  const suffix = `-${EFI_GLOBAL_VARIABLE}`.toLowerCase();
  return vars
    .names()
    .filter((n) => /^Boot[0-9A-F]{4}-/i.test(n) && n.toLowerCase().endsWith(suffix))
    .map((n) => parseInt(n.slice(4, 8), 16));
}

/** The entry whose device path names this slot's partition GUID, if one exists. */
function entryOf(vars: EfiVars, slot: Slot, numbers: readonly number[]): number | undefined {
  for (const number of numbers) {
    try {
      const data = globalVariable(vars, bootEntryName(number));
      if (data === undefined) continue;
      const option = decodeLoadOption(data);
      if (option.filePath.some((node) => node.kind === 'hard-drive' && node.partitionGuid.toUpperCase() === slot.partitionGuid.toUpperCase())) return number;
    } catch {
      // Another vendor's entry kiln cannot read: not one of kiln's.
    }
  }
  return undefined;
}

export function readBootCurrent(vars: EfiVars): number | undefined {
  const data = globalVariable(vars, 'BootCurrent');
  return data === undefined ? undefined : decodeBootNext(data);
}

export function readBootNext(vars: EfiVars): number | undefined {
  const data = globalVariable(vars, 'BootNext');
  return data === undefined ? undefined : decodeBootNext(data);
}

export function readBootOrder(vars: EfiVars): number[] {
  const data = globalVariable(vars, 'BootOrder');
  return data === undefined ? [] : decodeBootOrder(data);
}

export interface AssertedEntries {
  numbers: Record<SlotName, number>;
  /** Variables written (0 when everything was already as wanted). */
  written: string[];
}

/**
 * Makes both slots' entries exist as described and BootOrder start with `first`, then the other slot, then every
 * other entry in its old order. Reuses an entry that already points at a slot; a new one takes the lowest free number.
 */
export function assertEntries(vars: EfiVars, entries: Record<SlotName, SlotEntry>, first: SlotName): AssertedEntries {
  const written: string[] = [];
  const present = entryNumbers(vars);
  const numbers = {} as Record<SlotName, number>;
  for (const name of ['A', 'B'] as const) {
    let number = entryOf(vars, entries[name].slot, present);
    if (number === undefined) {
      const taken = new Set([...present, ...Object.values(numbers)]);
      number = 0;
      while (taken.has(number)) number++;
    }
    numbers[name] = number;
    const { slot, description, loaderPath } = entries[name];
    const option = encodeLoadOption({
      attributes: LOAD_OPTION_ACTIVE,
      description,
      filePath: [
        { kind: 'hard-drive', partitionNumber: slot.partitionNumber, startLba: slot.startLba, sizeLba: slot.sizeLba, partitionGuid: slot.partitionGuid },
        { kind: 'file', path: loaderPath },
      ],
      optionalData: new Uint8Array(),
    });
    if (writeIfDifferent(vars, bootEntryName(number), option)) written.push(bootEntryName(number));
  }
  const second = first === 'A' ? 'B' : 'A';
  const ours = [numbers[first], numbers[second]];
  const order = [...ours, ...readBootOrder(vars).filter((n) => !ours.includes(n))];
  if (writeIfDifferent(vars, 'BootOrder', encodeBootOrder(order))) written.push('BootOrder');
  return { numbers, written };
}

/** The next boot only: the firmware deletes BootNext before it boots that entry, and falls back to BootOrder. */
export function setBootNext(vars: EfiVars, entry: number): void {
  writeIfDifferent(vars, 'BootNext', encodeBootNext(entry));
}

export function clearBootNext(vars: EfiVars): void {
  vars.remove(efivarfsName('BootNext'));
}
