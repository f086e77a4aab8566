// Encrypted ISAKMP messages under an established (or MM5/MM6) key:
// encoding, decryption with IV rollback on failure, and the "rest" bytes
// that quick mode and informational HASH payloads cover (RFC 2409 §5.5,
// §5.7: the payloads after the HASH, generic headers included, padding not).

import type { IsakmpCryptoState } from '../crypto/isakmp-crypto-state.ts';
import {
  decodePayloads,
  encodeEncryptedMessage,
  encodePayloads,
  type ExchangeType,
  type Payload,
  type PayloadSpan,
} from '../wire/index.ts';

export interface Cookies {
  ckyI: Buffer;
  ckyR: Buffer;
}

export function encryptMessage(
  crypto: IsakmpCryptoState,
  c: Cookies,
  exchangeType: ExchangeType,
  messageId: number,
  payloads: readonly Payload[],
): Buffer {
  const chain = encodePayloads(payloads);
  const ct = crypto.encrypt(messageId, chain.bytes);
  return encodeEncryptedMessage({ initiatorCookie: c.ckyI, responderCookie: c.ckyR, exchangeType, flags: 0, messageId }, chain.first, ct);
}

export interface Decrypted {
  payloads: Payload[];
  spans: PayloadSpan[];
  plaintext: Buffer;
}

/** Decrypts and parses; on any failure the IV chain is rolled back so a
 * forged or corrupted message cannot desynchronise the SA. The caller must
 * call `rollback` itself when a later check (HASH) fails. */
export function decryptMessage(
  crypto: IsakmpCryptoState,
  firstPayload: number,
  messageId: number,
  body: Buffer,
): { ok: true; value: Decrypted; rollback: () => void } | { ok: false; reason: string } {
  const snap = crypto.snapshot();
  const rollback = (): void => crypto.restore(snap);
  let plaintext: Buffer;
  try {
    plaintext = crypto.decrypt(messageId, body);
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : 'decrypt failed' };
  }
  const r = decodePayloads(firstPayload, plaintext, { allowPadding: true });
  if (!r.ok) {
    rollback();
    return { ok: false, reason: `undecodable after decryption: ${r.reason}` };
  }
  return { ok: true, value: { payloads: r.value.payloads, spans: r.value.spans, plaintext }, rollback };
}

/** The bytes after the leading HASH payload up to the end of the last payload. */
export function restAfterHash(d: Decrypted): Buffer {
  const first = d.spans[0];
  const last = d.spans[d.spans.length - 1];
  if (first === undefined || last === undefined) return Buffer.alloc(0);
  return d.plaintext.subarray(first.offset + first.length, last.offset + last.length);
}
