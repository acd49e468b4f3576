/**
 * Boot stage "update": A/B firmware updates booted by UEFI alone. At boot it mounts efivarfs, finds the two slots,
 * learns from BootCurrent which one the firmware booted, reads what the last boot left on DATA (state.ts) and so
 * knows whether this is an ordinary boot, the trial of a new firmware, or the return from a failed trial; then it
 * re-asserts kiln's boot entries. It returns the handle the API installs through (install.ts) and the health gate
 * the init starts after the ready line (health.ts). Any problem makes updates unavailable with one line in the log
 * and the API — never a stopped boot.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { StageContext } from '../base/context.ts';
import type { EfiVars } from '../sys/efivars.ts';
import { digestOf, type SlotFiles } from '../sys/slot-files.ts';
import { MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MNT_DETACH } from '../sys/libc.ts';
import { errorMessage } from '../contract/error-message.ts';
import { decodeLoadOption } from '../contract/efi/load-option.ts';
import { bootEntryName, decodeEfivarfsFile, efivarfsName } from '../contract/efi/variables.ts';
import { SLOT_EFI_FILE } from '../contract/config/update-schema.ts';
import type { UpdateStatus } from '../contract/update/status.ts';
import { TREE_FORMAT, type FirmwareStatement } from '../contract/update/statement.ts';
import { assertEntries, clearBootNext, readBootCurrent, setBootNext, type SlotEntry } from './boot-entries.ts';
import { findSlots, otherSlot, type Slot, type SlotDeps, type SlotName } from './slots.ts';
import { decideBoot, loadState, saveState, type BootedFrom, type UpdateState } from './state.ts';
import { checkStatement, UpdateRefused, writePayload, type Running } from './install.ts';
import { writeTree } from './install-tree.ts';
import { runHealthGate, type HealthView } from './health.ts';
import { replaceFile } from './fallback.ts';
import { listBlockDevices } from '../storage/block-devices.ts';
import { parseMounts } from '../base/mount-table.ts';
import { removableMediaPath } from '../contract/efi/removable-media.ts';

export type UpdateContext = Pick<StageContext, 'config' | 'fs' | 'data' | 'libc' | 'log' | 'mounted' | 'sleep' | 'now'>;

export interface UpdateSys {
  efivars: EfiVars;
  slotFiles: SlotFiles;
  readBlock: SlotDeps['readBlock'];
  /** The init's clean reboot (the same path as SIGTERM). */
  reboot(): void;
  /** Current time for the state's records. */
  isoNow(): string;
}

export interface InstallRequest {
  statement: Uint8Array;
  signature: Uint8Array;
  payload: AsyncIterable<Uint8Array>;
  /** Install a build that failed its trial before. */
  force: boolean;
  /** Reboot into it as soon as it is installed. @default true */
  reboot: boolean;
}

export interface UpdateHandle {
  status(): UpdateStatus;
  /** Resolves when the firmware is in the slot and BootNext points at it (before the reboot it may trigger). */
  install(request: InstallRequest): Promise<{ slot: SlotName; statement: FirmwareStatement; rebooting: boolean }>;
  /** Called once after the ready line: on a trial boot, the health gate, then commit or roll back. */
  afterReady(health: HealthView): void;
}

export const EFI_DIR = '/sys/firmware/efi';
export const EFIVARS_DIR = `${EFI_DIR}/efivars`;
/** Each slot has its own mount point: the commit's copy from one slot and an install into the other never meet. */
const slotMount = (slot: Slot) => `/run/kiln/slot-${slot.name}`;
const ESP_MOUNT = '/run/kiln/esp';

const noUpdates = (reason: string, running: Running): UpdateHandle => ({
  status: () => ({ available: false, reason, running: { version: running.version, buildId: running.buildId }, slots: [], failed: [] }),
  install: async () => {
    throw new UpdateRefused(503, `updates are unavailable on this device: ${reason}`);
  },
  afterReady: () => {},
});

export function updateStage(ctx: UpdateContext, sys: UpdateSys): { handle: UpdateHandle; detail: string } {
  const { config, log } = ctx;
  const running: Running = { name: config.name, version: config.version, buildId: config.buildId, arch: config.arch };
  const update = config.update;
  if (update === undefined) return { handle: noUpdates('the config has no update section', running), detail: 'off (no update section in the config)' };
  const unavailable = (reason: string) => {
    log.warn(`updates unavailable: ${reason}; the device keeps running`);
    return { handle: noUpdates(reason, running), detail: `unavailable: ${reason}` };
  };

  if (!ctx.fs.exists(EFI_DIR)) return unavailable(`${EFI_DIR} is missing: booted without UEFI runtime services (efi=runtime on the command line?)`);
  if (!ctx.fs.exists(`${EFIVARS_DIR}/${efivarfsName('BootOrder')}`) && !isMounted(ctx, EFIVARS_DIR)) {
    try {
      ctx.libc.mount('efivarfs', EFIVARS_DIR, 'efivarfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
      ctx.mounted.push(EFIVARS_DIR);
    } catch (error) {
      return unavailable(`cannot mount efivarfs on ${EFIVARS_DIR}: ${errorMessage(error)}`);
    }
  }
  let key: KeyObject;
  try {
    key = createPublicKey(ctx.fs.readText(update.publicKey));
  } catch (error) {
    return unavailable(`the update key ${update.publicKey}: ${errorMessage(error)}`);
  }
  const found = findSlots({ fs: ctx.fs, readBlock: sys.readBlock });
  if ('problem' in found) return unavailable(found.problem);
  const slots = found.slots;
  const loaderPath = `\\${SLOT_EFI_FILE[config.arch].replaceAll('/', '\\')}`;

  const booted = bootedSlot(sys.efivars, slots);
  let state: UpdateState;
  try {
    ctx.data.mkdirp(update.stateDir);
    const decision = decideBoot(
      loadState(ctx.data, update.stateDir, (line) => log.warn(line)),
      booted,
      running,
      sys.isoNow(),
    );
    state = decision.state;
    saveState(ctx.data, update.stateDir, state);
    if (decision.note !== undefined) log.info(`update: ${decision.note}`);
  } catch (error) {
    return unavailable(`the update state in ${update.stateDir}: ${errorMessage(error)}`);
  }
  // True until this boot's trial ends in a commit or a rollback.
  let trial = state.pending?.phase === 'trying' && booted === state.pending.slot;

  const describe = (name: SlotName): string => {
    const content = state.contents[name];
    return content === undefined ? `kiln ${name}: ${config.name}` : `kiln ${name}: ${config.name} ${content.version} (${content.buildId})`;
  };
  const entries = (): Record<SlotName, SlotEntry> => ({
    A: { slot: slots.A, description: describe('A'), loaderPath },
    B: { slot: slots.B, description: describe('B'), loaderPath },
  });
  // Never the slot on trial: until its health gate passes, the other slot stays first in BootOrder.
  const committedSlot = (): SlotName => state.committed?.slot ?? (trial ? otherSlot(booted as SlotName) : booted === 'fallback' ? 'A' : booted);
  let numbers: Record<SlotName, number>;
  try {
    const asserted = assertEntries(sys.efivars, entries(), committedSlot());
    numbers = asserted.numbers;
    if (asserted.written.length > 0) log.info(`update: wrote ${asserted.written.join(', ')}`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return unavailable(`the firmware's EFI variables are not writable (${code ?? errorMessage(error)})`);
  }

  const save = () => saveState(ctx.data, update.stateDir, state);
  let receiving: { version: string; buildId: string; slot: SlotName; bytes: number; size: number } | undefined;
  /** The commit's copy of the firmware to the ESP fallback, while it runs. */
  let finishing: Promise<void> | undefined;

  /**
   * The ESP's fallback loader becomes the committed slot's UKI (checked against `efiSha256` when known). An install
   * waits for this copy: the fallback is then never half of one firmware and half of another.
   */
  const renewFallback = (efiSha256: string | undefined): Promise<void> => {
    const committed = state.committed!;
    finishing = replaceFallback(ctx, sys, slots[committed.slot], efiSha256)
      .then(
        (line) => {
          state.fallback = committed.buildId;
          save();
          log.info(`update: ${line}`);
        },
        (error: unknown) => log.warn(`update: the ESP fallback was not replaced (the commit stands): ${errorMessage(error)}`),
      )
      .finally(() => (finishing = undefined));
    return finishing;
  };

  const handle: UpdateHandle = {
    status: () => ({
      available: true,
      running: { version: running.version, buildId: running.buildId, slot: booted },
      slots: (['A', 'B'] as const).map((name) => ({
        name,
        ...state.contents[name],
        booted: booted === name,
        committed: state.committed?.slot === name,
        entry: numbers[name],
      })),
      ...(receiving !== undefined
        ? { pending: { phase: 'receiving' as const, ...receiving } }
        : state.pending !== undefined
          ? {
              pending: {
                phase: state.pending.phase,
                version: state.pending.version,
                buildId: state.pending.buildId,
                slot: state.pending.slot,
                size: state.pending.size,
              },
            }
          : {}),
      ...(state.last === undefined ? {} : { last: state.last }),
      failed: [...state.failed],
    }),

    async install(request) {
      // After a commit, its copy to the ESP fallback finishes first (seconds).
      if (finishing !== undefined) await finishing;
      if (receiving !== undefined)
        throw new UpdateRefused(409, `an update is already being received (${receiving.version}, ${receiving.bytes} of ${receiving.size} bytes)`);
      if (trial) throw new UpdateRefused(409, `this boot is the trial of ${state.pending?.version ?? 'a new firmware'}; wait for its commit or rollback`);
      const statement = checkStatement(request.statement, request.signature, running, {
        key,
        allowDowngrade: update.allowDowngrade,
        failed: state.failed,
        force: request.force,
      });
      // The inactive slot: never the one running, nor the committed one.
      const target: SlotName = booted === 'fallback' ? otherSlot(committedSlot()) : otherSlot(booted);
      receiving = { version: statement.version, buildId: statement.buildId, slot: target, bytes: 0, size: statement.size };
      log.info(`update: receiving ${statement.version} (build ${statement.buildId}) into slot ${target}, ${statement.size} bytes`);
      try {
        // An install replaces what the inactive slot held, and any install still waiting for its reboot: no BootNext
        // may point at a slot while it is being written.
        clearBootNext(sys.efivars);
        state.pending = undefined;
        delete state.contents[target];
        save();
        const efiSha256 = await withSlotMounted(ctx, slots[target], async (root) => {
          const efiFile = SLOT_EFI_FILE[config.arch];
          // The inactive slot's old firmware goes first, UKI first: a slot holds one firmware, not two during a
          // write. Its boot entry stays, and a firmware that tries it meanwhile finds no loader and moves on.
          sys.slotFiles.remove(`${root}/${efiFile}`);
          sys.slotFiles.clear(root);
          const free = sys.slotFiles.freeBytes(root);
          if (statement.size > free) throw new UpdateRefused(507, `the ${statement.size}-byte firmware does not fit slot ${target} (${free} bytes free)`);
          const onBytes = (n: number) => void (receiving!.bytes = n);
          if (statement.format === TREE_FORMAT)
            return (await writeTree(request.payload, statement, { files: sys.slotFiles, root, efiFile }, onBytes)).efiSha256;
          await writePayload(request.payload, statement, { files: sys.slotFiles, file: `${root}/${efiFile}` }, onBytes);
          return statement.sha256;
        });
        state.contents[target] = { version: statement.version, buildId: statement.buildId };
        state.pending = {
          slot: target,
          version: statement.version,
          buildId: statement.buildId,
          sha256: statement.sha256,
          efiSha256,
          size: statement.size,
          phase: 'installed',
        };
        save();
        numbers = assertEntries(sys.efivars, entries(), committedSlot()).numbers;
        setBootNext(sys.efivars, numbers[target]);
        log.info(`update: ${statement.version} (build ${statement.buildId}) installed in slot ${target}; BootNext = ${bootEntryName(numbers[target])}`);
      } catch (error) {
        state.pending = undefined;
        if (error instanceof UpdateRefused)
          state.last = { outcome: 'refused', version: statement.version, buildId: statement.buildId, reason: error.message, at: sys.isoNow() };
        else state.last = { outcome: 'failed', version: statement.version, buildId: statement.buildId, reason: errorMessage(error), at: sys.isoNow() };
        try {
          save();
        } catch (saveError) {
          log.warn(`update: cannot record the failure: ${errorMessage(saveError)}`);
        }
        log.warn(`update: ${statement.version} (build ${statement.buildId}) not installed: ${errorMessage(error)}`);
        throw error;
      } finally {
        receiving = undefined;
      }
      if (request.reboot) {
        log.info('update: rebooting into the new firmware');
        sys.reboot();
      }
      return { slot: target, statement, rebooting: request.reboot };
    },

    afterReady(health) {
      if (!trial) {
        // A commit whose copy to the ESP was cut short (a power cut) left the fallback a build behind; with
        // layout: source that build's tree may be overwritten by the next install, so the copy is made now.
        const committed = state.committed;
        if (committed !== undefined && state.fallback !== committed.buildId && state.contents[committed.slot]?.buildId === committed.buildId)
          void renewFallback(undefined);
        return;
      }
      const pending = state.pending!;
      void runHealthGate(health, { seconds: update.healthSeconds, required: update.required, sleep: ctx.sleep, now: ctx.now, log })
        .then((failure) => {
          if (failure === undefined) {
            state.committed = { slot: pending.slot, version: pending.version, buildId: pending.buildId };
            state.pending = undefined;
            trial = false;
            state.last = { outcome: 'committed', version: pending.version, buildId: pending.buildId, at: sys.isoNow() };
            save();
            const asserted = assertEntries(sys.efivars, entries(), pending.slot);
            numbers = asserted.numbers;
            log.info(`update: ${pending.version} (build ${pending.buildId}) committed: slot ${pending.slot} is first in BootOrder`);
            return renewFallback(pending.efiSha256 ?? pending.sha256);
          }
          state.pending = undefined;
          trial = false;
          if (!state.failed.includes(pending.buildId)) state.failed.push(pending.buildId);
          state.last = { outcome: 'rolled-back', version: pending.version, buildId: pending.buildId, reason: `health gate: ${failure}`, at: sys.isoNow() };
          save();
          log.error(
            `update: ${pending.version} (build ${pending.buildId}) failed its health gate (${failure}); rebooting into the committed slot ${committedSlot()}`,
          );
          sys.reboot();
        })
        .catch((error: unknown) => {
          // The trial is not committed, so any reboot lands on the committed slot: force one.
          log.error(`update: the health gate failed to run (${errorMessage(error)}); rebooting into the committed slot`);
          sys.reboot();
        });
    },
  };
  const current = booted === 'fallback' ? safely(() => readBootCurrent(sys.efivars)) : numbers[booted];
  const entry = current === undefined ? 'no BootCurrent' : bootEntryName(current);
  const where = booted === 'fallback' ? 'the ESP fallback' : `slot ${booted}`;
  return {
    handle,
    detail: `booted ${where} (${entry}), committed ${committedSlot()}${trial ? ', trial boot' : ''}`,
  };
}

/** The ESP's removable-media loader becomes the committed slot's executable (fallback.ts). */
async function replaceFallback(ctx: UpdateContext, sys: UpdateSys, committed: Slot, sha256: string | undefined): Promise<string> {
  const label = ctx.config.storage?.partitions.find((p) => p.esp)?.label ?? 'ESP';
  const esp = listBlockDevices(ctx.fs).find((d) => d.partName === label && d.partition !== undefined);
  if (esp === undefined) throw new Error(`no partition named ${label} (the ESP)`);
  const target = removableMediaPath(ctx.config.arch);
  // Read-only: the committed slot may be the running one (with layout: source the first stage mounted it at /source,
  // read-only, and a second read-write mount of it would be refused).
  return withMounted(ctx, committed.device, slotMount(committed), `slot ${committed.name}`, MS_RDONLY, () =>
    withMounted(ctx, esp.path, ESP_MOUNT, 'the ESP', 0, async () => {
      const from = `${slotMount(committed)}/${SLOT_EFI_FILE[ctx.config.arch]}`;
      const expected = sha256 ?? (await digestOf(sys.slotFiles, from)).sha256;
      const written = await replaceFile(sys.slotFiles, from, `${ESP_MOUNT}/${target}`);
      if (written.sha256 !== expected)
        throw new Error(`the copy on the ESP has SHA-256 ${written.sha256.slice(0, 16)}…, not the committed ${expected.slice(0, 16)}…`);
      const how = written.inPlace ? ', the old one removed first: no room for both' : '';
      return `the ESP fallback ${target} is now slot ${committed.name}'s firmware (${written.size} bytes${how})`;
    }),
  );
}

function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function isMounted(ctx: UpdateContext, target: string): boolean {
  try {
    return parseMounts(ctx.fs.readText('/proc/self/mounts')).some((m) => m.target === target);
  } catch {
    return false;
  }
}

/** Which slot the firmware booted: the slot whose partition GUID BootCurrent's entry names; else the fallback. */
function bootedSlot(vars: EfiVars, slots: Record<SlotName, Slot>): BootedFrom {
  try {
    const current = readBootCurrent(vars);
    if (current === undefined) return 'fallback';
    const file = vars.read(efivarfsName(bootEntryName(current)));
    if (file === undefined) return 'fallback';
    const option = decodeLoadOption(decodeEfivarfsFile(file).data);
    for (const node of option.filePath) {
      if (node.kind !== 'hard-drive') continue;
      for (const name of ['A', 'B'] as const) if (node.partitionGuid.toUpperCase() === slots[name].partitionGuid.toUpperCase()) return name;
    }
  } catch {
    // An entry kiln cannot read is not one of kiln's.
  }
  return 'fallback';
}

function withSlotMounted<T>(ctx: UpdateContext, slot: Slot, work: (root: string) => Promise<T>): Promise<T> {
  return withMounted(ctx, slot.device, slotMount(slot), `slot ${slot.name}`, 0, () => work(slotMount(slot)));
}

/** A FAT partition mounted for the length of `work`: unmounting flushes it, and a slot is never left mounted. */
async function withMounted<T>(ctx: UpdateContext, device: string, at: string, what: string, flags: number, work: () => Promise<T>): Promise<T> {
  ctx.fs.mkdir(at, 0o755);
  try {
    ctx.libc.mount(device, at, 'vfat', MS_NOSUID | MS_NODEV | MS_NOEXEC | flags, null);
  } catch (error) {
    throw new Error(`cannot mount ${what} (${device}): ${errorMessage(error)}`);
  }
  try {
    return await work();
  } finally {
    try {
      ctx.libc.umount2(at, 0);
    } catch {
      ctx.libc.umount2(at, MNT_DETACH);
    }
  }
}
