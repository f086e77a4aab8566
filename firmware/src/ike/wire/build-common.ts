// Shared pieces of the message builders: the NAT-T numbering a peer chose,
// ID payloads (including quick mode traffic selectors from CIDR text), and
// prepending the HASH payload once the caller's crypto has computed it over
// the rest of the message.

import { IdType, PayloadType } from './constants.ts';
import { EncapsulationMode } from './ipsec-attributes.ts';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../common/ip-address.ts';
import type { HashPayload, IdPayload, Identity, Payload } from './payloads.ts';

/** RFC 3947 numbering ('rfc': payloads 20/21, modes 3/4) or the draft's
 * (130/131, 61443/61444), as chosen from the peer's vendor IDs. */
export type NatTFlavour = 'rfc' | 'draft';

export function natDPayloadType(f: NatTFlavour): typeof PayloadType.NAT_D | typeof PayloadType.NAT_D_DRAFT {
  return f === 'rfc' ? PayloadType.NAT_D : PayloadType.NAT_D_DRAFT;
}

export function natOaPayloadType(f: NatTFlavour): typeof PayloadType.NAT_OA | typeof PayloadType.NAT_OA_DRAFT {
  return f === 'rfc' ? PayloadType.NAT_OA : PayloadType.NAT_OA_DRAFT;
}

/** RFC 3947 §5.1 encapsulation mode for ESP behind a NAT. */
export function udpEncapsulationMode(f: NatTFlavour, tunnel: boolean): number {
  if (f === 'rfc') return tunnel ? EncapsulationMode.UDP_TUNNEL : EncapsulationMode.UDP_TRANSPORT;
  return tunnel ? EncapsulationMode.UDP_TUNNEL_DRAFT : EncapsulationMode.UDP_TRANSPORT_DRAFT;
}

export function idPayload(id: Identity, protocol = 0, port = 0): IdPayload {
  return { type: PayloadType.ID, protocol, port, id };
}

function prefixMask(bits: number, bytes: number): Buffer {
  const m = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) m[i] = bits >= (i + 1) * 8 ? 0xff : bits > i * 8 ? (0xff << (8 - (bits - i * 8))) & 0xff : 0;
  return m;
}

/** A quick mode traffic selector (RFC 2407 §4.6.2.2..) from "a.b.c.d/len",
 * "x::/len" or a bare address (a host ID). Throws RangeError on bad text or
 * host bits set under the mask (a config bug the caller should catch first). */
export function trafficSelector(cidr: string, protocol = 0, port = 0): IdPayload {
  const [addr = '', lenText] = cidr.split('/');
  const v4 = parseIpv4(addr);
  const v6 = v4 === null ? parseIpv6(addr) : null;
  const bytes = v4 ?? v6;
  if (bytes === null) throw new RangeError(`invalid address in "${cidr}"`);
  if (lenText === undefined) {
    return idPayload(
      v4 !== null ? { idType: IdType.IPV4_ADDR, address: formatIpv4(bytes) } : { idType: IdType.IPV6_ADDR, address: formatIpv6(bytes) },
      protocol,
      port,
    );
  }
  const len = /^\d{1,3}$/.test(lenText) ? Number(lenText) : -1;
  if (len < 0 || len > bytes.length * 8) throw new RangeError(`invalid prefix length in "${cidr}"`);
  const mask = prefixMask(len, bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i]! & ~mask[i]!) !== 0) throw new RangeError(`"${cidr}" has host bits set`);
  }
  return idPayload(
    v4 !== null
      ? { idType: IdType.IPV4_ADDR_SUBNET, address: formatIpv4(bytes), mask: formatIpv4(mask) }
      : { idType: IdType.IPV6_ADDR_SUBNET, address: formatIpv6(bytes), mask: formatIpv6(mask) },
    protocol,
    port,
  );
}

/** [HASH, ...rest]: quick mode and informational messages start with a HASH
 * computed over the encoded `rest` (RFC 2409 §5.5, §5.7). */
export function withHash(hash: Buffer, rest: readonly Payload[]): Payload[] {
  const h: HashPayload = { type: PayloadType.HASH, data: hash };
  return [h, ...rest];
}
