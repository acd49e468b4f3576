/**
 * An in-memory efivarfs for the update logic's tests: variables by file name, the writes in order, and the kernel's
 * refusals on demand (a store that is read-only, or full).
 */
import type { EfiVars } from '../sys/efivars.ts';
import { errnoError } from './fake-data-fs.ts';

export interface FakeEfiVars extends EfiVars {
  vars: Map<string, Uint8Array>;
  /** "write <name>" / "remove <name>" in order. */
  events: string[];
  /** Every write fails with this code (EROFS, ENOSPC, EINVAL) from now on. */
  failWrites?: string;
}

export function fakeEfiVars(initial: Record<string, Uint8Array> = {}): FakeEfiVars {
  const vars = new Map(Object.entries(initial));
  const fake: FakeEfiVars = {
    vars,
    events: [],
    read: (name) => vars.get(name)?.slice(),
    write(name, file) {
      if (fake.failWrites !== undefined) throw errnoError(fake.failWrites, 'write', name);
      vars.set(name, file.slice());
      fake.events.push(`write ${name}`);
    },
    remove(name) {
      if (vars.delete(name)) fake.events.push(`remove ${name}`);
    },
    names: () => [...vars.keys()],
  };
  return fake;
}
