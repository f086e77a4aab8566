// IKE SA and child SA proposals (RFC 7296 §3.3) from the peer's policy, and
// the responder's choice. The configuration's IKE methods (encryption,
// integrity, DH group) become one IKEv2 proposal each, the PRF being the
// HMAC of the integrity hash (what strongSwan derives for "aes256-sha256-
// modp2048"). ESP methods map onto the same IANA transform IDs as in IKEv1.

import { dhGroupById } from '../../crypto/dh.ts';
import type { EspAlgorithm } from '../../../dataplane/types.ts';
import type { IkeMethod, PeerPolicy, TunnelPolicy } from '../../exchange/types.ts';
import { ikeMethodName } from '../../exchange/proposal-names.ts';
import { encrById, integById, prfById } from '../crypto/transforms.ts';
import { EncrId, EsnId, IntegId, PrfId, ProtocolId, TransformType } from '../wire/constants.ts';
import type { Proposal, Transform } from '../wire/payloads.ts';
import type { IkeSuite } from './state.ts';
import { ADDKE_TYPES, acceptAddKe, addKeTransforms, addKeUsable, chooseAddKe, chosenAddKe, isAddKeType } from './addke-proposals.ts';

const INTEG_OF: Partial<Record<IkeMethod['integrity'], { integ: number; prf: number }>> = {
  sha1: { integ: IntegId.HMAC_SHA1_96, prf: PrfId.HMAC_SHA1 },
  sha256: { integ: IntegId.HMAC_SHA2_256_128, prf: PrfId.HMAC_SHA2_256 },
  sha384: { integ: IntegId.HMAC_SHA2_384_192, prf: PrfId.HMAC_SHA2_384 },
  sha512: { integ: IntegId.HMAC_SHA2_512_256, prf: PrfId.HMAC_SHA2_512 },
};
const AES_BITS: Partial<Record<IkeMethod['encryption'], number>> = { aes128: 128, aes256: 256 };
/** RFC 5282 / RFC 7634 AEAD ciphers: no integrity transform, the configured hash names the PRF. */
const AEAD: Partial<Record<IkeMethod['encryption'], Transform>> = {
  aes128gcm16: { type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 128 },
  aes256gcm16: { type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 256 },
  chacha20poly1305: { type: TransformType.ENCR, id: EncrId.CHACHA20_POLY1305 },
};

/**
 * The IKEv2 transforms of one configured method, or null when IKEv2 has no
 * such suite here (3DES, DES, MD5). With `addKe` its RFC 9370 ADDKE transforms
 * follow, in IKE_SA_INIT and in an IKE SA rekey alike (there they run in
 * IKE_FOLLOWUP_KE, RFC 9370 §2.2.2, followup-ke.ts).
 */
export function ikeTransforms(m: IkeMethod, addKe = true): Transform[] | null {
  const integ = INTEG_OF[m.integrity];
  if (integ === undefined || dhGroupById(m.dhGroup) === undefined || !addKeUsable(m)) return null;
  const extra = addKe ? addKeTransforms(m) : [];
  const aead = AEAD[m.encryption];
  // RFC 7296 §3.3.3 with RFC 5282 §8: an AEAD proposal lists ENCR, PRF and D-H, and no INTEG.
  if (aead !== undefined) return [aead, { type: TransformType.PRF, id: integ.prf }, { type: TransformType.DH, id: m.dhGroup }, ...extra];
  const bits = AES_BITS[m.encryption];
  if (bits === undefined) return null;
  return [
    { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: bits },
    { type: TransformType.PRF, id: integ.prf },
    { type: TransformType.INTEG, id: integ.integ },
    { type: TransformType.DH, id: m.dhGroup },
    ...extra,
  ];
}

export { ikeMethodName };

/** The configured methods IKEv2 can offer (weak DH groups only when the peer allows weak algorithms). */
export function usableIkeMethods(peer: PeerPolicy): IkeMethod[] {
  return peer.ikeMethods.filter((m) => ikeTransforms(m) !== null && (peer.allowWeak || !dhGroupById(m.dhGroup)!.weak));
}

/** Our IKE SA offer, one proposal per method, numbered from 1 (§3.3.1), with the ADDKE transforms unless `addKe` is false. */
export function ikeOffer(methods: readonly IkeMethod[], spi: Buffer = Buffer.alloc(0), addKe = true): Proposal[] {
  return methods.map((m, i) => ({ number: i + 1, protocol: ProtocolId.IKE, spi, transforms: ikeTransforms(m, addKe)! }));
}

/** The suite of a method; `chosen` (the agreed proposal's transforms) names the additional key exchanges that run. */
export function suiteOf(m: IkeMethod, chosen: readonly Transform[] = []): IkeSuite {
  const t = ikeTransforms(m, false);
  if (t === null) throw new RangeError(`no IKEv2 suite for ${ikeMethodName(m)}`);
  const of = (type: number): Transform | undefined => t.find((x) => x.type === type);
  const integ = of(TransformType.INTEG);
  const addKe = chosenAddKe(chosen);
  return {
    encr: encrById(t[0]!.id, t[0]!.keyLength)!,
    prf: prfById(t[1]!.id)!,
    integ: integ === undefined ? undefined : integById(integ.id)!,
    group: m.dhGroup,
    addKe,
    name: ikeMethodName({ ...m, addKe: addKe.map((k) => ({ slot: k.slot, ids: [k.id] })) }),
  };
}

/** A proposal offers a transform when it lists it (§3.3.6: a type's transforms are alternatives). */
function offers(p: Proposal, t: Transform): boolean {
  return p.transforms.some((o) => o.type === t.type && o.id === t.id && o.keyLength === t.keyLength);
}

/** Every transform type the proposal mentions must be one our choice covers. */
function coversTypes(p: Proposal, chosen: readonly Transform[], ignore: readonly number[] = []): boolean {
  return p.transforms.every((o) => ignore.includes(o.type) || chosen.some((c) => c.type === o.type));
}

export interface IkeChoice {
  method: IkeMethod;
  proposal: Proposal;
}

/**
 * Responder's IKE SA choice: our methods in our order of preference, the
 * first the peer offers in any of its proposals. The answer carries one
 * transform per type and the peer's proposal number (§3.3.6).
 */
export function chooseIke(peer: PeerPolicy, offered: readonly Proposal[], addKe = true): IkeChoice | null {
  for (const m of usableIkeMethods(peer)) {
    const want = ikeTransforms(m, false)!;
    for (const p of offered) {
      if (p.protocol !== ProtocolId.IKE || (p.spi.length !== 0 && p.spi.length !== 8)) continue;
      if (!want.every((t) => offers(p, t)) || !coversTypes(p, want, ADDKE_TYPES)) continue;
      // RFC 9370 §2.2.1: one transform per ADDKE type the peer proposed. With addKe false none is
      // agreed: only a proposal whose every ADDKE type offers NONE is acceptable then (answered NONE).
      const extra = chooseAddKe(addKe ? m : { ...m, addKe: [] }, p.transforms);
      if (extra === null) continue;
      return { method: m, proposal: { number: p.number, protocol: ProtocolId.IKE, spi: p.spi, transforms: [...want, ...extra] } };
    }
  }
  return null;
}

/** The group a responder should ask for with INVALID_KE_PAYLOAD: that of its preferred acceptable method. */
export function preferredGroup(peer: PeerPolicy, offered: readonly Proposal[]): number | null {
  return chooseIke(peer, offered)?.method.dhGroup ?? null;
}

/** Initiator's check of the responder's answer: exactly one proposal, one of ours, one transform per type. */
export function acceptIkeAnswer(offered: readonly IkeMethod[], answer: readonly Proposal[], addKe = true): IkeMethod | null {
  if (answer.length !== 1) return null;
  const p = answer[0]!;
  const m = offered[p.number - 1];
  if (m === undefined || p.protocol !== ProtocolId.IKE) return null;
  const want = ikeTransforms(m, false)!;
  const base = p.transforms.filter((t) => !isAddKeType(t.type));
  const extraOk = addKe ? acceptAddKe(m, p.transforms) : base.length === p.transforms.length;
  return base.length === want.length && want.every((t) => offers({ ...p, transforms: base }, t)) && extraOk ? m : null;
}

// ------------------------------------------------------------ child SAs (ESP)

const ESP: Record<EspAlgorithm, Transform[]> = {
  aes128gcm16: [{ type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 128 }],
  aes256gcm16: [{ type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 256 }],
  'aes128-sha1': [{ type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 128 }, { type: TransformType.INTEG, id: IntegId.HMAC_SHA1_96 }],
  'aes256-sha1': [{ type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 256 }, { type: TransformType.INTEG, id: IntegId.HMAC_SHA1_96 }],
  'aes128-sha256': [{ type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 128 }, { type: TransformType.INTEG, id: IntegId.HMAC_SHA2_256_128 }],
  'aes256-sha256': [{ type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 256 }, { type: TransformType.INTEG, id: IntegId.HMAC_SHA2_256_128 }],
  '3des-sha1': [{ type: TransformType.ENCR, id: EncrId.TRIPLE_DES }, { type: TransformType.INTEG, id: IntegId.HMAC_SHA1_96 }],
  chacha20poly1305: [{ type: TransformType.ENCR, id: EncrId.CHACHA20_POLY1305 }],
};

/**
 * §3.3.2: every ESP proposal carries the Extended Sequence Numbers transform.
 * The tunnel's `esn` setting says which we offer/accept, in order of
 * preference: "either" offers ESN first and takes NO_ESN too (what strongSwan
 * writes as "-esn-noesn"); absent means 32-bit sequence numbers only.
 */
function esnChoices(tunnel: TunnelPolicy): number[] {
  const mode = tunnel.esn ?? 'no';
  return mode === 'yes' ? [EsnId.ESN] : mode === 'either' ? [EsnId.ESN, EsnId.NO_ESN] : [EsnId.NO_ESN];
}

const esnTransform = (id: number): Transform => ({ type: TransformType.ESN, id });

function espTransforms(alg: EspAlgorithm, pfsGroup: number | null, esn: readonly number[]): Transform[] {
  return [...ESP[alg], ...(pfsGroup === null ? [] : [{ type: TransformType.DH, id: pfsGroup }]), ...esn.map(esnTransform)];
}

export function spiBytes(spi: number): Buffer {
  const s = Buffer.alloc(4);
  s.writeUInt32BE(spi >>> 0, 0);
  return s;
}

/**
 * Our child SA offer: one proposal per ESP method; DH only with `pfsGroup` (CREATE_CHILD_SA,
 * §1.3.1), and then the tunnel's RFC 9370 ADDKE transforms too (run in IKE_FOLLOWUP_KE, §2.2.2).
 */
export function espOffer(tunnel: TunnelPolicy, spi: number, pfsGroup: number | null): Proposal[] {
  const esn = esnChoices(tunnel);
  const extra = pfsGroup === null ? [] : addKeTransforms(tunnel);
  return tunnel.methods.map((m, i) => ({
    number: i + 1,
    protocol: ProtocolId.ESP,
    spi: spiBytes(spi),
    transforms: [...espTransforms(m.esp, pfsGroup, esn), ...extra],
  }));
}

export interface EspChoice {
  algorithm: EspAlgorithm;
  /** The peer's SPI (what we send with). */
  peerSpi: number;
  /** 64-bit extended sequence numbers were agreed (RFC 4303 §2.2.1). */
  esn: boolean;
  proposal: Proposal;
}

/**
 * Responder's child SA choice. IKE_AUTH has no KE (§1.2), so DH and ADDKE
 * transforms in its offer are ignored; in CREATE_CHILD_SA the group must be
 * ours, and one transform per ADDKE type offered is picked as for the IKE SA
 * (RFC 9370 §2.2.1). The ESN transform is picked in our order of preference.
 */
export function chooseEsp(tunnel: TunnelPolicy, offered: readonly Proposal[], ourSpi: number, inIkeAuth: boolean): EspChoice | null {
  const pfs = inIkeAuth ? null : tunnel.pfsGroup;
  const esnPrefs = esnChoices(tunnel);
  for (const m of tunnel.methods) {
    for (const esn of esnPrefs) {
      const want = espTransforms(m.esp, pfs, [esn]);
      for (const p of offered) {
        if (p.protocol !== ProtocolId.ESP || p.spi.length !== 4) continue;
        if (!want.every((t) => offers(p, t)) || !coversTypes(p, want, inIkeAuth ? [TransformType.DH, ...ADDKE_TYPES] : ADDKE_TYPES)) continue;
        const extra = inIkeAuth ? [] : chooseAddKe(tunnel, p.transforms);
        if (extra === null) continue;
        return {
          algorithm: m.esp,
          peerSpi: p.spi.readUInt32BE(0),
          esn: esn === EsnId.ESN,
          proposal: { number: p.number, protocol: ProtocolId.ESP, spi: spiBytes(ourSpi), transforms: [...want, ...extra] },
        };
      }
    }
  }
  return null;
}

/**
 * Initiator's check of the child SA answer against what we offered (§3.3.6):
 * one proposal, one of ours, exactly one transform of each type we offered,
 * each of them one we offered.
 */
export function acceptEspAnswer(tunnel: TunnelPolicy, offered: readonly Proposal[], answer: readonly Proposal[]): EspChoice | null {
  if (answer.length !== 1) return null;
  const p = answer[0]!;
  const ours = offered.find((o) => o.number === p.number);
  const m = tunnel.methods[p.number - 1];
  if (!ours || !m || p.spi.length !== 4 || p.protocol !== ProtocolId.ESP) return null;
  // The ADDKE part by RFC 9370 §2.2.1 (one per type, absent = NONE), the rest one transform per type we offered.
  const base = p.transforms.filter((t) => !isAddKeType(t.type));
  const types = new Set(ours.transforms.filter((t) => !isAddKeType(t.type)).map((t) => t.type));
  if (base.length !== types.size || new Set(base.map((t) => t.type)).size !== types.size) return null;
  if (!base.every((t) => offers(ours, t))) return null;
  const offeredAddKe = ours.transforms.some((t) => isAddKeType(t.type));
  if (offeredAddKe ? !acceptAddKe(tunnel, p.transforms) : base.length !== p.transforms.length) return null;
  const esn = p.transforms.find((t) => t.type === TransformType.ESN);
  return { algorithm: m.esp, peerSpi: p.spi.readUInt32BE(0), esn: esn?.id === EsnId.ESN, proposal: p };
}
