// Where IKE datagrams come and go: UDP 500 on our own socket, UDP 4500 on
// the ESP engine's (it owns that port and adds/strips the non-ESP marker,
// RFC 3948 §2.2). Inbound messages from both reach one handler with the port
// they arrived on.

import { createSocket, type Socket } from 'node:dgram';
import type { Dataplane } from '../dataplane/dataplane.ts';
import type { Endpoint } from '../ike/exchange/types.ts';
import type { NegotiationLog } from '../log/negotiation-log.ts';

export type IkeHandler = (msg: Buffer, from: Endpoint, localPort: number) => void;

export class IkeTransport {
  readonly #sock: Socket;
  readonly #dataplane: Dataplane;
  readonly #ikePort: number;
  readonly #nattPort: number;
  readonly #sendFailed: (e: Error | null) => void;

  private constructor(sock: Socket, dataplane: Dataplane, ikePort: number, nattPort: number, log: NegotiationLog) {
    this.#sock = sock;
    this.#dataplane = dataplane;
    this.#ikePort = ikePort;
    this.#nattPort = nattPort;
    // A refused send (EPERM from a firewall, no route) is reported to the send's
    // callback only: without one it vanished silently. Log it, through the rate limiter
    // (one key), so that a flood of replies to unreachable sources cannot grow the log;
    // any other socket error is logged the same way rather than ending the process.
    this.#sendFailed = (e) => {
      if (e) log.log({ level: 'warning', phase: 'daemon', step: 'UDP 500 SEND', message: `sending on UDP ${ikePort} failed: ${e.message}` });
    };
    sock.on('error', this.#sendFailed);
  }

  /** Binds UDP `ikePort` on `address`; UDP `nattPort` is the open engine's. */
  static async open(address: string, ikePort: number, nattPort: number, dataplane: Dataplane, log: NegotiationLog): Promise<IkeTransport> {
    const sock = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(ikePort, address, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    return new IkeTransport(sock, dataplane, ikePort, nattPort, log);
  }

  /** Every inbound IKE message, from either port. */
  onMessage(handler: IkeHandler): void {
    this.#sock.on('message', (msg, rinfo) => handler(msg, { address: rinfo.address, port: rinfo.port }, this.#ikePort));
    this.#dataplane.on('ike', (msg, from) => handler(msg, from, this.#nattPort));
  }

  send(data: Buffer, to: Endpoint, localPort: number): void {
    if (localPort === this.#nattPort) this.#dataplane.sendIke(data, to);
    else this.#sock.send(data, to.port, to.address, this.#sendFailed);
  }

  close(): void {
    this.#sock.close();
  }
}
