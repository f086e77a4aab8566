// A tiny reader for classic libpcap files, for tests only: it yields the UDP
// datagrams (IPv4) found in a capture, with the RFC 3948 §2.2 non-ESP marker
// stripped from IKE packets on port 4500 so callers see plain ISAKMP bytes.
//
// Supported: classic pcap (µs and ns magic, either byte order); link types
// Ethernet (1, with one optional 802.1Q tag), Linux cooked v1 (113) and v2
// (276), raw IPv4 (101, 228). Anything else (pcapng, IPv6, fragments,
// non-UDP) is skipped or rejected with an Error: this is test tooling, not
// protocol code, so throwing on an unreadable file is fine.

import { readFileSync } from 'node:fs';

export type UdpKind =
  | 'ike' // port 500, or port 4500 with the 4-byte zero non-ESP marker
  | 'esp' // port 4500, first 4 bytes non-zero: an ESP SPI (RFC 3948 §2.1)
  | 'keepalive' // port 4500, the single 0xFF byte (RFC 3948 §2.3)
  | 'udp'; // anything else

export interface UdpRecord {
  /** 1-based frame number, as tshark numbers frames. */
  frame: number;
  /** Capture time in seconds since the epoch. */
  time: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  kind: UdpKind;
  /** True when a non-ESP marker was present and stripped. */
  nonEspMarker: boolean;
  /** UDP payload, without the non-ESP marker. */
  payload: Buffer;
}

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_LINUX_SLL2 = 276;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_VLAN = 0x8100;

const NAT_T_PORT = 4500;
const IKE_PORT = 500;

interface Frame {
  frame: number;
  time: number;
  data: Buffer;
}

function readFrames(buf: Buffer): { linkType: number; frames: Frame[] } {
  if (buf.length < 24) throw new Error('pcap: file shorter than the 24-byte global header');
  const magicLE = buf.readUInt32LE(0);
  let le: boolean;
  let nanos: boolean;
  if (magicLE === 0xa1b2c3d4) [le, nanos] = [true, false];
  else if (magicLE === 0xa1b23c4d) [le, nanos] = [true, true];
  else if (buf.readUInt32BE(0) === 0xa1b2c3d4) [le, nanos] = [false, false];
  else if (buf.readUInt32BE(0) === 0xa1b23c4d) [le, nanos] = [false, true];
  else throw new Error('pcap: not a classic pcap file (pcapng is not supported)');
  const u32 = (off: number): number => (le ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
  const linkType = u32(20) & 0x0fffffff; // upper bits may carry FCS info
  const frames: Frame[] = [];
  let off = 24;
  let n = 0;
  while (off + 16 <= buf.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const inclLen = u32(off + 8);
    off += 16;
    if (off + inclLen > buf.length) throw new Error(`pcap: frame ${n + 1} truncated`);
    n += 1;
    frames.push({
      frame: n,
      time: sec + frac / (nanos ? 1e9 : 1e6),
      data: buf.subarray(off, off + inclLen),
    });
    off += inclLen;
  }
  return { linkType, frames };
}

/** Returns the IPv4 packet inside a link-layer frame, or null if it is not IPv4. */
function ipv4Of(linkType: number, d: Buffer): Buffer | null {
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      if (d.length < 14) return null;
      let type = d.readUInt16BE(12);
      let off = 14;
      if (type === ETHERTYPE_VLAN) {
        if (d.length < 18) return null;
        type = d.readUInt16BE(16);
        off = 18;
      }
      return type === ETHERTYPE_IPV4 ? d.subarray(off) : null;
    }
    case LINKTYPE_LINUX_SLL:
      // 16-byte header, protocol type in the last two bytes.
      if (d.length < 16 || d.readUInt16BE(14) !== ETHERTYPE_IPV4) return null;
      return d.subarray(16);
    case LINKTYPE_LINUX_SLL2:
      // 20-byte header, protocol type first.
      if (d.length < 20 || d.readUInt16BE(0) !== ETHERTYPE_IPV4) return null;
      return d.subarray(20);
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
      return d.length > 0 && d[0]! >> 4 === 4 ? d : null;
    default:
      throw new Error(`pcap: unsupported link type ${linkType}`);
  }
}

function ipString(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function classify(srcPort: number, dstPort: number, p: Buffer): { kind: UdpKind; marker: boolean } {
  if (srcPort === NAT_T_PORT || dstPort === NAT_T_PORT) {
    if (p.length === 1 && p[0] === 0xff) return { kind: 'keepalive', marker: false };
    if (p.length >= 4 && p.readUInt32BE(0) === 0) return { kind: 'ike', marker: true };
    return { kind: 'esp', marker: false };
  }
  if (srcPort === IKE_PORT || dstPort === IKE_PORT) return { kind: 'ike', marker: false };
  return { kind: 'udp', marker: false };
}

/** All UDP-over-IPv4 datagrams in a pcap buffer, in capture order. */
export function parsePcapUdp(buf: Buffer): UdpRecord[] {
  const { linkType, frames } = readFrames(buf);
  const out: UdpRecord[] = [];
  for (const f of frames) {
    const ip = ipv4Of(linkType, f.data);
    if (ip === null || ip.length < 20) continue;
    const ihl = (ip[0]! & 0x0f) * 4;
    if (ihl < 20 || ip.length < ihl) continue;
    if (ip[9] !== 17) continue; // not UDP
    const fragField = ip.readUInt16BE(6);
    if ((fragField & 0x3fff) !== 0) continue; // a fragment: not reassembled here
    const totalLen = Math.min(ip.readUInt16BE(2), ip.length);
    const udp = ip.subarray(ihl, totalLen);
    if (udp.length < 8) continue;
    const srcPort = udp.readUInt16BE(0);
    const dstPort = udp.readUInt16BE(2);
    const udpLen = Math.min(udp.readUInt16BE(4), udp.length);
    if (udpLen < 8) continue;
    const payload = udp.subarray(8, udpLen);
    const { kind, marker } = classify(srcPort, dstPort, payload);
    out.push({
      frame: f.frame,
      time: f.time,
      src: ipString(ip, 12),
      dst: ipString(ip, 16),
      srcPort,
      dstPort,
      kind,
      nonEspMarker: marker,
      payload: marker ? payload.subarray(4) : payload,
    });
  }
  return out;
}

/** Reads a pcap file and returns its UDP datagrams (see parsePcapUdp). */
export function readPcapUdp(file: string): UdpRecord[] {
  return parsePcapUdp(readFileSync(file));
}
