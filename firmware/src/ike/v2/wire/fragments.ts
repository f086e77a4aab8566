// IKEv2 fragmentation (RFC 7383): a message too large for the path is sent
// as several messages with the same Message ID, each carrying one SKF
// payload that protects one piece of the inner payload chain (§2.5). Every
// fragment is a complete, individually protected IKE message, so a forged
// fragment fails its own integrity check. Only fragment 1 names the first
// inner payload (§2.5) and only it may carry unencrypted payloads.
//
// FragmentAssembly collects the opened fragments of one message; it is
// bounded (MAX_FRAGMENTS, a byte cap) and keeps the first copy of a repeated
// fragment (§2.6.1: duplicates are discarded).

import { wipe } from '../../crypto/secret.ts';
import { PayloadType } from './constants.ts';
import { MAX_FRAGMENTS } from './encrypted-payload.ts';
import { sealEncrypted, skOverhead, type OpenedEncrypted, type SkKeys } from './encrypted.ts';
import type { HeaderFields } from './message.ts';
import { NotifyType } from './notify-types.ts';
import { decodePayloads, encodePayloads } from './payload-chain.ts';
import type { Payload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';
import { HEADER_LENGTH } from './constants.ts';

/** Largest reassembled chain accepted: generous for 4096-bit certificate chains, bounded for memory. */
export const MAX_REASSEMBLED = 64 * 1024;
/** A message whose fragments have not all arrived this long after the first is dropped (the sender retransmits them
 * all, RFC 7383 §2.6); shorter than the half-open IKE SA timeout so a lost IKE_AUTH fragment still recovers. */
export const REASSEMBLY_TIMEOUT_MS = 10_000;

/**
 * Seals `inner` as fragments so that each datagram is at most `maxDatagram`
 * bytes (the IKE message; the caller adds the non-ESP marker's 4 bytes to its
 * own budget). `iv` is called once per fragment. Throws RangeError if the
 * limit leaves no room or needs more than MAX_FRAGMENTS fragments.
 */
export function sealFragments(header: HeaderFields, inner: readonly Payload[], keys: SkKeys, maxDatagram: number, iv: () => Buffer): Buffer[] {
  const chain = encodePayloads(inner);
  try {
    const room = maxDatagram - HEADER_LENGTH - skOverhead(keys, true);
    if (room < 1) throw new RangeError(`datagram limit ${maxDatagram} leaves no room for a fragment`);
    const total = Math.max(1, Math.ceil(chain.bytes.length / room));
    if (total > MAX_FRAGMENTS) throw new RangeError(`message needs ${total} fragments, limit ${MAX_FRAGMENTS}`);
    const out: Buffer[] = [];
    for (let n = 1; n <= total; n++) {
      const piece = chain.bytes.subarray((n - 1) * room, n * room);
      out.push(sealEncrypted(header, [], n === 1 ? chain.first : PayloadType.NONE, piece, keys, iv(), { fragmentNumber: n, totalFragments: total }));
    }
    return out;
  } finally {
    wipe(chain.bytes);
  }
}

export type AssemblyResult = { done: false } | { done: true; payloads: Payload[] };

export class FragmentAssembly {
  #total = 0;
  #innerFirst = PayloadType.NONE as number;
  #pieces = new Map<number, Buffer>();
  #bytes = 0;

  /** Adds one opened fragment; returns the decoded inner payloads once all have arrived. Never throws. */
  add(f: OpenedEncrypted): WireResult<AssemblyResult> {
    const pos = f.fragment;
    if (pos === undefined) return fail('not a fragment', 0, NotifyType.INVALID_SYNTAX);
    if (this.#total === 0) this.#total = pos.totalFragments;
    // §2.6.1: fragments of one message must agree on the total.
    if (pos.totalFragments !== this.#total)
      return fail(`fragment says ${pos.totalFragments} fragments, earlier ones ${this.#total}`, 0, NotifyType.INVALID_SYNTAX);
    if (this.#pieces.has(pos.fragmentNumber)) return ok({ done: false });
    if (this.#bytes + f.chain.length > MAX_REASSEMBLED)
      return fail(`reassembled message would exceed ${MAX_REASSEMBLED} bytes`, 0, NotifyType.INVALID_SYNTAX);
    if (pos.fragmentNumber === 1) this.#innerFirst = f.innerFirst;
    this.#pieces.set(pos.fragmentNumber, f.chain);
    this.#bytes += f.chain.length;
    if (this.#pieces.size < this.#total) return ok({ done: false });
    const ordered: Buffer[] = [];
    for (let n = 1; n <= this.#total; n++) ordered.push(this.#pieces.get(n)!);
    const whole = Buffer.concat(ordered);
    this.clear();
    const chain = decodePayloads(this.#innerFirst, whole);
    wipe(whole);
    return chain.ok ? ok({ done: true, payloads: chain.value.payloads }) : chain;
  }

  get received(): number {
    return this.#pieces.size;
  }

  /** Plaintext bytes held (at most MAX_REASSEMBLED). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Forget (and wipe) what has been collected. */
  clear(): void {
    for (const b of this.#pieces.values()) wipe(b);
    this.#pieces.clear();
    this.#bytes = 0;
  }
}
