/**
 * The UEFI variable store as Linux shows it: efivarfs, one file per variable (`Name-GUID`), its content the 4-byte
 * attribute word then the data. A variable is written with one write(2) of the whole content (efivarfs takes each
 * write as one SetVariable call) and deleted by unlinking its file.
 */
import * as fs from 'node:fs';

export const EFIVARS_DIR = '/sys/firmware/efi/efivars';

export interface EfiVars {
  /** The whole file (attributes + data), or undefined when the variable does not exist. */
  read(name: string): Uint8Array | undefined;
  /** Create or replace the variable with `file` (attributes + data). Throws node:fs's error (EINVAL: refused by the kernel). */
  write(name: string, file: Uint8Array): void;
  /** Delete the variable; one that does not exist is fine. */
  remove(name: string): void;
  /** Every variable's file name. */
  names(): string[];
}

export function nodeEfiVars(dir = EFIVARS_DIR): EfiVars {
  return {
    read(name) {
      try {
        return new Uint8Array(fs.readFileSync(`${dir}/${name}`));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    write(name, file) {
      const fd = fs.openSync(`${dir}/${name}`, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
      try {
        const n = fs.writeSync(fd, file);
        if (n !== file.length) throw new Error(`efivarfs ${name}: short write (${n} of ${file.length} bytes)`);
      } finally {
        fs.closeSync(fd);
      }
    },
    remove(name) {
      try {
        fs.unlinkSync(`${dir}/${name}`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    },
    names: () => fs.readdirSync(dir),
  };
}
