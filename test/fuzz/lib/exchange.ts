// The exchange fuzz targets' bodies, shared by IKEv1 (IkeNode) and IKEv2
// (Ikev2Node): both run in the exchange tests' in-memory Harness.
import { Harness, NAT_PUBLIC, type NodeFactory, type NodeLike } from '../../unit/ike-exchange-harness.ts';
import type { ChildSaInstall, PeerPolicy } from '../../../firmware/src/ike/exchange/types.ts';
import { check } from './check.ts';

// curve25519 keeps one negotiation around a few milliseconds.
const fast = (): Partial<PeerPolicy> => ({ ikeMethods: [{ encryption: 'aes128', integrity: 'sha256', dhGroup: 31 }] });

function sameKeys(a: ChildSaInstall, b: ChildSaInstall): boolean {
  return a.algorithm === b.algorithm && a.encKey.equals(b.encKey) && (a.authKey ?? Buffer.alloc(0)).equals(b.authKey ?? Buffer.alloc(0));
}

/**
 * A real negotiation between two nodes with the datagrams on the wire altered
 * by the input: 5-byte records "datagram index, operation, offset (2 bytes),
 * value"; operations xor a byte, set a byte, truncate, drop. Then time passes
 * (retransmissions, rekeying, expiry). Properties: no node throws; SA pairs
 * both sides installed under one SPI agree on algorithm and keys.
 */
export function exchangeFuzz<N extends NodeLike>(data: Buffer, make?: NodeFactory<N>): void {
  const mutations = new Map<number, { op: number; offset: number; value: number }[]>();
  for (let off = 0; off + 5 <= data.length; off += 5) {
    const k = data[off]! % 32;
    const list = mutations.get(k) ?? [];
    list.push({ op: data[off + 1]! % 4, offset: data.readUInt16BE(off + 2), value: data[off + 4]! });
    mutations.set(k, list);
  }
  const h = new Harness<N>({ peerA: fast(), peerB: fast() }, make);
  let index = 0;
  h.filter = (d) => {
    const list = mutations.get(index++);
    if (!list) return d.data;
    let b: Buffer = Buffer.from(d.data);
    for (const m of list) {
      if (m.op === 3) return null;
      if (b.length === 0) continue;
      const at = m.offset % b.length;
      if (m.op === 0) b[at] = b[at]! ^ (m.value || 1);
      else if (m.op === 1) b[at] = m.value;
      else b = b.subarray(0, at);
    }
    return b;
  };
  h.bringUp();
  for (let i = 0; i < 4; i++) h.advance(5_000);
  for (const a of h.installs.A) {
    for (const b of h.installs.B) {
      if (a.spi !== b.spi || a.direction === b.direction) continue;
      check(sameKeys(a, b), `SPI ${a.spi.toString(16)}: A and B installed different keys`);
    }
  }
  h.advance(600_000);
}

/**
 * Datagrams from the network into a responding node, from the configured
 * peer's address: records "flags (bit 0: port 4500, bit 1: 10 s pass
 * first), length (2 bytes), datagram". Properties: receive() and tick()
 * never throw; every reply goes back to the sender; `bound`, when given,
 * holds after every datagram.
 */
export function responderFuzz<N extends NodeLike>(data: Buffer, make?: NodeFactory<N>, bound?: (node: N) => string | null): void {
  const h = new Harness<N>({}, make);
  const node = h.b;
  for (let off = 0; off + 3 <= data.length; ) {
    const flags = data[off]!;
    const len = Math.min(data.readUInt16BE(off + 1), data.length - off - 3);
    const dgram = data.subarray(off + 3, off + 3 + len);
    off += 3 + len;
    if (flags & 2) h.clock.t += 10_000;
    const port = flags & 1 ? 4500 : 500;
    const actions = [...node.receive(dgram, { address: NAT_PUBLIC, port }, port), ...(flags & 2 ? node.tick() : [])];
    for (const a of actions) {
      if (a.kind === 'send') check(a.to.address === NAT_PUBLIC, `reply sent to ${a.to.address}, not to the sender`);
    }
    const problem = bound?.(node) ?? null;
    check(problem === null, problem ?? '');
  }
  h.clock.t += 600_000;
  node.tick();
}
