// Quick mode payload lists, RFC 2409 §5.5, NAT-OA per RFC 3947 §5.2:
//   QM1 I->R  HASH(1) SA Ni [KE] [IDci IDcr] [NAT-OAi NAT-OAr]
//   QM2 R->I  HASH(2) SA Nr [KE] [IDci IDcr] [NAT-OAi NAT-OAr]
//   QM3 I->R  HASH(3)
// HASH(1)/HASH(2) cover the encoded payloads after the HASH, so the builders
// return that "rest"; withHash() puts the computed HASH in front.

import { Doi, IdType, PayloadType, ProtocolId, Situation } from './constants.ts';
import { natOaPayloadType, withHash, type NatTFlavour } from './build-common.ts';
import { ipsecAttributeList, type IpsecAttributes } from './ipsec-attributes.ts';
import type { IdPayload, NatOaPayload, Payload, Proposal, SaPayload } from './payloads.ts';

export interface Phase2Transform {
  /** EspTransformId or AhTransformId. */
  id: number;
  attributes: IpsecAttributes;
}

/** One alternative: a protocol with our inbound SPI and its acceptable
 * transforms (numbered from 1). Alternatives get proposal numbers 1..n. */
export interface Phase2Proposal {
  protocol: typeof ProtocolId.ESP | typeof ProtocolId.AH;
  spi: Buffer;
  transforms: Phase2Transform[];
}

export function phase2Sa(proposals: readonly Phase2Proposal[]): SaPayload {
  if (proposals.length === 0) throw new RangeError('phase 2 SA needs at least one proposal');
  return {
    type: PayloadType.SA,
    doi: Doi.IPSEC,
    situation: Situation.IDENTITY_ONLY,
    proposals: proposals.map(
      (p, i): Proposal => {
        if (p.spi.length !== 4) throw new RangeError(`ESP/AH SPI must be 4 bytes, got ${p.spi.length}`);
        return {
          number: i + 1,
          protocol: p.protocol,
          spi: p.spi,
          transforms: p.transforms.map((t, j) => ({ number: j + 1, id: t.id, attributes: ipsecAttributeList(t.attributes) })),
        };
      },
    ),
  };
}

export interface QuickModeInput {
  /** QM1: the offered proposals; QM2: the single chosen one, with the responder's SPI. */
  proposals: readonly Phase2Proposal[];
  nonce: Buffer;
  /** PFS public value (RFC 2409 §5.5), when a group was proposed. */
  ke?: Buffer;
  /** Client IDs: both or neither (RFC 2409 §5.5). */
  ids?: { initiator: IdPayload; responder: IdPayload };
  /** RFC 3947 §5.2 original addresses (transport mode behind NAT). */
  natOa?: { flavour: NatTFlavour; initiator: NatOaPayload['address']; responder: NatOaPayload['address'] };
}

function natOa(flavour: NatTFlavour, address: string): NatOaPayload {
  return { type: natOaPayloadType(flavour), idType: address.includes(':') ? IdType.IPV6_ADDR : IdType.IPV4_ADDR, address };
}

/** The payloads after HASH(1) or HASH(2). */
export function quickModeRest(x: QuickModeInput): Payload[] {
  const out: Payload[] = [phase2Sa(x.proposals), { type: PayloadType.NONCE, data: x.nonce }];
  if (x.ke !== undefined) out.push({ type: PayloadType.KE, data: x.ke });
  if (x.ids !== undefined) out.push(x.ids.initiator, x.ids.responder);
  if (x.natOa !== undefined) out.push(natOa(x.natOa.flavour, x.natOa.initiator), natOa(x.natOa.flavour, x.natOa.responder));
  return out;
}

export function quickMode1(hash1: Buffer, x: QuickModeInput): Payload[] {
  return withHash(hash1, quickModeRest(x));
}

export function quickMode2(hash2: Buffer, x: QuickModeInput): Payload[] {
  if (x.proposals.length !== 1) throw new RangeError('the responder returns exactly one proposal');
  return withHash(hash2, quickModeRest(x));
}

export function quickMode3(hash3: Buffer): Payload[] {
  return withHash(hash3, []);
}
