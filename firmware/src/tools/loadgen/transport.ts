// UDP sockets of one spoke: its own address, port 500 and port 4500. On 4500
// IKE carries the 4-byte non-ESP marker (RFC 3948 §2.2); ESP and keepalives
// arriving there are ignored (the load generator installs no SAs).

import { createSocket, type Socket } from 'node:dgram';
import type { Endpoint } from '../../ike/exchange/types.ts';
import { IKE_PORT, NATT_PORT } from '../../ike/exchange/types.ts';

const MARKER = Buffer.alloc(4);

export type Receive = (data: Buffer, from: Endpoint, localPort: number) => void;

function bind(address: string, port: number): Promise<Socket> {
  const s = createSocket({ type: 'udp4', reuseAddr: false });
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

export class SpokeTransport {
  readonly #ike: Socket;
  readonly #natt: Socket;

  private constructor(ike: Socket, natt: Socket) {
    this.#ike = ike;
    this.#natt = natt;
  }

  static async open(address: string, receive: Receive): Promise<SpokeTransport> {
    const ike = await bind(address, IKE_PORT);
    const natt = await bind(address, NATT_PORT).catch((e: unknown) => {
      ike.close();
      throw e;
    });
    ike.on('message', (m, r) => receive(m, { address: r.address, port: r.port }, IKE_PORT));
    natt.on('message', (m, r) => {
      if (m.length <= 4 || !m.subarray(0, 4).equals(MARKER)) return;
      receive(m.subarray(4), { address: r.address, port: r.port }, NATT_PORT);
    });
    return new SpokeTransport(ike, natt);
  }

  send(data: Buffer, to: Endpoint, localPort: number): void {
    if (localPort === NATT_PORT) this.#natt.send(Buffer.concat([MARKER, data]), to.port, to.address);
    else this.#ike.send(data, to.port, to.address);
  }

  close(): void {
    this.#ike.close();
    this.#natt.close();
  }
}
