// The IKEv1 main mode responder keeps no SA for an MM1 it answered until the
// initiator's MM3 echoes our responder cookie (issue 10): anyone can send an
// MM1 from any source address, and a spoofer never sees our MM2.
//
// RFC 2408 §2.5.3 asks the responder cookie to be the anti-clogging token
// (Photuris, RFC 2522: one the initiator must echo before the responder spends
// state or CPU), but IKEv1 main mode cannot answer fully without state as IKEv2
// does with its COOKIE (RFC 7296 §2.6): the initiator's SA payload body (SAi_b)
// enters HASH_I and HASH_R (RFC 2409 §5) and MM3 does not carry it again. So
// what an unproven MM1 costs us is this record alone: the MM1's bytes, the MM2
// we answered with, our cookie, where it came from, when. No SA,
// no timers, no index entries: an MM1 flood costs a decode, a proposal choice
// and an MM2 per datagram, at a rate the daemon keeps up with. When MM3 comes
// from the MM1's address and port and echoes the cookie, the exchange is built
// from the record (main-mode.ts respondMainMode1 with that cookie) and goes on.
// A copy of the MM1 (the initiator lost our MM2 and retransmits) is answered
// with the MM2 bytes kept here, byte for byte as any duplicate request is
// (common/send-path.ts): no proposal choice, no encoding.
//
// Every MM1 we answer takes this path, whatever its size. The records are
// grouped per peer in a HalfOpenTable (ike/common/half-open.ts) bounded in
// bytes (types.ts MM1_RECORDS_BYTES, MM1_RECORDS_PEER_BYTES): a peer's share
// full, its oldest records give way; the whole table full, the oldest of the
// largest share's. A flood posing as one peer evicts its own records, never
// another peer's; a record lives as long as the flood takes to send a share's
// worth of newer MM1s (over 2 s at 2,000/s), far longer than a real initiator
// takes from our MM2 to its MM3.

import { constantTimeEqual } from '../crypto/secret.ts';
import { HalfOpenTable } from '../common/half-open.ts';
import { ExchangeType, PayloadType } from '../wire/index.ts';
import {
  HALF_OPEN_TIMEOUT_MS,
  MM1_RECORD_OVERHEAD_BYTES,
  MM1_RECORDS_BYTES,
  MM1_RECORDS_PEER_BYTES,
  type Endpoint,
} from './types.ts';

/**
 * Whether a datagram looks like a fresh MM1 from its 28-byte ISAKMP header alone
 * (RFC 2408 §3.1), before anything is decoded: main mode, not encrypted, the first
 * payload an SA, the responder cookie zero, and the length field the datagram's.
 * What the reply budget (common/reply-budget.ts) may shed without decoding; anything
 * else (a malformed header or length included) takes the full decode and is counted there.
 */
export function peekFreshMm1(data: Buffer): boolean {
  if (data.length < 28 || data.readUInt32BE(24) !== data.length) return false;
  if (data[16] !== PayloadType.SA || data[18] !== ExchangeType.MAIN || (data.readUInt8(19) & 1) !== 0) return false;
  for (let i = 8; i < 16; i++) if (data[i] !== 0) return false;
  return true;
}

/** An MM1 we answered with MM2, kept until its MM3. */
export interface Mm1Record {
  /** The MM1 as received (own memory, not a slice of a pooled receive buffer). */
  readonly mm1: Buffer;
  /** The MM2 we answered it with, sent again for a copy of the MM1 (own memory). */
  readonly mm2: Buffer;
  /** Our responder cookie, sent in the MM2. */
  readonly ckyR: Buffer;
  readonly remote: Endpoint;
  readonly localPort: number;
  readonly peer: string;
  readonly at: number;
}

/** What a record counts against the byte budget. */
export function recordBytes(rec: Mm1Record): number {
  return rec.mm1.length + rec.mm2.length + MM1_RECORD_OVERHEAD_BYTES;
}

export class Mm1Records {
  readonly #table = new HalfOpenTable<Mm1Record>({ perGroup: MM1_RECORDS_PEER_BYTES, total: MM1_RECORDS_BYTES });

  get size(): number {
    return this.#table.size;
  }

  /** The bytes the records count against the budget, in all or of one peer. */
  bytes(peer?: string): number {
    return this.#table.cost(peer);
  }

  /** The record of the MM1 with this initiator cookie (from wherever it came). */
  get(ckyI: Buffer): Mm1Record | undefined {
    return this.#table.get(ckyI.toString('hex'));
  }

  /** Keeps a record; returns how many older ones gave way. */
  put(ckyI: Buffer, rec: Mm1Record): number {
    const cost = recordBytes(rec);
    const victims = this.#table.victims(rec.peer, cost);
    for (const v of victims) this.#table.remove(v);
    this.#table.add(ckyI.toString('hex'), rec.peer, rec, cost);
    return victims.length;
  }

  /**
   * The record an MM3 is for, removed: the same initiator cookie, address and port as
   * its MM1, our cookie echoed (compared in constant time), within HALF_OPEN_TIMEOUT_MS.
   * A record that does not match stays for the real MM3 (a forged one changes nothing).
   */
  take(ckyI: Buffer, ckyR: Buffer, from: Endpoint, now: number): Mm1Record | undefined {
    const rec = this.get(ckyI);
    if (rec === undefined || rec.remote.address !== from.address || rec.remote.port !== from.port) return undefined;
    if (!constantTimeEqual(rec.ckyR, ckyR) || now - rec.at > HALF_OPEN_TIMEOUT_MS) return undefined;
    this.#table.remove(rec);
    return rec;
  }

  /** Forgets records older than HALF_OPEN_TIMEOUT_MS (their initiators gave up long ago). */
  expire(now: number): void {
    this.#table.removeOldest((r) => now - r.at > HALF_OPEN_TIMEOUT_MS);
  }

  clear(): void {
    this.#table.clear();
  }
}
