/**
 * The DHCP client's socket on one interface: a UDP socket made by `NetSys.openInterfaceUdp` (bound to port 68 and
 * tied to the interface, so broadcasts leave through it before it has an address) handed to Node's `dgram`, which
 * then reads it on the event loop like any other socket.
 */
import * as dgram from 'node:dgram';
import type { NetSys } from '../../sys/net.ts';
import type { DhcpSocket } from '../manager.ts';
import { CLIENT_PORT, SERVER_PORT } from './message.ts';

export function openDhcpSocket(sys: NetSys, name: string, onMessage: (bytes: Uint8Array) => void, onError: (message: string) => void): DhcpSocket {
  const fd = sys.openInterfaceUdp(name, CLIENT_PORT);
  const socket = dgram.createSocket({ type: 'udp4' });
  let lastError = '';
  // The same failure on every retransmission (e.g. no carrier) is said once.
  const report = (error: Error) => {
    if (error.message === lastError) return;
    lastError = error.message;
    onError(error.message);
  };
  socket.on('message', (bytes) => onMessage(bytes));
  socket.on('error', report);
  socket.bind({ fd });
  return {
    send(bytes, destination) {
      socket.send(bytes, SERVER_PORT, destination, (error) => {
        if (error) report(error);
        else lastError = '';
      });
    },
    close: () => socket.close(),
  };
}
