// Main mode payload lists, RFC 2409 §5 (with RFC 3947 NAT-D in messages 3/4):
//   MM1 I->R  SA [VID...]
//   MM2 R->I  SA (the one chosen transform) [VID...]
//   MM3 I->R  KE Ni [CR...] [NAT-D NAT-D...]
//   MM4 R->I  KE Nr [CR...] [NAT-D NAT-D...]
//   MM5 I->R  IDii [CERT...] HASH_I|SIG_I [N(INITIAL-CONTACT)]   (encrypted)
//   MM6 R->I  IDir [CERT...] HASH_R|SIG_R                          (encrypted)
// The caller encrypts MM5/MM6 and computes the hashes; encodePayloadBody()
// of the SA and ID payloads built here gives SAi_b and IDii_b/IDir_b.

import { CertEncoding, Doi, IsakmpTransformId, NotifyType, PayloadType, ProtocolId, Situation } from './constants.ts';
import { natDPayloadType, type NatTFlavour } from './build-common.ts';
import { phase1AttributeList, type Phase1Attributes } from './phase1-attributes.ts';
import type { CertRequestPayload, IdPayload, Payload, SaPayload } from './payloads.ts';

/** One acceptable phase 1 suite; its 1-based position is the transform number. */
export interface Phase1Offer {
  transforms: Phase1Attributes[];
}

/** RFC 2409 §5: phase 1 SAs carry a single ISAKMP proposal; the
 * alternatives are its transforms (all KEY_IKE), numbered from 1. */
export function phase1Sa(offer: Phase1Offer): SaPayload {
  if (offer.transforms.length === 0) throw new RangeError('phase 1 offer needs at least one transform');
  return {
    type: PayloadType.SA,
    doi: Doi.IPSEC,
    situation: Situation.IDENTITY_ONLY,
    proposals: [
      {
        number: 1,
        protocol: ProtocolId.ISAKMP,
        spi: Buffer.alloc(0),
        transforms: offer.transforms.map((a, i) => ({ number: i + 1, id: IsakmpTransformId.KEY_IKE, attributes: phase1AttributeList(a) })),
      },
    ],
  };
}

/** The SA payload first: its body is SAi_b (RFC 2409 §5), which the initiator keeps. */
export function mainMode1(offer: Phase1Offer, vendorIds: readonly Buffer[] = []): [SaPayload, ...Payload[]] {
  return [phase1Sa(offer), ...vendorIds.map((data): Payload => ({ type: PayloadType.VENDOR_ID, data }))];
}

/** The responder answers with exactly the transform it chose, under the
 * initiator's transform number (RFC 2408 §4.2). */
export function mainMode2(chosen: Phase1Attributes, transformNumber: number, vendorIds: readonly Buffer[] = []): Payload[] {
  const sa = phase1Sa({ transforms: [chosen] });
  sa.proposals[0]!.transforms[0]!.number = transformNumber;
  return [sa, ...vendorIds.map((data): Payload => ({ type: PayloadType.VENDOR_ID, data }))];
}

export interface KeyExchangeInput {
  /** Our DH public value (KE data). */
  ke: Buffer;
  nonce: Buffer;
  /** Certificate requests (RSA/ECDSA auth): CA DNs, or empty for any CA. */
  certRequests?: readonly Buffer[];
  /** RFC 3947 §3.2: the hash of the peer's address/port first, then one per local address. */
  natD?: { flavour: NatTFlavour; hashes: readonly Buffer[] };
}

function keyExchange(x: KeyExchangeInput): Payload[] {
  const out: Payload[] = [
    { type: PayloadType.KE, data: x.ke },
    { type: PayloadType.NONCE, data: x.nonce },
  ];
  for (const authority of x.certRequests ?? []) {
    const cr: CertRequestPayload = { type: PayloadType.CR, encoding: CertEncoding.X509_SIGNATURE, authority };
    out.push(cr);
  }
  if (x.natD !== undefined) {
    const type = natDPayloadType(x.natD.flavour);
    for (const hash of x.natD.hashes) out.push({ type, hash });
  }
  return out;
}

export const mainMode3 = keyExchange;
export const mainMode4 = keyExchange;

export type Phase1Auth =
  | { kind: 'hash'; hash: Buffer }
  | { kind: 'signature'; signature: Buffer; certificates?: readonly Buffer[] };

export interface AuthInput {
  id: IdPayload;
  auth: Phase1Auth;
  /** Both cookies: adds N(INITIAL-CONTACT) for the ISAKMP SA (RFC 2407 §4.6.3.3). */
  initialContact?: { initiatorCookie: Buffer; responderCookie: Buffer };
}

function authenticate(x: AuthInput): Payload[] {
  const out: Payload[] = [x.id];
  if (x.auth.kind === 'hash') out.push({ type: PayloadType.HASH, data: x.auth.hash });
  else {
    for (const data of x.auth.certificates ?? []) out.push({ type: PayloadType.CERT, encoding: CertEncoding.X509_SIGNATURE, data });
    out.push({ type: PayloadType.SIG, data: x.auth.signature });
  }
  if (x.initialContact !== undefined) {
    out.push({
      type: PayloadType.NOTIFY,
      doi: Doi.IPSEC,
      protocol: ProtocolId.ISAKMP,
      spi: Buffer.concat([x.initialContact.initiatorCookie, x.initialContact.responderCookie]),
      notifyType: NotifyType.INITIAL_CONTACT,
      data: Buffer.alloc(0),
    });
  }
  return out;
}

export const mainMode5 = authenticate;
export function mainMode6(x: Omit<AuthInput, 'initialContact'>): Payload[] {
  return authenticate(x);
}
