// Protecting and opening the Encrypted payload (RFC 7296 §3.14) and its
// fragments (RFC 7383 §2.5):
//   CBC + HMAC: body = IV | E(chain | padding | pad length) | ICV, the ICV an
//     HMAC over the whole message from the IKE header to the end of the
//     ciphertext (§3.14), keyed with SK_a of the sender.
//   AEAD (RFC 5282 §5): body = IV(8) | E(chain | padding | pad length) | tag,
//     AAD = the IKE header and every byte before the IV (unencrypted payloads,
//     the SK generic header; for SKF also Fragment Number and Total Fragments).
// Padding: CBC pads to the block size, AEAD needs none (RFC 5282 §3); the
// receiver only trusts the pad length byte (§3.14: padding contents are not
// checked). The IV comes from the caller (randomness is an input).

import { constantTimeEqual, wipe } from '../../crypto/secret.ts';
import type { EncrAlgorithm, IntegAlgorithm } from '../crypto/transforms.ts';
import { GENERIC_HEADER_LENGTH, PayloadType } from './constants.ts';
import { encodeMessage, type HeaderFields, type Message } from './message.ts';
import { decodePayloads, encodePayloads } from './payload-chain.ts';
import type { Payload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

/** One direction's keys: SK_ei/SK_ai for what the initiator sends, SK_er/SK_ar for the responder. */
export interface SkKeys {
  encr: EncrAlgorithm;
  /** Undefined for AEAD ciphers (RFC 5282 §8: no integrity transform). */
  integ: IntegAlgorithm | undefined;
  encKey: Buffer;
  integKey: Buffer | undefined;
}

export interface FragmentPosition {
  fragmentNumber: number;
  totalFragments: number;
}

function checkKeys(k: SkKeys): void {
  if (k.encKey.length !== k.encr.keyMaterial) throw new RangeError(`${k.encr.name}: key must be ${k.encr.keyMaterial} bytes`);
  if (k.encr.aead !== (k.integ === undefined)) throw new RangeError('an AEAD cipher takes no integrity transform, CBC needs one');
  if (k.integ && k.integKey?.length !== k.integ.keyLength) throw new RangeError(`${k.integ.name}: key must be ${k.integ.keyLength} bytes`);
}

const icvLength = (k: SkKeys): number => (k.encr.aead ? k.encr.tagLength : (k.integ?.icvLength ?? 0));

/** Overhead an SK payload adds around its chain (header, IV, maximum padding, ICV) for fragment sizing. */
export function skOverhead(k: SkKeys, fragment: boolean): number {
  return GENERIC_HEADER_LENGTH + (fragment ? 4 : 0) + k.encr.ivLength + k.encr.blockSize + icvLength(k);
}

/**
 * Builds a message whose last payload is SK (or SKF when `fragment` is
 * given) carrying `chain` (an encoded inner payload chain, or a fragment of
 * one) encrypted under `keys` with the caller's random `iv`.
 */
export function sealEncrypted(
  header: HeaderFields,
  clear: readonly Payload[],
  innerFirst: number,
  chain: Buffer,
  keys: SkKeys,
  iv: Buffer,
  fragment?: FragmentPosition,
): Buffer {
  checkKeys(keys);
  if (iv.length !== keys.encr.ivLength) throw new RangeError(`${keys.encr.name}: IV must be ${keys.encr.ivLength} bytes`);
  const bs = keys.encr.blockSize;
  const padLength = (bs - ((chain.length + 1) % bs)) % bs;
  const plaintext = Buffer.alloc(chain.length + padLength + 1);
  chain.copy(plaintext, 0);
  plaintext[plaintext.length - 1] = padLength;
  const icv = icvLength(keys);
  const prefix = fragment ? 4 : 0;
  const body = Buffer.alloc(prefix + iv.length + plaintext.length + icv);
  if (fragment) {
    body.writeUInt16BE(fragment.fragmentNumber, 0);
    body.writeUInt16BE(fragment.totalFragments, 2);
  }
  const last: Payload = fragment
    ? { type: PayloadType.SKF, innerFirst, fragmentNumber: fragment.fragmentNumber, totalFragments: fragment.totalFragments, body: body.subarray(4) }
    : { type: PayloadType.SK, innerFirst, body };
  const raw = encodeMessage(header, [...clear, last]);
  const ivStart = raw.length - body.length + prefix;
  iv.copy(raw, ivStart);
  const aad = raw.subarray(0, ivStart);
  const sealed = keys.encr.encrypt(keys.encKey, iv, aad, plaintext);
  wipe(plaintext);
  if (sealed === null || sealed.length !== plaintext.length + (keys.encr.aead ? icv : 0)) throw new Error('cipher returned an unexpected length');
  sealed.copy(raw, ivStart + iv.length);
  if (!keys.encr.aead && keys.integ && keys.integKey) {
    keys.integ.mac(keys.integKey, raw.subarray(0, raw.length - icv)).copy(raw, raw.length - icv);
  }
  return raw;
}

/** Encodes `inner` and seals it in one SK payload. */
export function sealMessage(header: HeaderFields, clear: readonly Payload[], inner: readonly Payload[], keys: SkKeys, iv: Buffer): Buffer {
  const chain = encodePayloads(inner);
  try {
    return sealEncrypted(header, clear, chain.first, chain.bytes, keys, iv);
  } finally {
    wipe(chain.bytes);
  }
}

export interface OpenedEncrypted {
  innerFirst: number;
  /** The decrypted inner chain (a whole chain for SK, a piece of one for SKF). */
  chain: Buffer;
  fragment?: FragmentPosition;
}

/**
 * Verifies and decrypts the SK or SKF payload that ends `m`. Never throws.
 * An integrity failure carries no notify: RFC 7296 §2.21.2 has the receiver
 * drop such a message silently.
 */
export function openEncrypted(m: Message, keys: SkKeys): WireResult<OpenedEncrypted> {
  const i = m.payloads.length - 1;
  const last = m.payloads[i];
  if (last === undefined || (last.type !== PayloadType.SK && last.type !== PayloadType.SKF) || !('innerFirst' in last)) {
    return fail('message has no Encrypted payload', 28);
  }
  const off = m.offsets[i]!;
  const ivStart = off + GENERIC_HEADER_LENGTH + (last.type === PayloadType.SKF ? 4 : 0);
  const icv = icvLength(keys);
  const bs = keys.encr.blockSize;
  const end = m.raw.length;
  const ctLength = end - ivStart - keys.encr.ivLength - (keys.encr.aead ? 0 : icv);
  const minimum = keys.encr.aead ? icv + 1 : bs;
  if (ctLength < minimum) return fail(`Encrypted payload too short for ${keys.encr.name}`, off);
  if (!keys.encr.aead && ctLength % bs !== 0) return fail('ciphertext is not a whole number of blocks', off);
  if (!keys.encr.aead) {
    if (!keys.integ || !keys.integKey) return fail('no integrity key', off);
    const want = keys.integ.mac(keys.integKey, m.raw.subarray(0, end - icv));
    if (!constantTimeEqual(want, m.raw.subarray(end - icv))) return fail('integrity check failed', end - icv);
  }
  const iv = m.raw.subarray(ivStart, ivStart + keys.encr.ivLength);
  const ct = m.raw.subarray(ivStart + keys.encr.ivLength, keys.encr.aead ? end : end - icv);
  const pt = keys.encr.decrypt(keys.encKey, iv, m.raw.subarray(0, ivStart), ct);
  if (pt === null) return fail('integrity check failed', end - icv);
  const padLength = pt[pt.length - 1]!;
  if (padLength + 1 > pt.length) {
    wipe(pt);
    return fail(`pad length ${padLength} exceeds the ${pt.length}-byte plaintext`, ivStart);
  }
  const chain = Buffer.from(pt.subarray(0, pt.length - padLength - 1));
  wipe(pt);
  const opened: OpenedEncrypted = { innerFirst: last.innerFirst, chain };
  if (last.type === PayloadType.SKF && 'fragmentNumber' in last) {
    opened.fragment = { fragmentNumber: last.fragmentNumber, totalFragments: last.totalFragments };
  }
  return ok(opened);
}

/** Opens an unfragmented SK message and decodes its inner payloads. Never throws. */
export function openMessage(m: Message, keys: SkKeys): WireResult<Payload[]> {
  const o = openEncrypted(m, keys);
  if (!o.ok) return o;
  if (o.value.fragment) return fail('message is a fragment; reassemble first', 28);
  const inner = decodePayloads(o.value.innerFirst, o.value.chain);
  wipe(o.value.chain);
  return inner.ok ? ok(inner.value.payloads) : inner;
}
