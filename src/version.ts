import { readFileSync } from 'node:fs';

/** Root of the installed kiln package (holds device/, schema/, examples/). */
export const PACKAGE_ROOT = new URL('../', import.meta.url);

export const KILN_VERSION: string = (JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as { version: string }).version;
