// The test pcap reader (test/lib/pcap.ts) on the real capture and on
// synthetic files for the other link types and byte orders.

import { fixture } from '../lib/paths.ts';
import t from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePcapUdp, readPcapUdp } from '../lib/pcap.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pcapFile = fixture('pcaps', 'ikev1-main-quick-natt.pcap');

t.test('strongSwan IKEv1 capture', { skip: existsSync(pcapFile) ? false : `SKIPPED: ${pcapFile} not found` }, async (t) => {
  const recs = readPcapUdp(pcapFile);
  t.equal(recs.length, 15);
  t.same(recs.map((r) => r.frame), Array.from({ length: 15 }, (_, i) => i + 1));
  t.same(recs.map((r) => r.kind), [...Array<string>(9).fill('ike'), ...Array<string>(6).fill('esp')]);
  t.same(recs.map((r) => r.nonEspMarker), [false, false, false, false, true, true, true, true, true, ...Array<boolean>(6).fill(false)]);
  t.same(recs.slice(0, 4).map((r) => [r.srcPort, r.dstPort]), Array(4).fill([500, 500]));
  t.same([recs[0]!.src, recs[0]!.dst], ['198.51.100.1', '198.51.100.2']);
  // The non-ESP marker is gone: an IKE message starts with the initiator cookie.
  t.equal(recs[4]!.payload.subarray(0, 8).toString('hex'), recs[0]!.payload.subarray(0, 8).toString('hex'));
  t.equal(recs[4]!.payload.readUInt32BE(24), recs[4]!.payload.length, 'ISAKMP length matches the stripped payload');
  t.equal(recs[9]!.payload.readUInt32BE(0), 0x1488fa5e, 'ESP SPI as tshark shows it');
  t.ok(recs[14]!.time > recs[0]!.time);
});

function udpIpv4(sport: number, dport: number, payload: Buffer): Buffer {
  const ip = Buffer.alloc(20 + 8 + payload.length);
  ip[0] = 0x45;
  ip.writeUInt16BE(ip.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from([127, 0, 0, 1]).copy(ip, 12);
  Buffer.from([127, 0, 0, 2]).copy(ip, 16);
  ip.writeUInt16BE(sport, 20);
  ip.writeUInt16BE(dport, 22);
  ip.writeUInt16BE(8 + payload.length, 24);
  payload.copy(ip, 28);
  return ip;
}

function pcap(linkType: number, frames: Buffer[], bigEndian = false, nanos = false): Buffer {
  const g = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, o: number): number => (bigEndian ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  w32(g, nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w32(g, 65535, 16);
  w32(g, linkType, 20);
  const parts: Buffer[] = [g];
  frames.forEach((f, i) => {
    const h = Buffer.alloc(16);
    w32(h, 1000 + i, 0);
    w32(h, 500, 4);
    w32(h, f.length, 8);
    w32(h, f.length, 12);
    parts.push(h, f);
  });
  return Buffer.concat(parts);
}

t.test('link types, byte orders, marker handling', async (t) => {
  const ikeOn4500 = Buffer.concat([Buffer.alloc(4), Buffer.from('0102030405060708', 'hex')]);
  const ip = udpIpv4(4500, 4500, ikeOn4500);
  const eth = Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x00]), ip]);
  const vlan = Buffer.concat([Buffer.alloc(12), Buffer.from([0x81, 0x00, 0x00, 0x05, 0x08, 0x00]), ip]);
  const sll = Buffer.concat([Buffer.alloc(14), Buffer.from([0x08, 0x00]), ip]);
  const sll2 = Buffer.concat([Buffer.from([0x08, 0x00]), Buffer.alloc(18), ip]);
  const cases: [string, Buffer][] = [
    ['ethernet LE', pcap(1, [eth])],
    ['ethernet BE ns', pcap(1, [eth], true, true)],
    ['802.1Q', pcap(1, [vlan])],
    ['linux cooked', pcap(113, [sll])],
    ['linux cooked v2', pcap(276, [sll2])],
    ['raw', pcap(101, [ip])],
    ['ipv4', pcap(228, [ip])],
  ];
  for (const [name, file] of cases) {
    const r = parsePcapUdp(file);
    t.equal(r.length, 1, name);
    t.equal(r[0]?.kind, 'ike', name);
    t.equal(r[0]?.nonEspMarker, true, name);
    t.equal(r[0]?.payload.toString('hex'), '0102030405060708', name);
  }
  const ns = parsePcapUdp(pcap(1, [eth], false, true));
  t.equal(ns[0]?.time, 1000 + 500e-9, 'nanosecond timestamps');
  const mixed = parsePcapUdp(
    pcap(101, [
      udpIpv4(4500, 4500, Buffer.from([0xff])),
      udpIpv4(4500, 4500, Buffer.from('0000000100000001', 'hex')),
      udpIpv4(500, 500, Buffer.from('aabb', 'hex')),
      udpIpv4(53, 53, Buffer.from('00', 'hex')),
    ]),
  );
  t.same(mixed.map((r) => r.kind), ['keepalive', 'esp', 'ike', 'udp']);
  t.throws(() => parsePcapUdp(Buffer.from('0a0d0d0a000000000000000000000000000000000000000000', 'hex')), /not a classic pcap/);
  t.throws(() => parsePcapUdp(pcap(1, [eth]).subarray(0, 50)), /truncated/);
});
