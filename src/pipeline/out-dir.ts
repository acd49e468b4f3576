/**
 * The output folder: checked for writability before any long step, and written only by rename of a complete
 * temporary file, so a failed build leaves an existing image exactly as it was.
 */
import { access, constants, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { tempBeside } from '../inputs/cache.js';

export async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new KilnError('OUT_UNWRITABLE', `--out ${dir}: cannot write there (${(err as NodeJS.ErrnoException).code ?? String(err)})`, {
      hint: 'Choose a folder you can write to, e.g. --out ./out',
    });
  }
}

export async function writeAtomically(file: string, data: Uint8Array): Promise<void> {
  const tmp = tempBeside(file);
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new KilnError('OUT_UNWRITABLE', `${path.basename(file)}: cannot write (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}
