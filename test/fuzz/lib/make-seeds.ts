// Writes the seed corpora test/fuzz/corpus/<target>/ (node scripts/fuzz.mjs
// --make-seeds): real strongSwan datagrams from the golden capture, messages
// from the project's builders (the unit-test vectors), certificates and CRLs
// made with the openssl tool, the example configuration, and authentic ESP
// packets and TCP trains for the C harnesses. Deterministic where the inputs
// are; the certificates differ per run (fresh keys, none kept).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readPcapUdp } from '../../lib/pcap.ts';
import { saHeavy, synthetic } from '../../lib/ike-seeds.ts';
import { encodeFragments } from '../../../firmware/src/ike/wire/index.ts';

const root = process.cwd();
const corpus = path.join(root, 'test/fuzz/corpus');
const pcapName = 'ikev1-main-quick-natt.pcap';
const pcap = [
  path.join(root, 'test/fixtures', pcapName),
  path.join(root, 'test/fixtures/pcaps', pcapName),
  path.join(root, '..', 'shared/reference/pcaps', pcapName),
].find((p) => existsSync(p));
if (!pcap) throw new Error(`make-seeds: ${pcapName} not found in test/fixtures or ../shared/reference/pcaps`);

function put(target: string, name: string, data: Buffer): void {
  mkdirSync(path.join(corpus, target), { recursive: true });
  writeFileSync(path.join(corpus, target, name), data);
}
const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const records = (flags: (i: number) => number, ds: Buffer[]): Buffer =>
  Buffer.concat(ds.flatMap((d, i) => [Buffer.from([flags(i)]), u16(d.length), d]));

const udp = readPcapUdp(pcap);
const ike = udp.filter((r) => r.kind === 'ike');
const fromInitiator = ike.filter((r) => r.src === '198.51.100.1');
const builders = [synthetic, ...saHeavy];

// --- IKEv1 decoders
ike.forEach((r, i) => put('ike-message', `strongswan-${r.frame}`, r.payload));
builders.forEach((m, i) => put('ike-message', `builders-${i}`, m));
[...ike.map((r) => r.payload), ...builders].forEach((m, i) => {
  if (m[17] === undefined || (m[19]! & 1) === 1) return; // encrypted bodies are not payload chains
  put('ike-payloads', `chain-${i}`, Buffer.concat([Buffer.from([m[16]!]), m.subarray(28)]));
});
ike.slice(0, 4).forEach((r, i) => {
  const frags = encodeFragments(r.payload, 7 + i, 120);
  put('ike-fragments', `in-order-${r.frame}`, Buffer.concat(frags.flatMap((f) => [u16(f.length), f])));
  put('ike-fragments', `reversed-${r.frame}`, Buffer.concat([...frags].reverse().flatMap((f) => [u16(f.length), f])));
});
// The responder hears strongSwan's side of the whole exchange (port 4500 after the float).
put('ike-responder', 'strongswan-initiator', records((i) => (fromInitiator[i]!.dstPort === 4500 ? 1 : 0), fromInitiator.map((r) => r.payload)));
put('ike-responder', 'strongswan-mm1', records(() => 0, [fromInitiator[0]!.payload]));
// A clean negotiation, and one with each main/quick mode message altered once.
put('ike-exchange', 'clean', Buffer.alloc(0));
for (let k = 0; k < 9; k++) put('ike-exchange', `flip-${k}`, Buffer.from([k, 0, 0, 40, 0x80]));
put('ike-exchange', 'drop-mm2', Buffer.from([1, 3, 0, 0, 0]));

// --- IKEv2: strongSwan's datagrams; their cleartext chains sealed under each suite, whole and in fragments
const pcap2 = pcap.replace('ikev1-main-quick-natt.pcap', 'ikev2-natt.pcap');
if (existsSync(pcap2)) {
  const ike2 = readPcapUdp(pcap2).filter((r) => r.kind === 'ike');
  ike2.forEach((r) => put('ikev2-message', `strongswan-${r.frame}`, r.payload));
  const init2 = ike2.filter((r) => r.src === '198.51.100.1');
  put('ikev2-responder', 'strongswan-initiator', records((i) => (init2[i]!.dstPort === 4500 ? 1 : 0), init2.map((r) => r.payload)));
  put('ikev2-responder', 'strongswan-sa-init', records(() => 0, [init2[0]!.payload]));
  put('ikev2-exchange', 'clean', Buffer.alloc(0));
  for (let k = 0; k < 6; k++) put('ikev2-exchange', `flip-${k}`, Buffer.from([k, 0, 0, 40, 0x80]));
  put('ikev2-exchange', 'drop-sa-init-response', Buffer.from([1, 3, 0, 0, 0]));
  ike2.filter((r) => r.payload[16] !== 46).slice(0, 2).forEach((r, i) => {
    const m = r.payload;
    for (let suite = 0; suite < 7; suite++) {
      put('ikev2-encrypted', `chain${i}-suite${suite}`, Buffer.concat([Buffer.from([suite, m[16]!, 0, 0]), m.subarray(28)]));
      put('ikev2-encrypted', `chain${i}-suite${suite}-skf`, Buffer.concat([Buffer.from([suite | 8, m[16]!, 3, 0]), m.subarray(28)]));
    }
  });
}

// --- certificates and CRLs (prefix 0: certificate, 1: CRL). Fresh keys give different
// bytes each time, so they are made only when missing (regenerating does not churn them).
function certificateSeeds(): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'sitelink-seeds-'));
  try {
    const ossl = (...a: string[]): Buffer => execFileSync('openssl', a, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    writeFileSync(
      path.join(dir, 'ca.cnf'),
      '[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=30\n[v3]\n' +
        'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectAltName=DNS:gw.example\n',
    );
    writeFileSync(path.join(dir, 'crlnumber'), '01\n');
    ossl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'rsa.key',
      '-subj',
      '/C=CH/O=sitelink/CN=rsa',
      '-days',
      '30',
      '-outform',
      'DER',
      '-out',
      'rsa.der',
      '-config',
      'ca.cnf',
      '-extensions',
      'v3',
    );
    ossl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ec.key',
      '-subj',
      '/CN=ec',
      '-days',
      '30',
      '-outform',
      'DER',
      '-out',
      'ec.der',
    );
    put('x509-crl', 'cert-rsa', Buffer.concat([Buffer.from([0]), readFileSync(path.join(dir, 'rsa.der'))]));
    put('x509-crl', 'cert-ecdsa', Buffer.concat([Buffer.from([0]), readFileSync(path.join(dir, 'ec.der'))]));
    ossl('x509', '-inform', 'DER', '-in', 'rsa.der', '-out', 'rsa.pem');
    writeFileSync(path.join(dir, 'index.txt'), 'R\t300101000000Z\t240101000000Z\t1234ABCD\tunknown\t/CN=gone\n');
    ossl('ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'rsa.key', '-cert', 'rsa.pem', '-out', 'crl.pem');
    ossl('crl', '-in', 'crl.pem', '-outform', 'DER', '-out', 'crl.der');
    put('x509-crl', 'crl-der', Buffer.concat([Buffer.from([1]), readFileSync(path.join(dir, 'crl.der'))]));
    put('x509-crl', 'crl-pem', Buffer.concat([Buffer.from([1]), readFileSync(path.join(dir, 'crl.pem'))]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
if (!existsSync(path.join(corpus, 'x509-crl'))) certificateSeeds();

// --- peer certificate validation: a root (its public certificate kept in
// lib/x509-verify-root.der, the key thrown away), an intermediate, two leaves
// and a CRL, all made together and only when the root is missing.
function verifySeeds(): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'sitelink-seeds-'));
  try {
    const ossl = (...a: string[]): Buffer => execFileSync('openssl', a, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const f = (n: string): Buffer => readFileSync(path.join(dir, n));
    writeFileSync(path.join(dir, 'ext.cnf'), [
      '[ca]', 'default_ca=c', '[c]', 'database=index.txt', 'crlnumber=crlnumber', 'default_md=sha256', 'default_crl_days=36000',
      '[root]', 'basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign',
      '[inter]', 'basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign,cRLSign',
      '[leaf]', 'basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'subjectAltName=DNS:gw.example,email:gw@example,IP:192.0.2.1', '',
    ].join('\n'));
    writeFileSync(path.join(dir, 'crlnumber'), '01\n');
    writeFileSync(path.join(dir, 'index.txt'), 'R\t300101000000Z\t240101000000Z\t1234ABCD\tunknown\t/CN=gone\n');
    ossl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'root.key',
      '-subj',
      '/O=sitelink fuzz/CN=root',
      '-days',
      '36500',
      '-config',
      'ext.cnf',
      '-extensions',
      'root',
      '-out',
      'root.pem',
    );
    ossl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'inter.key', '-subj', '/O=sitelink fuzz/CN=intermediate', '-out', 'inter.csr');
    ossl(
      'x509',
      '-req',
      '-in',
      'inter.csr',
      '-CA',
      'root.pem',
      '-CAkey',
      'root.key',
      '-set_serial',
      '2',
      '-days',
      '36400',
      '-extfile',
      'ext.cnf',
      '-extensions',
      'inter',
      '-out',
      'inter.pem',
    );
    for (const [name, ca] of [['leaf', 'root'], ['leaf2', 'inter']] as const) {
      ossl(
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-subj',
        `/O=sitelink fuzz/CN=gw.example`,
        '-out',
        `${name}.csr`,
      );
      ossl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${ca}.pem`,
        '-CAkey',
        `${ca}.key`,
        '-set_serial',
        name === 'leaf' ? '3' : '4',
        '-days',
        '36300',
        '-extfile',
        'ext.cnf',
        '-extensions',
        'leaf',
        '-outform',
        'DER',
        '-out',
        `${name}.der`,
      );
    }
    ossl('ca', '-config', 'ext.cnf', '-gencrl', '-keyfile', 'root.key', '-cert', 'root.pem', '-out', 'crl.pem');
    ossl('crl', '-in', 'crl.pem', '-outform', 'DER', '-out', 'crl.der');
    ossl('x509', '-in', 'root.pem', '-outform', 'DER', '-out', 'root.der');
    ossl('x509', '-in', 'inter.pem', '-outform', 'DER', '-out', 'inter.der');
    writeFileSync(path.join(root, 'test/fuzz/lib/x509-verify-root.der'), f('root.der'));
    const blob = (b: Buffer): Buffer => Buffer.concat([u16(b.length), b]);
    for (let kind = 0; kind < 4; kind++) put('x509-verify', `leaf-id${kind}`, Buffer.concat([Buffer.from([kind << 2]), blob(f('leaf.der'))]));
    put('x509-verify', 'leaf-crl1', Buffer.concat([Buffer.from([1 | 16]), blob(f('leaf.der')), blob(f('crl.der'))]));
    put('x509-verify', 'leaf-crl2', Buffer.concat([Buffer.from([2 | 16]), blob(f('leaf.der')), blob(f('crl.der'))]));
    put('x509-verify', 'chain-crl1', Buffer.concat([Buffer.from([1 | 16]), blob(f('leaf2.der')), blob(f('inter.der')), blob(f('crl.der'))]));
    put('x509-verify', 'chain-with-root', Buffer.concat([Buffer.from([0]), blob(f('leaf2.der')), blob(f('inter.der')), blob(f('root.der'))]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
if (!existsSync(path.join(root, 'test/fuzz/lib/x509-verify-root.der'))) verifySeeds();

// --- configuration (prefix 0: sitelink.conf, 1: secrets.conf) and control socket
put('config', 'example', Buffer.concat([Buffer.from([0]), readFileSync(path.join(root, 'board/common/sitelink.conf.example'))]));
put(
  'config',
  'secrets',
  Buffer.from(
    '\x01psk {\n  hq.example.net = "not-a-real-secret"\n  198.51.100.2 = 0x00112233445566778899\n  @branch = 0sc2l0ZWxpbms=\n}\n',
  ),
);
put(
  'control-protocol',
  'requests',
  Buffer.from(
    '{"id":1,"command":"status","args":{}}\n{"id":2,"command":"explain","args":{"peer":"hq"}}\n' +
      '\n{"id":3,"command":"log","args":{"lines":[1,{"a":null}],"x":true}}\n',
  ),
);
put('control-protocol', 'bad', Buffer.from('{"id":1.5}\n[1]\n{"id":2,"command":3}\n{"id":4,"command":"x","args":[]}\nnot json\n'));

// --- C harnesses
// fuzz_udp_demux: keepalive, IKE behind the marker, the capture's ESP, and our SPIs.
put('fuzz_udp_demux', 'keepalive', Buffer.from([0xff]));
put('fuzz_udp_demux', 'ike', Buffer.concat([Buffer.alloc(4), ike[0]!.payload]));
udp.filter((r) => r.kind === 'esp').slice(0, 2).forEach((r) => put('fuzz_udp_demux', `esp-${r.frame}`, r.payload));
for (let i = 0; i < 8; i++) {
  const p = Buffer.alloc(8 + 16 + 64 + 16, 0x5a);
  p.writeUInt32BE(0x1000 + i, 0);
  p.writeUInt32BE(1, 4);
  put('fuzz_udp_demux', `spi-${i}`, p);
}

// An IPv4 packet with its header checksum, and an ESP trailer padding it to `block`.
function ipv4(total: number, proto: number): Buffer {
  const p = Buffer.alloc(total, 0x33);
  p[0] = 0x45;
  p[1] = 0;
  p.writeUInt16BE(total, 2);
  p.writeUInt32BE(0, 4);
  p[8] = 64;
  p[9] = proto;
  p.writeUInt16BE(0, 10);
  Buffer.from([198, 18, 2, 5, 198, 18, 1, 7]).copy(p, 12);
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += p.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  p.writeUInt16BE(~s & 0xffff, 10);
  return p;
}
function withTrailer(inner: Buffer, nh: number, block: number): Buffer {
  let pad = 0;
  while ((inner.length + pad + 2) % block !== 0) pad++;
  return Buffer.concat([inner, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1)), Buffer.from([pad, nh])]);
}
const blocks = [4, 4, 16, 16, 16, 16, 8, 4];
for (let alg = 0; alg < 8; alg++) {
  for (const esn of [0, 8]) {
    const recs: Buffer[] = [];
    for (const seq of [1n, 2n, 5n, 3n, (1n << 32n) + 1n]) {
      const body = withTrailer(ipv4(60, 253), 4, blocks[alg]!);
      const s = Buffer.alloc(8);
      s.writeBigUInt64BE(seq);
      recs.push(s, Buffer.from([0]), u16(body.length), body);
    }
    put('fuzz_esp_decap', `alg${alg}${esn ? '-esn' : ''}`, Buffer.concat([Buffer.from([alg | esn | 0x20]), ...recs]));
  }
}
// IPv6 inner packets (ESP next header 41, RFC 4303 §2.6): UDP with ports, ICMPv6, and a
// hop-by-hop extension header first (which the selectors read as the protocol).
function ipv6(total: number, proto: number): Buffer {
  const p = Buffer.alloc(total, 0x44);
  p.writeUInt32BE(0x60000000, 0);
  p.writeUInt16BE(total - 40, 4);
  p[6] = proto;
  p[7] = 64;
  Buffer.from('20010db8000b00000000000000000010', 'hex').copy(p, 8);
  Buffer.from('20010db8000a00000000000000000010', 'hex').copy(p, 24);
  if (proto === 17) p.writeUInt32BE((5000 << 16) | 6000, 40);
  if (proto === 0) p[40] = 17; // hop-by-hop header's next header: UDP
  return p;
}
for (const alg of [0, 4, 7]) {
  const recs: Buffer[] = [];
  for (const [seq, inner] of [[1n, ipv6(48, 17)], [2n, ipv6(104, 58)], [3n, ipv6(88, 0)], [4n, ipv6(1280, 17)]] as const) {
    const body = withTrailer(inner, 41, blocks[alg]!);
    const s = Buffer.alloc(8);
    s.writeBigUInt64BE(seq);
    recs.push(s, Buffer.from([0]), u16(body.length), body);
  }
  put('fuzz_esp_decap', `alg${alg}-v6`, Buffer.concat([Buffer.from([alg | 8 | 0x20]), ...recs]));
}
// fuzz_replay: in order, out of order, far jumps, across a 2^32 boundary.
const seqs = (xs: number[]): Buffer => Buffer.concat(xs.map((x) => { const b = Buffer.alloc(4); b.writeUInt32BE(x >>> 0); return b; }));
put('fuzz_replay', 'w1024', Buffer.concat([u16(1024), Buffer.from([0]), seqs([1, 2, 3, 10, 5, 5, 2000, 900, 1000])]));
put('fuzz_replay', 'w64-esn-wrap', Buffer.concat([u16(64), Buffer.from([1]), seqs([0xfffffff0, 0xfffffffe, 3, 0xfffffff8, 1, 100])]));
put('fuzz_replay', 'wmax-esn', Buffer.concat([u16(0xffff), Buffer.from([1]), seqs([1, 70000, 5000, 69999, 4, 0x80000000])]));
// fuzz_gro: a TCP super packet (virtio header + IPv4/IPv6 packet) for TSO, then GRO.
// The IP header of a super packet carrying l4Len bytes of proto (IPv4 as ipv4()
// makes it, IPv6 from 2001::1 to 2001::2), the rest of the buffer filled with fill.
function superPacket(v6: boolean, proto: number, l4Len: number, fill: number): Buffer {
  const l3 = v6 ? 40 : 20;
  const p = Buffer.alloc(l3 + l4Len, fill);
  if (v6) {
    p.fill(0, 0, 40);
    p[0] = 0x60;
    p.writeUInt16BE(l4Len, 4);
    p[6] = proto;
    p[7] = 64;
    p[8] = 0x20, p[9] = 0x01, p[23] = 1, p[24] = 0x20, p[25] = 0x01, p[39] = 2;
  } else {
    ipv4(l3 + l4Len, proto).copy(p, 0, 0, 20);
  }
  return p;
}
function tcpSuper(v6: boolean, payload: number): Buffer {
  const p = superPacket(v6, 6, 20 + payload, 0x61);
  const t = v6 ? 40 : 20;
  p.fill(0, t, t + 20);
  p.writeUInt16BE(40000, t);
  p.writeUInt16BE(5201, t + 2);
  p.writeUInt32BE(0xfffff000, t + 4);
  p.writeUInt32BE(77, t + 8);
  p[t + 12] = 5 << 4;
  p[t + 13] = 0x18;
  p.writeUInt16BE(512, t + 14);
  return p;
}
for (const v6 of [false, true]) {
  const vnet = Buffer.from([0, v6 ? 4 : 1, 0, 0, 0xf4, 0x01, 0, 0, 0, 0]); // GSO TCPv4/v6, gso_size 500
  put('fuzz_gro', `tso-${v6 ? 'v6' : 'v4'}`, Buffer.concat([Buffer.from([1, 0, 0]), vnet, tcpSuper(v6, 3000)]));
  put('fuzz_gro', `tso-flip-${v6 ? 'v6' : 'v4'}`, Buffer.concat([Buffer.from([3, 0x01, 0x30]), vnet, tcpSuper(v6, 3000)]));
}
// fuzz_gro: a UDP super packet (GSO_UDP_L4, a UDP_SEGMENT sender's train) for USO,
// then GRO with UDP trains allowed (mode bit 2); the flip variant corrupts one datagram.
function udpSuper(v6: boolean, payload: number): Buffer {
  const l3 = v6 ? 40 : 20;
  const p = superPacket(v6, 17, 8 + payload, 0x75);
  p.writeUInt16BE(4433, l3);
  p.writeUInt16BE(443, l3 + 2);
  p.writeUInt16BE(8 + payload, l3 + 4);
  p.writeUInt16BE(0, l3 + 6);
  return p;
}
for (const v6 of [false, true]) {
  const vnet = Buffer.from([0, 5, 0, 0, 0xb0, 0x04, 0, 0, 0, 0]); // GSO UDP_L4, gso_size 1200
  put('fuzz_gro', `uso-${v6 ? 'v6' : 'v4'}`, Buffer.concat([Buffer.from([5, 0, 0]), vnet, udpSuper(v6, 4000)]));
  put('fuzz_gro', `uso-flip-${v6 ? 'v6' : 'v4'}`, Buffer.concat([Buffer.from([7, 0x02, 0x41]), vnet, udpSuper(v6, 4000)]));
}
console.log(`make-seeds: wrote test/fuzz/corpus (capture ${path.relative(root, pcap)})`);
