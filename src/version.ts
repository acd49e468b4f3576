import { readFileSync } from 'node:fs';

/** Root of the installed kiln package (holds device/, schema/, examples/). */
// src/version.ts runs from src/ (tests) or dist/src/ (the installed CLI): find the folder holding package.json.
export const PACKAGE_ROOT = new URL(import.meta.url.includes('/dist/src/') ? '../../' : '../', import.meta.url);

export const KILN_VERSION: string = (JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as { version: string }).version;
