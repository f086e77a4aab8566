// Proposal construction and selection for both phases.
//
// RFC 2408 §4.2 / RFC 2409 §5: the responder picks exactly one transform of
// one proposal and returns it unchanged; the initiator must refuse a reply
// that is not one of its offers. Phase 1 offers are the transforms of a single
// ISAKMP proposal (RFC 2409 §5); phase 2 offers are ESP transforms of one
// proposal, carrying our inbound SPI (RFC 2407 §4.5 attributes).

import type { EspAlgorithm } from '../../dataplane/types.ts';
import { espKeyLengths } from '../crypto/esp-transform.ts';
import type { EspKeyLengths } from '../crypto/keymat.ts';
import {
  AuthMethod,
  EncapsulationMode,
  EncryptionAlgorithm,
  EspTransformId,
  HashAlgorithm,
  LifeType,
  ProtocolId,
  parseIpsecAttributes,
  parsePhase1Attributes,
  type IpsecAttributes,
  type Lifetime,
  type Phase1Attributes,
  type Phase2Proposal,
  type SaPayload,
} from '../wire/index.ts';
import type { EspMethod, IkeMethod } from './types.ts';

// ------------------------------------------------------------ phase 1

// IKEv1 has no AEAD IKE SA cipher (the validator refuses them with version = 1).
const ENCRYPTION: Partial<Record<IkeMethod['encryption'], { encryption: number; keyLength?: number }>> = {
  aes128: { encryption: EncryptionAlgorithm.AES_CBC, keyLength: 128 },
  aes256: { encryption: EncryptionAlgorithm.AES_CBC, keyLength: 256 },
  '3des': { encryption: EncryptionAlgorithm.TRIPLE_DES_CBC },
  des: { encryption: EncryptionAlgorithm.DES_CBC },
};

const INTEGRITY: Record<IkeMethod['integrity'], number> = {
  md5: HashAlgorithm.MD5,
  sha1: HashAlgorithm.SHA1,
  sha256: HashAlgorithm.SHA2_256,
  sha384: HashAlgorithm.SHA2_384,
  sha512: HashAlgorithm.SHA2_512,
};

/** RFC 2409 Appendix A attributes of one offered phase 1 transform (PSK authentication). */
export function phase1Transform(m: IkeMethod, lifetimeSeconds: number, authMethod: number = AuthMethod.PRE_SHARED_KEY): Phase1Attributes {
  const e = ENCRYPTION[m.encryption];
  if (e === undefined) throw new RangeError(`${m.encryption} is not an IKEv1 cipher`);
  const out: Phase1Attributes = {
    encryption: e.encryption,
    hash: INTEGRITY[m.integrity],
    group: m.dhGroup,
    authMethod,
    lifetimes: [{ type: LifeType.SECONDS, duration: lifetimeSeconds }],
    other: [],
  };
  if (e.keyLength !== undefined) out.keyLength = e.keyLength;
  return out;
}

function sameLifetimes(a: readonly Lifetime[], b: readonly Lifetime[]): boolean {
  return a.length === b.length && a.every((l, i) => l.type === b[i]?.type && l.duration === b[i]?.duration);
}

function samePhase1(a: Phase1Attributes, b: Phase1Attributes): boolean {
  return (
    a.encryption === b.encryption &&
    a.keyLength === b.keyLength &&
    a.hash === b.hash &&
    a.group === b.group &&
    a.authMethod === b.authMethod &&
    a.prf === b.prf &&
    a.other.length === 0 &&
    b.other.length === 0 &&
    sameLifetimes(a.lifetimes, b.lifetimes)
  );
}

export interface Phase1Choice {
  attributes: Phase1Attributes;
  transformNumber: number;
}

/** Why a responder accepts none of an MM1's transforms: typed for the fail path (fail.ts). */
export interface Phase1Refusal {
  refused: 'no-proposal' | 'no-auth-method';
  reason: string;
}

/**
 * Responder: the transform to accept. Authentication methods decide first, by OUR
 * precedence (`authMethods`, most preferred first); within one method the initiator's
 * order decides, as RFC 2408 §4.2 has the responder take the offer's transforms in order.
 */
export function choosePhase1(
  sa: SaPayload,
  ours: readonly IkeMethod[],
  authMethods: readonly number[] = [AuthMethod.PRE_SHARED_KEY],
): Phase1Choice | Phase1Refusal {
  const p = sa.proposals[0];
  if (sa.proposals.length !== 1 || p === undefined)
    return { refused: 'no-proposal', reason: `phase 1 SA has ${sa.proposals.length} proposals, RFC 2409 §5 allows one` };
  if (p.protocol !== ProtocolId.ISAKMP) return { refused: 'no-proposal', reason: `phase 1 proposal protocol ${p.protocol} is not ISAKMP` };
  const offered: { a: Phase1Attributes; number: number }[] = [];
  for (const t of p.transforms) {
    const a = parsePhase1Attributes(t.attributes);
    if (typeof a === 'string' || a.prf !== undefined || a.other.length > 0) continue;
    offered.push({ a, number: t.number });
  }
  const algorithmsMatch = (a: Phase1Attributes): boolean =>
    ours.some((m) => {
      const e = ENCRYPTION[m.encryption];
      if (e === undefined) return false;
      return e.encryption === a.encryption && e.keyLength === a.keyLength && INTEGRITY[m.integrity] === a.hash && m.dhGroup === a.group;
    });
  for (const method of authMethods) {
    for (const o of offered) if (o.a.authMethod === method && algorithmsMatch(o.a)) return { attributes: o.a, transformNumber: o.number };
  }
  if (offered.some((o) => algorithmsMatch(o.a))) return { refused: 'no-auth-method', reason: 'no common authentication method' };
  return { refused: 'no-proposal', reason: 'no offered phase 1 transform matches our methods' };
}

/** The distinct authentication methods a phase 1 offer names, in offer order. */
export function offeredAuthMethods(sa: SaPayload): number[] {
  const out: number[] = [];
  for (const p of sa.proposals) {
    for (const t of p.transforms) {
      const a = parsePhase1Attributes(t.attributes);
      if (typeof a !== 'string' && a.authMethod !== undefined && !out.includes(a.authMethod)) out.push(a.authMethod);
    }
  }
  return out;
}

/** Initiator: the MM2 SA must hold exactly one transform that we offered (RFC 2408 §4.2). */
export function verifyPhase1Reply(sa: SaPayload, offered: readonly Phase1Attributes[]): Phase1Attributes | string {
  const p = sa.proposals[0];
  if (sa.proposals.length !== 1 || p === undefined || p.transforms.length !== 1) return 'reply SA must carry exactly one proposal with one transform';
  if (p.protocol !== ProtocolId.ISAKMP) return 'reply proposal is not ISAKMP';
  const [t] = p.transforms;
  if (t === undefined) return 'reply SA must carry exactly one proposal with one transform';
  const a = parsePhase1Attributes(t.attributes);
  if (typeof a === 'string') return `reply transform: ${a}`;
  return offered.some((o) => samePhase1(o, a)) ? a : 'responder chose a transform we did not offer';
}

// ------------------------------------------------------------ phase 2

interface EspShape {
  id: number;
  keyLength?: number;
  auth?: number;
}

const ESP: Record<EspAlgorithm, EspShape> = {
  aes128gcm16: { id: EspTransformId.AES_GCM_16, keyLength: 128 },
  aes256gcm16: { id: EspTransformId.AES_GCM_16, keyLength: 256 },
  'aes128-sha1': { id: EspTransformId.AES_CBC, keyLength: 128, auth: 2 },
  'aes256-sha1': { id: EspTransformId.AES_CBC, keyLength: 256, auth: 2 },
  'aes128-sha256': { id: EspTransformId.AES_CBC, keyLength: 128, auth: 5 },
  'aes256-sha256': { id: EspTransformId.AES_CBC, keyLength: 256, auth: 5 },
  '3des-sha1': { id: EspTransformId.TRIPLE_DES, auth: 2 },
  chacha20poly1305: { id: EspTransformId.CHACHA20_POLY1305, keyLength: 256 },
};

export function espAlgorithmOf(id: number, a: IpsecAttributes): EspAlgorithm | null {
  for (const [name, s] of Object.entries(ESP) as [EspAlgorithm, EspShape][]) {
    if (s.id === id && s.keyLength === a.keyLength && s.auth === a.authAlgorithm) return name;
  }
  return null;
}

/** KEYMAT sizes for an ESP algorithm (RFC 4106 §8.1 salt for GCM, RFC 7634 §2 for ChaCha20-Poly1305). */
export function espKeySizes(alg: EspAlgorithm): EspKeyLengths {
  if (alg === 'chacha20poly1305') return { encKey: 32, salt: 4, integKey: 0 };
  const s = ESP[alg];
  const l = espKeyLengths(s.id, s.keyLength, s.auth);
  if (l === undefined) throw new RangeError(`no key sizes for ${alg}`);
  return l;
}

function lifetimesOf(m: Pick<EspMethod, 'lifetimeSeconds' | 'lifetimeKilobytes'>): Lifetime[] {
  return [
    { type: LifeType.SECONDS, duration: m.lifetimeSeconds },
    { type: LifeType.KILOBYTES, duration: m.lifetimeKilobytes },
  ];
}

/** Encapsulation mode: tunnel, or UDP-encapsulated tunnel behind a NAT (RFC 3947 §5.1). */
export function encapsulationMode(udp: boolean, flavour: 'rfc' | 'draft'): number {
  if (!udp) return EncapsulationMode.TUNNEL;
  return flavour === 'rfc' ? EncapsulationMode.UDP_TUNNEL : EncapsulationMode.UDP_TUNNEL_DRAFT;
}

export function espAttributes(m: EspMethod, encap: number, pfsGroup: number | null): IpsecAttributes {
  const s = ESP[m.esp];
  const a: IpsecAttributes = { encapsulationMode: encap, lifetimes: lifetimesOf(m), other: [] };
  if (s.keyLength !== undefined) a.keyLength = s.keyLength;
  if (s.auth !== undefined) a.authAlgorithm = s.auth;
  if (pfsGroup !== null) a.group = pfsGroup;
  return a;
}

/** Our quick mode offer: one ESP proposal, one transform per method. */
export function phase2Offer(spi: Buffer, methods: readonly EspMethod[], encap: number, pfsGroup: number | null): Phase2Proposal {
  return {
    protocol: ProtocolId.ESP,
    spi,
    transforms: methods.map((m) => ({ id: ESP[m.esp].id, attributes: espAttributes(m, encap, pfsGroup) })),
  };
}

export interface Phase2Choice {
  esp: EspAlgorithm;
  /** The peer's SPI from the chosen proposal. */
  peerSpi: Buffer;
  proposalNumber: number;
  transformId: number;
  attributes: IpsecAttributes;
  lifetimeSeconds: number;
  lifetimeKilobytes: number;
  /** RFC 2407 §4.6.3.1: we lowered the initiator's lifetime. */
  responderLifetime: boolean;
}

function lifetimeOf(ls: readonly Lifetime[], type: number): number | undefined {
  return ls.find((l) => l.type === type)?.duration;
}

function isUdpTunnel(mode: number | undefined): boolean {
  return mode === EncapsulationMode.UDP_TUNNEL || mode === EncapsulationMode.UDP_TUNNEL_DRAFT;
}

/** Responder: the first offered ESP transform we accept. Proposals that AND
 * several protocols (same number twice) are skipped: we only do plain ESP. */
/**
 * Responder: the first offered transform we accept. PFS: with our `pfsGroup` set the
 * offer must use that group; with none we follow the initiator (Windows: session key
 * PFS on the initiator does not require it on the responder), taking no PFS or any
 * offered group `followPfs` accepts.
 */
export function choosePhase2(
  sa: SaPayload,
  ours: readonly EspMethod[],
  pfsGroup: number | null,
  natted: boolean,
  followPfs: (group: number) => boolean = () => false,
): Phase2Choice | string {
  const counts = new Map<number, number>();
  for (const p of sa.proposals) counts.set(p.number, (counts.get(p.number) ?? 0) + 1);
  for (const p of sa.proposals) {
    if (counts.get(p.number) !== 1 || p.protocol !== ProtocolId.ESP || p.spi.length !== 4) continue;
    for (const t of p.transforms) {
      const a = parseIpsecAttributes(t.attributes);
      if (typeof a === 'string' || a.other.length > 0 || (a.esn ?? 0) !== 0) continue;
      const esp = espAlgorithmOf(t.id, a);
      const mine = ours.find((m) => m.esp === esp);
      if (esp === null || mine === undefined) continue;
      const group = a.group ?? null;
      if (pfsGroup !== null ? group !== pfsGroup : group !== null && !followPfs(group)) continue;
      // RFC 3947 §5.1: UDP-encapsulated tunnel when a NAT was detected, plain tunnel otherwise.
      if (natted ? !isUdpTunnel(a.encapsulationMode) : a.encapsulationMode !== EncapsulationMode.TUNNEL) continue;
      const secs = lifetimeOf(a.lifetimes, LifeType.SECONDS) ?? 28800; // RFC 2407 §4.5 default
      const kb = lifetimeOf(a.lifetimes, LifeType.KILOBYTES);
      const lifetimeSeconds = Math.min(secs, mine.lifetimeSeconds);
      const lifetimeKilobytes = Math.min(kb ?? Number.MAX_SAFE_INTEGER, mine.lifetimeKilobytes);
      return {
        esp,
        peerSpi: p.spi,
        proposalNumber: p.number,
        transformId: t.id,
        attributes: a,
        lifetimeSeconds,
        lifetimeKilobytes,
        responderLifetime: lifetimeSeconds < secs || (kb !== undefined && lifetimeKilobytes < kb),
      };
    }
  }
  return 'no offered ESP transform matches our security methods';
}

/** Initiator: QM2 must return one proposal with one transform out of our offer. */
export function verifyPhase2Reply(sa: SaPayload, offer: Phase2Proposal, methods: readonly EspMethod[]): Phase2Choice | string {
  const p = sa.proposals[0];
  if (sa.proposals.length !== 1 || p === undefined || p.transforms.length !== 1) return 'reply SA must carry exactly one proposal with one transform';
  if (p.protocol !== ProtocolId.ESP || p.spi.length !== 4) return 'reply proposal is not ESP with a 4-byte SPI';
  const [t] = p.transforms;
  if (t === undefined) return 'reply SA must carry exactly one proposal with one transform';
  const a = parseIpsecAttributes(t.attributes);
  if (typeof a === 'string') return `reply transform: ${a}`;
  const esp = espAlgorithmOf(t.id, a);
  const idx = methods.findIndex((m) => m.esp === esp);
  const offered = offer.transforms[idx];
  if (esp === null || offered === undefined || offered.id !== t.id) return 'responder chose a transform we did not offer';
  const o = offered.attributes;
  if (o.group !== a.group || o.encapsulationMode !== a.encapsulationMode || !sameLifetimes(o.lifetimes, a.lifetimes)) {
    return 'responder changed the attributes of our transform';
  }
  const m = methods[idx];
  if (m === undefined) return 'responder chose a transform we did not offer';
  return {
    esp,
    peerSpi: p.spi,
    proposalNumber: p.number,
    transformId: t.id,
    attributes: a,
    lifetimeSeconds: m.lifetimeSeconds,
    lifetimeKilobytes: m.lifetimeKilobytes,
    responderLifetime: false,
  };
}
