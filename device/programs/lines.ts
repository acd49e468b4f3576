/**
 * A child's output as whole lines, for the log: chunks from a pipe end anywhere, so the tail of one chunk waits for
 * the next. A line longer than `maxLength` is cut there (a runaway program must not grow the init's memory).
 */

export const MAX_LINE = 4096;

export class LineSplitter {
  #pending = '';
  readonly #emit: (line: string) => void;
  readonly #maxLength: number;

  constructor(emit: (line: string) => void, maxLength = MAX_LINE) {
    this.#emit = emit;
    this.#maxLength = maxLength;
  }

  push(chunk: string): void {
    let text = this.#pending + chunk;
    let newline = text.indexOf('\n');
    while (newline >= 0) {
      this.#emit(text.slice(0, newline).replace(/\r$/, ''));
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    while (text.length >= this.#maxLength) {
      this.#emit(text.slice(0, this.#maxLength));
      text = text.slice(this.#maxLength);
    }
    this.#pending = text;
  }

  /** The last line, when the stream ended without a newline. */
  end(): void {
    if (this.#pending !== '') this.#emit(this.#pending);
    this.#pending = '';
  }
}
