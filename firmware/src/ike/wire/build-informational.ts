// Informational exchange payloads, RFC 2409 §5.7: HASH(1) then N or D,
// encrypted under the ISAKMP SA. Includes RFC 3706 dead peer detection.

import { Doi, NotifyType, PayloadType, ProtocolId } from './constants.ts';
import { withHash } from './build-common.ts';
import type { DeletePayload, NotifyPayload, Payload } from './payloads.ts';

export interface Cookies {
  initiatorCookie: Buffer;
  responderCookie: Buffer;
}

/** RFC 2408 §3.14/§3.15: an ISAKMP SA is named by both cookies as a 16-byte SPI. */
export function isakmpSpi(c: Cookies): Buffer {
  if (c.initiatorCookie.length !== 8 || c.responderCookie.length !== 8) throw new RangeError('cookies must be 8 bytes');
  return Buffer.concat([c.initiatorCookie, c.responderCookie]);
}

export function notify(notifyType: number, protocol: number, spi: Buffer, data: Buffer = Buffer.alloc(0)): NotifyPayload {
  return { type: PayloadType.NOTIFY, doi: Doi.IPSEC, protocol, spi, notifyType, data };
}

export type DpdKind = 'r-u-there' | 'r-u-there-ack';

/** RFC 3706 §5: protocol ISAKMP, SPI = CKY-I|CKY-R, data = 32-bit sequence number. */
export function dpdNotify(kind: DpdKind, cookies: Cookies, sequence: number): NotifyPayload {
  if (!Number.isInteger(sequence) || sequence < 0 || sequence > 0xffffffff) throw new RangeError(`DPD sequence ${sequence} out of range`);
  const data = Buffer.alloc(4);
  data.writeUInt32BE(sequence);
  return notify(kind === 'r-u-there' ? NotifyType.DPD_R_U_THERE : NotifyType.DPD_R_U_THERE_ACK, ProtocolId.ISAKMP, isakmpSpi(cookies), data);
}

/** Reads a DPD notify; null if `n` is not a well-formed RFC 3706 message. */
export function parseDpd(n: NotifyPayload): { kind: DpdKind; sequence: number; spi: Buffer } | null {
  const kind = n.notifyType === NotifyType.DPD_R_U_THERE ? 'r-u-there' : n.notifyType === NotifyType.DPD_R_U_THERE_ACK ? 'r-u-there-ack' : null;
  if (kind === null || n.protocol !== ProtocolId.ISAKMP || n.spi.length !== 16 || n.data.length !== 4) return null;
  return { kind, sequence: n.data.readUInt32BE(0), spi: n.spi };
}

/** Delete of the ISAKMP SA itself. */
export function deleteIsakmp(cookies: Cookies): DeletePayload {
  return { type: PayloadType.DELETE, doi: Doi.IPSEC, protocol: ProtocolId.ISAKMP, spiSize: 16, spis: [isakmpSpi(cookies)] };
}

/** Delete of IPsec SAs by their 4-byte (inbound) SPIs. */
export function deleteIpsec(protocol: typeof ProtocolId.ESP | typeof ProtocolId.AH, spis: readonly Buffer[]): DeletePayload {
  for (const s of spis) if (s.length !== 4) throw new RangeError('IPsec SPIs are 4 bytes');
  return { type: PayloadType.DELETE, doi: Doi.IPSEC, protocol, spiSize: 4, spis: [...spis] };
}

/** The payload list of an informational message: [HASH(1), N or D...]. */
export function informational(hash1: Buffer, rest: readonly (NotifyPayload | DeletePayload)[]): Payload[] {
  if (rest.length === 0) throw new RangeError('informational message needs a notify or delete payload');
  return withHash(hash1, rest);
}
