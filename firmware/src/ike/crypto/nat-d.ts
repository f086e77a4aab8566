// NAT discovery hash, RFC 3947 §3.2:
//   HASH = HASH(CKY-I | CKY-R | IP | Port)
// with the negotiated hash (not the PRF), IP as 4 (IPv4) or 16 (IPv6)
// octets in network order, Port as 2 octets in network order.
// The sender puts the hash of the remote (destination) address first, then
// one for each of its own local addresses.

import { isIPv4Text, isIPv6Text } from '../../base/ip-text.ts';
import type { HashAlgorithm } from './hash.ts';

export function ipToBytes(ip: string): Buffer {
  if (isIPv4Text(ip)) return Buffer.from(ip.split('.').map((o) => Number(o)));
  if (isIPv6Text(ip)) return ipv6ToBytes(ip);
  throw new RangeError(`not an IP address: ${ip}`);
}

function ipv6ToBytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  let s = ip;
  // IPv4-embedded tail (::ffff:1.2.3.4): convert to two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4?.[1]) {
    const b = ipToBytes(v4[1]);
    s = s.slice(0, s.length - v4[1].length) + b.readUInt16BE(0).toString(16) + ':' + b.readUInt16BE(2).toString(16);
  }
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
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
