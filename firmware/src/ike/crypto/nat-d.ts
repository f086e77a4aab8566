// NAT discovery hash, RFC 3947 §3.2:
//   HASH = HASH(CKY-I | CKY-R | IP | Port)
// with the negotiated hash (not the PRF), IP as 4 (IPv4) or 16 (IPv6)
// octets in network order, Port as 2 octets in network order.
// The sender puts the hash of the remote (destination) address first, then
// one for each of its own local addresses.

import { ipBytes } from '../../base/ip-text.ts';
import type { HashAlgorithm } from './hash.ts';

export function ipToBytes(ip: string): Buffer {
  const bytes = ipBytes(ip);
  if (bytes === null) throw new RangeError(`not an IP address: ${ip}`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function natDetectionHash(
  hash: HashAlgorithm,
  ckyI: Uint8Array,
  ckyR: Uint8Array,
  ip: string,
  port: number,
): Buffer {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError('port out of range');
  const p = Buffer.alloc(2);
  p.writeUInt16BE(port, 0);
  return hash.hash(ckyI, ckyR, ipToBytes(ip), p);
}
