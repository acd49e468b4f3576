/** NTP server entries of the config: "host", "host:port", "[IPv6]:port" or a bare IPv6 address. Pure. */
import { NTP_PORT } from './sntp.ts';

export interface TimeServer {
  host: string;
  port: number;
  /** As configured, for messages. */
  text: string;
}

export function parseServer(text: string): TimeServer {
  const bad = (why: string) => new SyntaxError(`time server "${text}": ${why}`);
  let host = text;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (text.split(':').length === 2) {
    [host, portText] = text.split(':') as [string, string];
  }
  if (host === '') throw bad('no host');
  let port = NTP_PORT;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) throw bad(`port "${portText}" is not 1-65535`);
  }
  return { host, port, text };
}
