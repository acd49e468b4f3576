/**
 * A minimal QMP (QEMU Machine Protocol) client over a unix socket: enough to hear SHUTDOWN / GUEST_PANICKED events
 * and to press the ACPI power button (`system_powerdown`). QMP is JSON objects, one per line; the server greets,
 * the client must send `qmp_capabilities` before anything else, and replies come back in command order.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class QmpClient {
  readonly #socket: net.Socket;
  readonly #pending: Pending[] = [];
  readonly #listeners: ((event: QmpEvent) => void)[] = [];
  readonly #greeted: Promise<void>;
  #buffer = '';

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    let greet!: () => void;
    let refuse!: (err: Error) => void;
    this.#greeted = new Promise((resolve, reject) => ((greet = resolve), (refuse = reject)));
    this.#greeted.catch(() => {}); // observed in connect(); a late failure must not be an unhandled rejection
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let newline: number;
      while ((newline = this.#buffer.indexOf('\n')) !== -1) {
        const line = this.#buffer.slice(0, newline).trim();
        this.#buffer = this.#buffer.slice(newline + 1);
        if (line) this.#receive(JSON.parse(line) as Record<string, unknown>, greet);
      }
    });
    const fail = (err: Error) => {
      refuse(err);
      for (const p of this.#pending.splice(0)) p.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('QMP connection closed')));
  }

  #receive(message: Record<string, unknown>, greet: () => void): void {
    if ('QMP' in message) greet();
    else if ('event' in message) for (const listener of this.#listeners) listener(message as unknown as QmpEvent);
    else if ('return' in message) this.#pending.shift()?.resolve(message.return);
    else if ('error' in message) {
      const error = message.error as { class?: string; desc?: string };
      this.#pending.shift()?.reject(new Error(`QMP ${error.class ?? 'error'}: ${error.desc ?? ''}`));
    }
  }

  /**
   * Connects to QEMU's QMP socket, retrying while QEMU creates it, and negotiates capabilities.
   * `alive` lets the caller stop the retries once QEMU is gone.
   */
  static async connect(socketPath: string, options: { timeoutMs: number; alive: () => boolean }): Promise<QmpClient> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection(socketPath);
          s.once('connect', () => {
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
        const client = new QmpClient(socket);
        // QEMU greets as soon as it accepts; a silent socket means it is stuck, so give up with the deadline.
        const timer = setTimeout(() => socket.destroy(new Error('QMP: no greeting from QEMU')), Math.max(deadline - Date.now(), 1000));
        try {
          await client.#greeted;
          await client.execute('qmp_capabilities');
        } finally {
          clearTimeout(timer);
        }
        return client;
      } catch (err) {
        if (Date.now() > deadline || !options.alive()) throw err;
        await sleep(50);
      }
    }
  }

  onEvent(listener: (event: QmpEvent) => void): void {
    this.#listeners.push(listener);
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#socket.destroyed) {
        reject(new Error('QMP connection closed'));
        return;
      }
      this.#pending.push({ resolve, reject });
      this.#socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}
