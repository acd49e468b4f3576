/**
 * The interactive console's escape key, as QEMU's `-serial mon:stdio`: ctrl-a x quits, ctrl-a ctrl-a sends one
 * ctrl-a to the guest. Every other key, ctrl-c included, belongs to the guest. Pure: keys in, keys out.
 */

const CTRL_A = 0x01;
const QUIT = 0x78; // 'x'

export interface KeyFiltering {
  /** Bytes for the guest. */
  forward: Uint8Array;
  /** The user typed ctrl-a x; bytes after it are dropped. */
  quit: boolean;
}

export class EscapeKeys {
  #afterCtrlA = false;

  push(keys: Uint8Array): KeyFiltering {
    const out: number[] = [];
    for (const key of keys) {
      if (this.#afterCtrlA) {
        this.#afterCtrlA = false;
        if (key === QUIT) return { forward: Uint8Array.from(out), quit: true };
        // ctrl-a ctrl-a → one ctrl-a; ctrl-a + any other key → both, so no keystroke is lost.
        out.push(CTRL_A);
        if (key !== CTRL_A) out.push(key);
      } else if (key === CTRL_A) {
        this.#afterCtrlA = true;
      } else {
        out.push(key);
      }
    }
    return { forward: Uint8Array.from(out), quit: false };
  }
}
