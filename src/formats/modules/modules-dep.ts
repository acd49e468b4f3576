import { DecodeError } from '../../util/errors.js';

/**
 * Parses depmod's `modules.dep`: one line per module, `kernel/x.ko: kernel/a.ko kernel/b.ko`, paths relative to
 * /lib/modules/<release>. Dependencies keep their order. Blank lines are skipped.
 *
 * @example
 * parseModulesDep('kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko\n');
 * // Map { 'kernel/fs/ext4/ext4.ko' => ['kernel/fs/jbd2/jbd2.ko', 'kernel/fs/mbcache.ko'] }
 */
export function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  let offset = 0;
  text.split('\n').forEach((line, i) => {
    const lineStart = offset;
    offset += line.length + 1;
    if (line.trim() === '') return;
    const colon = line.indexOf(':');
    if (colon < 0) throw new DecodeError('modules.dep', `line ${i + 1}`, lineStart, "no ':' after the module path");
    const path = line.slice(0, colon).trim();
    if (path === '') throw new DecodeError('modules.dep', `line ${i + 1}`, lineStart, "empty module path before ':'");
    if (deps.has(path)) throw new DecodeError('modules.dep', `line ${i + 1}`, lineStart, `second entry for ${path}`);
    deps.set(
      path,
      line
        .slice(colon + 1)
        .split(/\s+/)
        .filter((dep) => dep !== ''),
    );
  });
  return deps;
}

/**
 * Writes `modules.dep` the way depmod does (`path:` then ` dep` for each dependency, one line per module), sorted by
 * module path so the same map always gives the same bytes. Dependency order is kept: it is load order information.
 *
 * @example
 * encodeModulesDep(new Map([['kernel/b.ko', ['kernel/a.ko']], ['kernel/a.ko', []]]));
 * // 'kernel/a.ko:\nkernel/b.ko: kernel/a.ko\n'
 */
export function encodeModulesDep(deps: ReadonlyMap<string, readonly string[]>): string {
  const paths = [...deps.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let text = '';
  for (const path of paths) {
    checkPath(path);
    const line = deps.get(path) ?? [];
    line.forEach(checkPath);
    text += `${path}:${line.map((dep) => ` ${dep}`).join('')}\n`;
  }
  return text;
}

function checkPath(path: string): void {
  if (path === '' || /[\s:]/.test(path)) {
    throw new RangeError(`modules.dep path ${JSON.stringify(path)} must be non-empty, without whitespace or ':'`);
  }
}
