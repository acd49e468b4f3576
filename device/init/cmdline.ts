/**
 * kiln's switches on the kernel command line: words `kiln.<key>=<value>`.
 *
 * The kernel does not hand dotted words to init (it takes them for module parameters), so the init reads them from
 * /proc/cmdline. Quoting follows the kernel's own parser: double quotes group spaces and are dropped.
 *
 * Switches:
 * - `kiln.crash=<stage>`: diagnostics. The init throws at the end of that boot stage (see `boot.ts` for the
 *   names), or `kiln.crash=ready` from a timer after the ready line, so the crash path (cause on the console,
 *   sync, reboot) can be tested end to end on a real boot.
 * - `kiln.hang=<stage>`: diagnostics. The init blocks its own event loop at the end of that stage (or from a timer
 *   after the ready line with `ready`), so a test can show that the hardware watchdog resets a hung device.
 */

/** Words of the command line, quotes removed, in order. */
export function splitCmdline(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quoted = false;
  for (const char of text) {
    if (char === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && /\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** `kiln.<key>=<value>` words as key → value (the last one wins); `kiln.<key>` alone gives ''. */
export function kilnOptions(text: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const word of splitCmdline(text)) {
    if (!word.startsWith('kiln.')) continue;
    const equals = word.indexOf('=');
    const key = word.slice('kiln.'.length, equals === -1 ? undefined : equals);
    if (key !== '') options.set(key, equals === -1 ? '' : word.slice(equals + 1));
  }
  return options;
}

/** The stage named by `kiln.crash=`, if any. */
export function crashStage(options: Map<string, string>): string | undefined {
  return stageOption(options, 'crash');
}

/** The stage named by `kiln.hang=`, if any. */
export function hangStage(options: Map<string, string>): string | undefined {
  return stageOption(options, 'hang');
}

function stageOption(options: Map<string, string>, key: string): string | undefined {
  const stage = options.get(key);
  return stage === undefined || stage === '' ? undefined : stage;
}
