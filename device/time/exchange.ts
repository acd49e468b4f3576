/**
 * One SNTP round trip over Node's `dgram`: resolve the server's name (Node's `dns.lookup`, i.e. the C library's
 * resolver reading /etc/resolv.conf, which the network stage writes), send one request, wait for the first answer
 * from that address and port.
 */
import * as dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ExchangeResult, TimeSyncDeps } from './sync.ts';

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function sntpExchange(monoNow: () => number): TimeSyncDeps['exchange'] {
  return async (server, build, timeoutMs) => {
    const deadline = monoNow() + timeoutMs;
    let address = server.host;
    let family = isIP(server.host);
    if (family === 0) {
      const found = await withTimeout(lookup(server.host), timeoutMs, `${server.host}: DNS lookup timed out`).catch((error: Error & { code?: string }) => {
        throw new Error(error.code === undefined ? error.message : `${server.host}: DNS lookup failed (${error.code})`);
      });
      address = found.address;
      family = found.family;
    }
    const where = `${server.host}:${server.port}`;
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    return new Promise<ExchangeResult>((resolve, reject) => {
      let sentAt = 0;
      const timer = setTimeout(() => finish(new Error(`no answer from ${where}`)), Math.max(1, deadline - monoNow()));
      function finish(outcome: Error | ExchangeResult): void {
        clearTimeout(timer);
        socket.close();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      }
      socket.on('message', (bytes, remote) => {
        if (remote.address !== address || remote.port !== server.port) return;
        finish({ bytes, address, roundTripMs: monoNow() - sentAt });
      });
      socket.on('error', (error) => finish(new Error(`${where}: ${error.message}`)));
      const request = build();
      sentAt = monoNow();
      socket.send(request, server.port, address, (error) => {
        if (error) finish(new Error(`${where}: ${error.message}`));
      });
    });
  };
}
