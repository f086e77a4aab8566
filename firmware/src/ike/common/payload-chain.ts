// The next-payload chain both IKE versions use (RFC 2408 §3.1/§3.2, RFC 7296
// §3.2): the header names the first payload type, each generic header names
// the one after it, 0 ends the chain. Walking and building the chain is the
// same for both; the versions supply the header rules, the body codec, the
// notify to name for each malformation and, for IKEv2, the payload that must
// come last (SK/SKF, whose next payload names the first payload inside it).
// Decoding is bounded: at most `maxPayloads`, every length checked first.

import type { GenericHeader } from './generic-header.ts';
import { writeGenericHeader } from './generic-header.ts';
import { GENERIC_HEADER_LENGTH } from './wire-numbers.ts';
import { fail, ok, type WireResult } from './wire-result.ts';

export interface ChainRules<P, N extends number> {
  readonly maxPayloads: number;
  readonly readHeader: (buf: Buffer, off: number, base: number, what: string) => WireResult<GenericHeader, N>;
  readonly decodeBody: (type: number, header: GenericHeader, body: Buffer, base: number) => WireResult<P, N>;
  /** The name of a payload that ends the chain and must be last, or undefined. */
  readonly lastOnly: (type: number) => string | undefined;
  readonly notify: {
    /** More than maxPayloads. */
    readonly tooMany: N;
    /** The chain names a payload after the bytes end. */
    readonly ended: N;
    /** Bytes left after the chain ends. */
    readonly trailing: N;
  };
}

export interface ChainItem<P> {
  payload: P;
  /** Offset of the generic header, relative to the start of the chain. */
  offset: number;
  /** Total payload length including the 4-byte generic header. */
  length: number;
  /** The body without the generic header (a view into the decoded buffer). */
  body: Buffer;
}

export interface WalkedChain<P> {
  items: ChainItem<P>[];
  /** Bytes after the last payload (at most maxPadding). */
  padding: number;
}

/** Parses a chain that starts with a payload of type `first`; `maxPadding`
 * trailing bytes are accepted (decrypted IKEv1 bodies, RFC 2409 §5.3), `base`
 * is the offset of `body` in the whole message for error offsets. Never throws. */
export function walkPayloads<P, N extends number>(
  rules: ChainRules<P, N>,
  first: number,
  body: Buffer,
  base: number,
  maxPadding: number,
): WireResult<WalkedChain<P>, N> {
  const items: ChainItem<P>[] = [];
  let type = first;
  let pos = 0;
  while (type !== 0) {
    if (items.length >= rules.maxPayloads) return fail(`more than ${rules.maxPayloads} payloads`, base + pos, rules.notify.tooMany);
    if (pos >= body.length) return fail(`chain names payload type ${type} but the message ends`, base + pos, rules.notify.ended);
    const h = rules.readHeader(body, pos, base, `payload ${items.length + 1} (type ${type})`);
    if (!h.ok) return h;
    const start = pos + GENERIC_HEADER_LENGTH;
    const inner = body.subarray(start, pos + h.value.length);
    const p = rules.decodeBody(type, h.value, inner, base + start);
    if (!p.ok) return p;
    items.push({ payload: p.value, offset: pos, length: h.value.length, body: inner });
    pos += h.value.length;
    const last = rules.lastOnly(type);
    if (last !== undefined) {
      if (pos !== body.length) return fail(`${body.length - pos} bytes after the ${last}, which must be last`, base + pos, rules.notify.trailing);
      break;
    }
    type = h.value.next;
  }
  const left = body.length - pos;
  if (left > maxPadding) return fail(`${left} bytes after the last payload`, base + pos, rules.notify.trailing);
  return ok({ items, padding: left });
}

export interface ChainEntry {
  type: number;
  body: Buffer;
  /** Next payload to write instead of the following entry's type (IKEv2 SK: the first inner payload). */
  next?: number;
  critical?: boolean;
}

export interface BuiltChain {
  /** Type of the first payload (0 for none): the header's next payload. */
  first: number;
  bytes: Buffer;
  /** Offset and length (generic header included) of each entry in `bytes`. */
  spans: { offset: number; length: number }[];
}

/** Concatenates payload bodies with generic headers, lengths and next-payload
 * chaining. Throws RangeError on a caller bug (a body over 65531 bytes). */
export function buildChain(entries: readonly ChainEntry[]): BuiltChain {
  const bytes = Buffer.alloc(entries.reduce((n, e) => n + GENERIC_HEADER_LENGTH + e.body.length, 0));
  const spans: { offset: number; length: number }[] = [];
  let off = 0;
  entries.forEach((e, i) => {
    const length = GENERIC_HEADER_LENGTH + e.body.length;
    writeGenericHeader(bytes, off, e.next ?? entries[i + 1]?.type ?? 0, length, e.critical ?? false);
    e.body.copy(bytes, off + GENERIC_HEADER_LENGTH);
    spans.push({ offset: off, length });
    off += length;
  });
  return { first: entries[0]?.type ?? 0, bytes, spans };
}
