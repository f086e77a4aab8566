// The key exchange of one IKE_INTERMEDIATE exchange (RFC 9370 §2.2.2): an
// ML-KEM (draft-ietf-ipsecme-ikev2-mlkem §2.2: KEi = ek, KEr = ct, only the
// initiator decapsulates) or a Diffie-Hellman group (both sides send a public
// value). Any failure of the peer's data (wrong length, ML-KEM modulus check,
// DH point validation) is an AddKeError: the exchange answers INVALID_SYNTAX.

import { dhGroupById, DhError } from '../../crypto/dh.ts';
import type { RandomSource } from '../../crypto/dh-group.ts';
import { kemById, KemError, loadMlKem, namesMlKem } from '../../crypto/ml-kem.ts';
import type { AdditionalKe } from '../../exchange/types.ts';

export class AddKeError extends Error {
  override readonly name = 'AddKeError';
}

/** The initiator's half: its KE data now, the shared secret once the responder's KE arrives. */
export interface AddKeInitiator {
  readonly data: Buffer;
  complete(peerData: Uint8Array): Buffer;
  wipe(): void;
}

/**
 * Loads the implementations these peers' additional key exchanges need (the ML-KEM
 * bundle, ml-kem.ts) before they can be negotiated: the exchanges call
 * startAddKe/answerAddKe synchronously. Nothing is loaded when no method names ML-KEM.
 */
export async function prepareAddKe(methods: readonly { readonly addKe?: readonly AdditionalKe[] }[]): Promise<void> {
  if (namesMlKem(methods.flatMap((m) => (m.addKe ?? []).flatMap((k) => k.ids)))) await loadMlKem();
}

export function isAddKeMethod(id: number): boolean {
  return kemById(id) !== undefined || dhGroupById(id) !== undefined;
}

/** A KEM's public data is not a DH value: the responder's answer has another length (ct). */
export function addKeLengths(id: number): { request: number; response: number } | undefined {
  const kem = kemById(id);
  if (kem) return { request: kem.publicKeyLength, response: kem.cipherTextLength };
  const dh = dhGroupById(id);
  return dh ? { request: dh.publicLength, response: dh.publicLength } : undefined;
}

function rethrow(e: unknown): never {
  if (e instanceof KemError || e instanceof DhError) throw new AddKeError(e.message);
  throw e;
}

export function startAddKe(id: number, random: RandomSource): AddKeInitiator {
  const kem = kemById(id);
  if (kem) {
    const pair = kem.generate(random);
    return {
      data: pair.publicKey,
      complete: (ct) => {
        try {
          return pair.decapsulate(ct);
        } catch (e) {
          rethrow(e);
        } finally {
          pair.wipe();
        }
      },
      wipe: () => pair.wipe(),
    };
  }
  const dh = dhGroupById(id);
  if (!dh) throw new RangeError(`key exchange method ${id} is not implemented`);
  const pair = dh.generate(random);
  return {
    data: pair.publicKey,
    complete: (peer) => {
      try {
        return pair.computeSecret(peer);
      } catch (e) {
        rethrow(e);
      }
    },
    wipe: () => undefined,
  };
}

/** The responder's half: its KE data and the shared secret, from the initiator's KE data. */
export function answerAddKe(id: number, peerData: Uint8Array, random: RandomSource): { data: Buffer; secret: Buffer } {
  try {
    const kem = kemById(id);
    if (kem) {
      const r = kem.encapsulate(peerData, random);
      return { data: r.cipherText, secret: r.secret };
    }
    const dh = dhGroupById(id);
    if (!dh) throw new RangeError(`key exchange method ${id} is not implemented`);
    const pair = dh.generate(random);
    return { data: pair.publicKey, secret: pair.computeSecret(peerData) };
  } catch (e) {
    rethrow(e);
  }
}
