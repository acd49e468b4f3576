/**
 * Watching the guest's serial console. Pure: bytes in, findings out.
 *
 * The console arrives in arbitrary chunks — a line, half a line, half a UTF-8 character, half an escape sequence — so
 * the watcher keeps a window of recent text and matches against the window, not the chunk. Text is cleaned before
 * matching: firmware and boot loaders paint the screen with ANSI escapes (OVMF writes `ESC[2J`, colours, cursor moves)
 * and end lines with CR LF, none of which a user writing `--expect 'Shell>'` means to match.
 */

/** What a Linux guest prints when it stops, as printed by the kernel (`pr_fmt` "reboot: " in kernel/reboot.c). */
export type ConsoleEvent = 'panic' | 'poweroff' | 'reset';

export const CONSOLE_MARKERS: Readonly<Record<ConsoleEvent, string>> = {
  panic: 'Kernel panic - not syncing',
  poweroff: 'reboot: Power down',
  reset: 'reboot: Restarting system',
};

// CSI (ESC [ params intermediates final), OSC (ESC ] ... BEL or ESC \), charset selection (ESC ( B), and the
// two-byte escapes (ESC c, ESC 7, ...).
const ESCAPE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()*+][ -~]|[0-~])/g;
// A sequence cut off at the end of a chunk: hold it back until the next chunk completes it.
const UNFINISHED_ESCAPE = /\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[()*+])?$/;
const MAX_HELD_BACK = 256;
const CONTROL = /[\r\0]/g;

/** Removes ANSI escapes and CRs from a stream of text, across chunk boundaries. */
export class EscapeStripper {
  #held = '';

  push(chunk: string): string {
    let text = this.#held + chunk;
    this.#held = '';
    const unfinished = UNFINISHED_ESCAPE.exec(text);
    if (unfinished && text.length - unfinished.index <= MAX_HELD_BACK) {
      this.#held = text.slice(unfinished.index);
      text = text.slice(0, unfinished.index);
    }
    return text.replace(ESCAPE, '').replace(CONTROL, '');
  }
}

export interface ConsoleFindings {
  /** The `expect` pattern matched, now (true once, on the chunk that completed the match). */
  matched: boolean;
  /** Markers completed by this chunk, in the order they appear. */
  events: ConsoleEvent[];
}

export interface ConsoleWatcherOptions {
  /** How much recent text a match may span. @default 65536 */
  windowChars?: number;
  /** How much text `tail()` returns. @default 4096 */
  tailChars?: number;
}

export class ConsoleWatcher {
  readonly #expect: RegExp | undefined;
  readonly #windowChars: number;
  readonly #tailChars: number;
  readonly #decoder = new TextDecoder('utf-8');
  readonly #stripper = new EscapeStripper();
  #window = '';
  #matched = false;
  readonly #events: ConsoleEvent[] = [];

  constructor(expect?: RegExp, options: ConsoleWatcherOptions = {}) {
    // A global or sticky RegExp carries lastIndex from one test() to the next; match with a stateless copy.
    this.#expect = expect && new RegExp(expect.source, expect.flags.replace(/[gy]/g, ''));
    this.#windowChars = options.windowChars ?? 65536;
    this.#tailChars = options.tailChars ?? 4096;
  }

  push(chunk: Uint8Array | string): ConsoleFindings {
    const raw = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    const text = this.#stripper.push(raw);
    const findings: ConsoleFindings = { matched: false, events: [] };
    if (text === '') return findings;

    const longestMarker = Math.max(...Object.values(CONSOLE_MARKERS).map((m) => m.length));
    // Only text that reaches into the new chunk can hold a new marker.
    const fresh = this.#window.slice(-(longestMarker - 1)) + text;
    const freshStart = this.#window.length + text.length - fresh.length;
    this.#window += text;

    const found: { event: ConsoleEvent; at: number }[] = [];
    for (const [event, marker] of Object.entries(CONSOLE_MARKERS) as [ConsoleEvent, string][]) {
      for (let at = fresh.indexOf(marker); at !== -1; at = fresh.indexOf(marker, at + 1)) {
        // Skip an occurrence lying wholly in old text: it was reported when it arrived.
        if (freshStart + at + marker.length > this.#window.length - text.length) found.push({ event, at });
      }
    }
    found.sort((a, b) => a.at - b.at);
    findings.events = found.map((f) => f.event);
    this.#events.push(...findings.events);

    if (this.#expect && !this.#matched && this.#expect.test(this.#window)) {
      this.#matched = findings.matched = true;
    }
    if (this.#window.length > this.#windowChars) this.#window = this.#window.slice(-this.#windowChars);
    return findings;
  }

  get matched(): boolean {
    return this.#matched;
  }

  /** Every marker seen so far, in order. */
  get events(): readonly ConsoleEvent[] {
    return this.#events;
  }

  /**
   * How the guest ended, judged from the console alone: a panic outweighs whatever follows it (with `panic=-1` the
   * kernel resets right after); otherwise the last power-off or reset message.
   */
  verdict(): ConsoleEvent | undefined {
    if (this.#events.includes('panic')) return 'panic';
    return this.#events[this.#events.length - 1];
  }

  tail(): string {
    return this.#window.slice(-this.#tailChars);
  }
}
