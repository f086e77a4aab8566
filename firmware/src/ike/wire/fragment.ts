// Proprietary IKEv1 fragmentation (Cisco "IKE fragmentation", also in
// strongSwan, Libreswan, racoon and Windows; there is no RFC for IKEv1, RFC 7383
// is the unrelated IKEv2 mechanism). Support is announced with the vendor ID
// MD5("FRAGMENTATION") (vendor-ids.ts). A fragment is an ISAKMP message whose
// header has next payload 132 and which carries exactly one fragment payload:
//
//   28 ISAKMP header: cookies of the SA; next payload 132; exchange type 2
//      (identity protection) and message ID 0 whatever the fragmented message
//      was; flags 0 (the fragment itself is not encrypted)
//   28 next payload (1) = 0 | RESERVED (1) = 0 | payload length (2), header incl.
//   32 fragment ID (2) | fragment number (1), from 1 | flags (1), 0x01 = last
//   36 fragment data
//
// The fragments' data, concatenated in number order, is the complete original
// datagram: its ISAKMP header included, and still encrypted when the original
// was. Verified in the strongSwan sources (strongswan/strongswan,
// src/libcharon/encoding/payloads/fragment_payload.c for the layout;
// src/libcharon/encoding/message.c fragment()/create_fragment(): the data split
// is the generated packet, header included, and fragments get message ID 0 and
// exchange type ID_PROT; src/libcharon/sa/ikev1/tasks/isakmp_vendor.c for the
// vendor ID). strongSwan numbers every fragmented message with fragment ID 1.

import { ExchangeType, FRAGMENT_PAYLOAD_TYPE, HEADER_LENGTH, NotifyType } from './constants.ts';
import { readGenericHeader, writeGenericHeader } from './generic-header.ts';
import { decodeHeader, writeHeader } from './header.ts';
import { fail, ok, type WireResult } from './result.ts';

/** Generic header (4) + fragment ID (2) + number (1) + flags (1). */
export const FRAGMENT_PAYLOAD_HEADER = 8;
/** Fragment header overhead in every fragment datagram: ISAKMP header + payload header. */
export const FRAGMENT_OVERHEAD = HEADER_LENGTH + FRAGMENT_PAYLOAD_HEADER;
/** The fragment number is one byte; we (like strongSwan's reassembly limit) accept at most 16. */
export const MAX_FRAGMENTS = 16;
export const FRAGMENT_FLAG_LAST = 0x01;

export interface IkeFragment {
  initiatorCookie: Buffer;
  responderCookie: Buffer;
  exchangeType: number;
  messageId: number;
  fragmentId: number;
  /** 1..MAX_FRAGMENTS. */
  number: number;
  last: boolean;
  data: Buffer;
}

/** Whether a datagram (non-ESP marker already stripped) is a fragment message:
 * looks at the header's next payload only; decodeFragment() validates. */
export function isFragmentMessage(buf: Buffer): boolean {
  return buf.length >= HEADER_LENGTH && buf[16] === FRAGMENT_PAYLOAD_TYPE;
}

/** Decodes one fragment message. Never throws. */
export function decodeFragment(buf: Buffer): WireResult<IkeFragment> {
  const h = decodeHeader(buf);
  if (!h.ok) return h;
  const header = h.value;
  if (header.nextPayload !== FRAGMENT_PAYLOAD_TYPE) {
    return fail(`next payload ${header.nextPayload} is not a fragment (${FRAGMENT_PAYLOAD_TYPE})`, 16, NotifyType.INVALID_PAYLOAD_TYPE);
  }
  // racoon sets the E flag on fragments although they are not encrypted
  // (strongSwan's message.c parse_header ignores it there too): flags are not checked.
  const g = readGenericHeader(buf, HEADER_LENGTH, 0, 'fragment payload', FRAGMENT_PAYLOAD_HEADER);
  if (!g.ok) return g;
  if (g.value.next !== 0) {
    return fail(`fragment payload has next payload ${g.value.next}; it must be the only payload`, HEADER_LENGTH, NotifyType.INVALID_PAYLOAD_TYPE);
  }
  if (g.value.length !== buf.length - HEADER_LENGTH) {
    return fail(
      `fragment payload length ${g.value.length} but ${buf.length - HEADER_LENGTH} bytes follow the header`,
      HEADER_LENGTH + 2,
      NotifyType.UNEQUAL_PAYLOAD_LENGTHS,
    );
  }
  const number = buf[HEADER_LENGTH + 6]!;
  if (number === 0) return fail('fragment number 0 (numbers start at 1)', HEADER_LENGTH + 6, NotifyType.PAYLOAD_MALFORMED);
  if (number > MAX_FRAGMENTS)
    return fail(`fragment number ${number} above the limit of ${MAX_FRAGMENTS}`, HEADER_LENGTH + 6, NotifyType.PAYLOAD_MALFORMED);
  const flags = buf[HEADER_LENGTH + 7]!;
  const data = buf.subarray(HEADER_LENGTH + FRAGMENT_PAYLOAD_HEADER);
  if (data.length === 0) return fail('fragment without data', HEADER_LENGTH + FRAGMENT_PAYLOAD_HEADER, NotifyType.PAYLOAD_MALFORMED);
  return ok({
    initiatorCookie: header.initiatorCookie,
    responderCookie: header.responderCookie,
    exchangeType: header.exchangeType,
    messageId: header.messageId,
    fragmentId: buf.readUInt16BE(HEADER_LENGTH + 4),
    number,
    last: (flags & FRAGMENT_FLAG_LAST) !== 0,
    data: Buffer.from(data),
  });
}

/**
 * Splits a complete ISAKMP datagram into fragment messages of at most
 * `maxDatagram` bytes each (UDP payload, i.e. without IP/UDP headers and the
 * RFC 3948 non-ESP marker, which the caller subtracts). Throws RangeError on
 * caller bugs: not an ISAKMP message, room for no data, or more than
 * MAX_FRAGMENTS fragments needed.
 */
export function encodeFragments(message: Buffer, fragmentId: number, maxDatagram: number): Buffer[] {
  if (message.length < HEADER_LENGTH) throw new RangeError(`message of ${message.length} bytes has no ISAKMP header`);
  if (!Number.isInteger(fragmentId) || fragmentId < 0 || fragmentId > 0xffff) throw new RangeError(`fragment ID ${fragmentId} out of range`);
  const room = maxDatagram - FRAGMENT_OVERHEAD;
  if (!Number.isInteger(room) || room < 1) throw new RangeError(`datagram limit ${maxDatagram} leaves no room for fragment data`);
  const count = Math.ceil(message.length / room);
  if (count > MAX_FRAGMENTS) throw new RangeError(`${message.length} bytes need ${count} fragments, more than ${MAX_FRAGMENTS}`);
  const header = {
    initiatorCookie: message.subarray(0, 8),
    responderCookie: message.subarray(8, 16),
    exchangeType: ExchangeType.MAIN,
    flags: 0,
    messageId: 0,
  };
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const data = message.subarray(i * room, Math.min(message.length, (i + 1) * room));
    const buf = Buffer.alloc(FRAGMENT_OVERHEAD + data.length);
    writeHeader(buf, header, FRAGMENT_PAYLOAD_TYPE, buf.length);
    writeGenericHeader(buf, HEADER_LENGTH, 0, FRAGMENT_PAYLOAD_HEADER + data.length);
    buf.writeUInt16BE(fragmentId, HEADER_LENGTH + 4);
    buf.writeUInt8(i + 1, HEADER_LENGTH + 6);
    buf.writeUInt8(i === count - 1 ? FRAGMENT_FLAG_LAST : 0, HEADER_LENGTH + 7);
    data.copy(buf, FRAGMENT_OVERHEAD);
    out.push(buf);
  }
  return out;
}
