// @ts-check
/**
 * The launcher of every program command on a kiln device: `/usr/bin/<name>` is a stub (see stub.ts) whose shebang
 * runs this file, which runs the program's TypeScript entry from /src through Node's compile cache on tmpfs.
 *
 * Compile on demand is Node's own machinery, pointed at /run/kiln/compile and driven from here:
 * - `module.enableCompileCache(dir)` before the program's first import: Node 26 then keeps, per module, the
 *   type-stripped source (the runtime's own stripper, amaro) and V8's code cache there, keyed by the module's path
 *   and a hash of its content. The first run strips and compiles; later runs read both back and never load the
 *   stripper. A file edited or pushed to the device hashes differently and is compiled again on its next run —
 *   by content, so a same-size edit within VFAT's 2 s timestamp granularity is still seen.
 * - Imports are resolved by Node's ESM loader, which links the whole static graph before evaluating any module:
 *   a syntax or type-stripping error anywhere in it stops the run before the program has done anything.
 *   load-error.ts turns that error into `file:line:col: message` on stderr (exit code 1).
 * - Node writes each cache file to a temporary name and renames it (mkstemp + rename, checked with strace), and
 *   checks a cache entry's hash before using it: two first runs at once both compile and both write whole files;
 *   neither can read the other's half-written one.
 * Why not our own compile into a mirror tree of stripped .js files with rewritten imports: measured on this machine
 * (Node 26, 21 modules, 400 KB of TypeScript), it starts a cached run 3 ms sooner (58 vs 61 ms; a first run costs
 * the same, the stripper dominates), but `import.meta.url`, files read relative to it and stack traces would name
 * /run/kiln/compile instead of /src. This way a program runs exactly as `node main.ts` would run it.
 *
 * This file is plain JavaScript (checked by tsc through JSDoc) on purpose: Node strips a .ts entry before the
 * cache can be enabled, and loading the stripper costs ~70 ms of a ~35 ms `node -e 0` start.
 */
// Built-ins through process.getBuiltinModule, not `import`: an ESM import of node:fs builds its module facade,
// which alone costs ~5 ms, a seventh of Node's whole start. For the same reason the hot path leaves out node:url
// and `performance` (each ~1 ms to load): see fileUrl, and the clock is read only when tracing.
const { readdirSync, readFileSync, statSync } = process.getBuiltinModule('node:fs');
const module = process.getBuiltinModule('node:module');

/** tmpfs: every boot starts with an empty cache, and compiling never writes to the disk. */
export const COMPILE_CACHE_DIR = '/run/kiln/compile';

/**
 * A long-running program would only leave its cache behind at a clean exit; services rarely exit cleanly, so the
 * cache is written this long after the program has loaded (modules loaded by then are in it).
 */
const FLUSH_AFTER_MS = 1000;

/**
 * The stub's fields (the same format as stub.ts's parseStub, kept here so the launcher loads no TypeScript).
 * @param {string} text
 * @param {string} where
 * @returns {{ program: string, entry: string }}
 */
export function parseStub(text, where) {
  /** @type {Record<string, string>} */
  const fields = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (line.startsWith('#') || eq < 1) continue;
    fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  if (fields.program === undefined || fields.entry === undefined) throw new TypeError(`${where}: not a kiln program stub (no program= or entry= line)`);
  return { program: fields.program, entry: fields.entry };
}

/**
 * The file: URL of an absolute POSIX path (what url.pathToFileURL gives, without loading node:url).
 * @param {string} path
 */
export function fileUrl(path) {
  return `file://${path.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * Errors raised while Node loads and links the program, before any of it ran: worth a `file:line:col` line
 * instead of a stack through Node's loader. Anything else is the program's own and propagates as usual.
 * @param {unknown} error
 */
export function isLoadError(error) {
  if (!(error instanceof Error)) return false;
  const code = /** @type {{ code?: unknown }} */ (error).code;
  if (code === 'ERR_INVALID_TYPESCRIPT_SYNTAX' || code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') return true;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT' || code === 'ERR_UNKNOWN_FILE_EXTENSION') return true;
  // V8's parse errors come from the loader's compile step; a SyntaxError thrown by running code does not.
  return error instanceof SyntaxError && /compileSourceTextModule|ModuleJob\.(link|syncLink|instantiate)/.test(error.stack ?? '');
}

/**
 * The compile cache's files and their modification times: after a run, a new or rewritten file is a module Node
 * compiled (an edited module rewrites its entry in place). For KILN_RUN_TRACE only.
 * @param {string} dir
 * @returns {Map<string, number>}
 */
function cacheFiles(dir) {
  const files = new Map();
  try {
    for (const name of readdirSync(dir)) files.set(name, statSync(`${dir}/${name}`).mtimeMs);
  } catch {
    // No cache folder yet.
  }
  return files;
}

async function main() {
  const stubPath = process.argv[2];
  if (stubPath === undefined) {
    process.stderr.write('usage: run.js <program stub> [arguments]: run through a command in PATH, not directly\n');
    return 2;
  }
  let target;
  try {
    target = parseStub(readFileSync(stubPath, 'utf8'), stubPath);
  } catch (error) {
    process.stderr.write(`kiln: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const trace = process.env.KILN_RUN_TRACE === '1';
  const started = trace ? performance.now() : 0;
  const cache = module.enableCompileCache(process.env.KILN_COMPILE_CACHE || COMPILE_CACHE_DIR);
  if (trace && cache.status === module.constants.compileCacheStatus.FAILED) {
    process.stderr.write(`kiln-run: ${target.program}: no compile cache (${cache.message}); compiling in memory\n`);
  }
  const cacheDir = module.getCompileCacheDir();
  const before = trace && cacheDir !== undefined ? cacheFiles(cacheDir) : new Map();
  // The program sees the argv it would see if Node ran its entry directly: [node, entry, ...arguments].
  process.argv.splice(1, 2, target.entry);
  try {
    await import(fileUrl(target.entry));
  } catch (error) {
    if (!isLoadError(error)) throw error;
    const { describeLoadError } = await import('./load-error.ts');
    process.stderr.write(`${target.program}: ${describeLoadError(error, { entry: target.entry })}\n`);
    return 1;
  }
  if (trace && cacheDir !== undefined) {
    module.flushCompileCache();
    const after = cacheFiles(cacheDir);
    const added = [...after].filter(([name, mtime]) => before.get(name) !== mtime).length;
    const ms = Math.round(performance.now() - started);
    process.stderr.write(
      `kiln-run: ${target.program}: loaded in ${ms} ms, ${added === 0 ? 'all from the compile cache' : `compiled (${added} cache entries written)`}\n`,
    );
  } else {
    setTimeout(() => module.flushCompileCache(), FLUSH_AFTER_MS).unref();
  }
  return undefined;
}

if (import.meta.main) {
  const code = await main();
  if (code !== undefined) process.exitCode = code;
}
