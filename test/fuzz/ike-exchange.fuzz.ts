// A real IKEv1 negotiation (main mode + quick mode, two IkeNodes wired in
// memory by the exchange tests' Harness) with the datagrams on the wire
// altered by the input, so the fuzzer reaches the encrypted and
// authenticated steps (MM5/MM6, quick mode, informational) that random bytes
// never get to. Input: 5-byte records "datagram index, operation, offset
// (2 bytes), value"; operations: xor a byte, set a byte, truncate, drop.
// Properties: no node ever throws; every SA pair both sides installed under
// one SPI carries the same algorithm and keys (a tampered exchange may fail,
// never disagree); a node stays usable (ticks) afterwards.
import { Harness } from '../unit/ike-exchange-harness.ts';
import type { ChildSaInstall, PeerPolicy } from '../../firmware/src/ike/exchange/types.ts';
import { check } from './lib/check.ts';

interface Mutation {
  op: number;
  offset: number;
  value: number;
}

// curve25519 keeps one negotiation around a few milliseconds.
const fast = (): Partial<PeerPolicy> => ({ ikeMethods: [{ encryption: 'aes128', integrity: 'sha256', dhGroup: 31 }] });

function sameKeys(a: ChildSaInstall, b: ChildSaInstall): boolean {
  return a.algorithm === b.algorithm && a.encKey.equals(b.encKey) && (a.authKey ?? Buffer.alloc(0)).equals(b.authKey ?? Buffer.alloc(0));
}

export function fuzz(data: Buffer): void {
  const mutations = new Map<number, Mutation[]>();
  for (let off = 0; off + 5 <= data.length; off += 5) {
    const k = data[off]! % 32;
    const list = mutations.get(k) ?? [];
    list.push({ op: data[off + 1]! % 4, offset: data.readUInt16BE(off + 2), value: data[off + 4]! });
    mutations.set(k, list);
  }
  const h = new Harness({ peerA: fast(), peerB: fast() });
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
  // Retransmissions and timeouts get their turn too.
  for (let i = 0; i < 4; i++) h.advance(5_000);
  for (const a of h.installs.A) {
    for (const b of h.installs.B) {
      if (a.spi !== b.spi || a.direction === b.direction) continue;
      check(sameKeys(a, b), `SPI ${a.spi.toString(16)}: A and B installed different keys`);
    }
  }
  h.advance(600_000);
}
