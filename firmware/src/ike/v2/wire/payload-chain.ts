// The IKEv2 next-payload chain (RFC 7296 §3.2) over the chain codec both
// versions share (../../common/payload-chain.ts). IKEv2 specifics: the
// Encrypted payload (SK, §3.14) and its fragments (SKF, RFC 7383 §2.5) must
// be last, and their next payload names the first payload *inside*, so the
// chain stops there; the critical bit reaches the body codec; no padding.

import { buildChain, type ChainRules, walkPayloads } from '../../common/payload-chain.ts';
import { PayloadType } from './constants.ts';
import { readGenericHeader } from './generic-header.ts';
import { NotifyType } from './notify-types.ts';
import { decodePayloadBody, encodePayloadBody } from './payload-body.ts';
import type { Payload } from './payloads.ts';
import { ok, type WireResult } from './result.ts';

export const MAX_PAYLOADS = 64;

export interface DecodedChain {
  payloads: Payload[];
  /** Offset (in the decoded buffer) of each payload's generic header. */
  offsets: number[];
}

const endsChain = (type: number): boolean => type === PayloadType.SK || type === PayloadType.SKF;

const RULES: ChainRules<Payload, NotifyType> = {
  maxPayloads: MAX_PAYLOADS,
  readHeader: readGenericHeader,
  decodeBody: (type, header, body, base) => decodePayloadBody(type, header.next, header.critical, body, base),
  lastOnly: (type) => (endsChain(type) ? 'Encrypted payload' : undefined),
  notify: { tooMany: NotifyType.INVALID_SYNTAX, ended: NotifyType.INVALID_SYNTAX, trailing: NotifyType.INVALID_SYNTAX },
};

/** Parses a payload chain starting with type `first` that fills `body` exactly. Never throws. */
export function decodePayloads(first: number, body: Buffer, base = 0): WireResult<DecodedChain> {
  const r = walkPayloads(RULES, first, body, base, 0);
  if (!r.ok) return r;
  return ok({ payloads: r.value.items.map((i) => i.payload), offsets: r.value.items.map((i) => i.offset) });
}

export interface EncodedChain {
  /** Type of the first payload (0 for none): the header's or SK's next payload. */
  first: number;
  bytes: Buffer;
}

/** Encodes payloads with lengths and next-payload chaining. An SK/SKF payload
 * must be last and chains to its own innerFirst. Throws RangeError on a caller bug. */
export function encodePayloads(payloads: readonly Payload[]): EncodedChain {
  const entries = payloads.map((p, i) => {
    let next: number | undefined;
    if (endsChain(p.type)) {
      if (i !== payloads.length - 1) throw new RangeError('the Encrypted payload must be last');
      if ('innerFirst' in p) next = p.innerFirst;
    }
    return { type: p.type, body: encodePayloadBody(p), critical: 'opaque' in p ? p.critical : false, ...(next === undefined ? {} : { next }) };
  });
  const built = buildChain(entries);
  return { first: built.first, bytes: built.bytes };
}
