// Where IKE datagrams come and go: UDP 500 on our own sockets, UDP 4500 on
// the ESP engine's (it owns that port and adds/strips the non-ESP marker,
// RFC 3948 §2.2). Inbound messages from both reach one handler with the port
// they arrived on.
//
// UDP 500 takes one socket per address family: with `listen = ::` (both
// families) an IPv4 socket on 0.0.0.0 and an IPv6-only one on ::, so that
// IPv4 peers arrive as plain IPv4 addresses (never v4-mapped, which would not
// compare equal to the configured remote) and each message leaves from the
// family of its destination.

import { createSocket, type Socket } from 'node:dgram';
import { isIPv6Text } from '../base/ip-text.ts';
import type { Dataplane } from '../dataplane/dataplane.ts';
import type { Endpoint } from '../ike/exchange/types.ts';
import type { NegotiationLog } from '../log/negotiation-log.ts';

export type IkeHandler = (msg: Buffer, from: Endpoint, localPort: number) => void;

/** SO_RCVBUF asked for on UDP 500: about a second of a 2,000/s MM1 flood, so that a busy
 * host absorbs the bursts while sitelinkd is not scheduled instead of dropping the real
 * peer's datagrams (issue 10). Node sets it with plain SO_RCVBUF, which the kernel caps
 * at net.core.rmem_max (Debian's default: 212,992) before doubling it for its own
 * bookkeeping (socket(7)): what the socket got is logged (receiveBufferReport). The board
 * raises rmem_max at boot (rcS); the engine's UDP 4500 uses SO_RCVBUFFORCE (sock.c). */
export const IKE_RECV_BUFFER = 1024 * 1024;

/**
 * The log entry for what a UDP 500 socket's receive buffer really is: a warning that
 * names the sysctl when the kernel gave less than IKE_RECV_BUFFER (the reported
 * size is the doubled one, so twice the cap is what it is compared with: at rmem_max =
 * 1 MiB the socket reports 2 MiB).
 */
export function receiveBufferReport(family: string, port: number, obtained: number): { level: 'info' | 'warning'; message: string } {
  const kib = (n: number): string => `${Math.round(n / 1024)} KiB`;
  const got = `UDP ${port} (${family}) receive buffer: ${kib(obtained)} as the kernel reports it (doubled)`;
  if (obtained >= 2 * IKE_RECV_BUFFER) return { level: 'info', message: got };
  return {
    level: 'warning',
    message:
      `${got}, not the ${kib(2 * IKE_RECV_BUFFER)} of the ${kib(IKE_RECV_BUFFER)} asked for: net.core.rmem_max caps it, ` +
      `and the bursts of a flood may drop a real peer's messages; sysctl -w net.core.rmem_max=${IKE_RECV_BUFFER} raises it`,
  };
}

function bindUdp(type: 'udp4' | 'udp6', address: string, port: number): Promise<Socket> {
  const options = { type, reuseAddr: false, recvBufferSize: IKE_RECV_BUFFER };
  const sock = createSocket(type === 'udp6' ? { ...options, ipv6Only: true } : options);
  return new Promise<Socket>((resolve, reject) => {
    sock.once('error', (e) => {
      sock.close();
      reject(e);
    });
    sock.bind(port, address, () => {
      sock.removeAllListeners('error');
      resolve(sock);
    });
  });
}

export class IkeTransport {
  readonly #v4: Socket | null;
  readonly #v6: Socket | null;
  readonly #dataplane: Dataplane;
  readonly #ikePort: number;
  readonly #nattPort: number;
  readonly #sendFailed: (e: Error | null) => void;
  readonly #log: NegotiationLog;

  private constructor(v4: Socket | null, v6: Socket | null, dataplane: Dataplane, ikePort: number, nattPort: number, log: NegotiationLog) {
    this.#v4 = v4;
    this.#v6 = v6;
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
    v4?.on('error', this.#sendFailed);
    v6?.on('error', this.#sendFailed);
    this.#log = log;
  }

  /**
   * Logs what each UDP 500 socket's receive buffer is (receiveBufferReport). The daemon
   * calls it once its first negotiations are out: on the board the start's first log
   * line costs ~0.15 s of compiling (CPU profile in the QEMU guest, issue 14), which
   * should not come before the first IKE_SA_INIT.
   */
  reportBuffers(): void {
    for (const [family, sock] of [['IPv4', this.#v4], ['IPv6', this.#v6]] as const) {
      if (sock) this.#log.log({ ...receiveBufferReport(family, this.#ikePort, sock.getRecvBufferSize()), phase: 'daemon', step: 'UDP 500' });
    }
  }

  /** Binds UDP `ikePort` on `address` (`::` = both families, IPv6 when the host has it);
   * UDP `nattPort` is the open engine's. */
  static async open(address: string, ikePort: number, nattPort: number, dataplane: Dataplane, log: NegotiationLog): Promise<IkeTransport> {
    if (address !== '::') {
      const sock = await bindUdp(isIPv6Text(address) ? 'udp6' : 'udp4', address, ikePort);
      return isIPv6Text(address)
        ? new IkeTransport(null, sock, dataplane, ikePort, nattPort, log)
        : new IkeTransport(sock, null, dataplane, ikePort, nattPort, log);
    }
    const v4 = await bindUdp('udp4', '0.0.0.0', ikePort);
    let v6: Socket | null = null;
    try {
      v6 = await bindUdp('udp6', '::', ikePort);
    } catch (e) {
      // A kernel or namespace without IPv6: IPv4 peers still work, IPv6 ones are told why.
      const message = `no IPv6 IKE socket (${(e as Error).message}): IPv6 peers cannot negotiate`;
      log.log({ level: 'warning', phase: 'daemon', step: 'UDP 500', message });
    }
    return new IkeTransport(v4, v6, dataplane, ikePort, nattPort, log);
  }

  /** Every inbound IKE message, from either port. */
  onMessage(handler: IkeHandler): void {
    for (const sock of [this.#v4, this.#v6])
      sock?.on('message', (msg, rinfo) => handler(msg, { address: rinfo.address, port: rinfo.port }, this.#ikePort));
    this.#dataplane.on('ike', (msg, from) => handler(msg, from, this.#nattPort));
  }

  send(data: Buffer, to: Endpoint, localPort: number): void {
    if (localPort === this.#nattPort) {
      this.#dataplane.sendIke(data, to);
      return;
    }
    const sock = isIPv6Text(to.address) ? this.#v6 : this.#v4;
    if (sock) sock.send(data, to.port, to.address, this.#sendFailed);
    else this.#sendFailed(new Error(`no IPv${isIPv6Text(to.address) ? 6 : 4} socket for ${to.address}`));
  }

  close(): void {
    this.#v4?.close();
    this.#v6?.close();
  }
}
