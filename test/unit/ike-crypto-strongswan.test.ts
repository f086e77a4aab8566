// End-to-end check of every IKEv1 derivation against a live strongSwan
// 5.9.8 responder on the netns lab. strongSwan at log level 4 prints its
// g^xy, SKEYID*, Ka, initial IV, HASH_I/R and the ESP keys; we capture the
// negotiation on gwB and recompute all of them from the wire data, the
// logged g^xy and the known lab PSK, then decrypt quick mode (checking
// HASH(1..3)), any informational DELETE (HASH(1)) and ESP packets with the
// keys we derived.
//
// Runs as root only (namespaces); prints a SKIPPED reason otherwise. The
// charon log holds key material: it is never printed and is removed with
// the charon state directory.

import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { createDecipheriv, createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Lab, LAB, uniquePrefix } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON, Charon, swanctlConf } from '../lib/strongswan.ts';
import { readPcapUdp } from '../lib/pcap.ts';
import { sleep, waitUntil } from '../lib/wait.ts';
import { hashById, HashId } from '../../firmware/src/ike/crypto/hash.ts';
import type { HashAlgorithm } from '../../firmware/src/ike/crypto/hash.ts';
import { cipherById, CipherId } from '../../firmware/src/ike/crypto/cipher.ts';
import { derivePhase1Keys, skeyidPreSharedKey } from '../../firmware/src/ike/crypto/skeyid.ts';
import { phase1Iv } from '../../firmware/src/ike/crypto/iv.ts';
import { IsakmpCryptoState } from '../../firmware/src/ike/crypto/isakmp-crypto-state.ts';
import { hashI, hashR, informationalHash, quickModeHash1, quickModeHash2, quickModeHash3 } from '../../firmware/src/ike/crypto/exchange-hash.ts';
import { espKeys, PROTO_ESP } from '../../firmware/src/ike/crypto/keymat.ts';
import type { EspKeys } from '../../firmware/src/ike/crypto/keymat.ts';
import { natDetectionHash } from '../../firmware/src/ike/crypto/nat-d.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl', '/usr/bin/tcpdump']);

/** A hex dump strongSwan logs as "<label> => N bytes @ 0x..." followed by "  off: XX XX ..." lines. */
function logged(log: string, label: string, nth = 0): Buffer {
  const lines = log.split('\n');
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    const m = /\] (.+) => (\d+) bytes @ 0x[0-9a-f]+$/.exec(lines[i] ?? '');
    if (!m || m[1] !== label) continue;
    if (seen++ !== nth) continue;
    const want = Number(m[2]);
    const out: number[] = [];
    for (let j = i + 1; out.length < want && j < lines.length; j++) {
      const d = /\]\s+\d+: ((?:[0-9A-F]{2} )*[0-9A-F]{2})/.exec(lines[j] ?? '');
      if (!d?.[1]) break;
      out.push(...d[1].split(' ').slice(0, want - out.length).map((h) => parseInt(h, 16)));
    }
    if (out.length !== want) throw new Error(`log: ${label} truncated`);
    return Buffer.from(out);
  }
  throw new Error(`log: "${label}" #${nth} not found`);
}

const HDR = 28;
interface Payload { type: number; body: Buffer; raw: Buffer }
function walk(first: number, data: Buffer): { payloads: Payload[]; used: number } {
  const payloads: Payload[] = [];
  let type = first;
  let off = 0;
  while (type !== 0) {
    if (off + 4 > data.length) throw new Error('payload header past the end');
    const len = data.readUInt16BE(off + 2);
    if (len < 4 || off + len > data.length) throw new Error(`bad payload length ${len}`);
    payloads.push({ type, body: data.subarray(off + 4, off + len), raw: data.subarray(off, off + len) });
    const next = data.readUInt8(off);
    off += len;
    type = next;
  }
  return { payloads, used: off };
}
const body = (ps: Payload[], type: number, nth = 0): Buffer => {
  const p = ps.filter((x) => x.type === type)[nth];
  if (!p) throw new Error(`payload ${type} #${nth} missing`);
  return p.body;
};

interface Case {
  ike: string;
  esp: string;
  prf: HashAlgorithm;
  encKeyLength: number;
  espLengths: { encKey: number; salt: number; integKey: number };
  /** Quick mode carries KE payloads (PFS): KEYMAT includes g(qm)^xy. */
  pfs?: boolean;
}

const sha1 = hashById(HashId.SHA1);
const sha256 = hashById(HashId.SHA2_256);
if (!sha1 || !sha256) throw new Error('hashes missing');
const CASES: Case[] = [
  // SHA-1 SKEYID_e (20 bytes) is shorter than an AES-256 key: Appendix B expansion.
  { ike: 'aes256-sha1-modp2048', esp: 'aes128gcm16', prf: sha1, encKeyLength: 32, espLengths: { encKey: 16, salt: 4, integKey: 0 } },
  { ike: 'aes128-sha256-ecp256', esp: 'aes128-sha256', prf: sha256, encKeyLength: 16, espLengths: { encKey: 16, salt: 0, integKey: 32 } },
  // PFS with curve25519 in quick mode, RFC 2409 §5.5 KEYMAT with g(qm)^xy.
  {
    ike: 'aes128-sha256-modp2048',
    esp: 'aes128gcm16-curve25519',
    prf: sha256,
    encKeyLength: 16,
    espLengths: { encKey: 16, salt: 4, integKey: 0 },
    pfs: true,
  },
];

for (const c of CASES) {
  t.test(`IKEv1 ${c.ike} / ESP ${c.esp} against strongSwan`, { skip: skip ?? false }, async (t) => {
    const lab = new Lab(uniquePrefix('ckx'));
    t.teardown(() => lab.down());
    await lab.up();
    const base = `/tmp/sitelink-lab/${lab.prefix}`;
    mkdirSync(base, { recursive: true, mode: 0o700 });
    t.teardown(() => rmSync(base, { recursive: true, force: true }));
    const psk = Buffer.from('sitelink ike-crypto lab psk');
    const common = { name: 'lab', version: 1 as const, ikeProposals: c.ike, espProposals: c.esp, pskHex: psk.toString('hex') };

    const pcap = path.join(base, 'gwB.pcap');
    const dump = spawn('ip', ['netns', 'exec', lab.ns('gwB'), 'tcpdump', '-i', 'any', '--immediate-mode', '-U', '-n', '-w', pcap, 'udp'], {
      stdio: 'ignore',
    });
    t.teardown(() => { dump.kill('SIGTERM'); });
    await waitUntil(() => existsSync(pcap), 5000, 50);
    await sleep(300);

    const gwB = await Charon.start(lab.ns('gwB'), path.join(base, 'gwB'), swanctlConf({ ...common,
      localAddr: LAB.gwBWan, remoteAddr: LAB.natPublic, localId: 'gwB.lab', remoteId: 'gwA.lab', localTs: LAB.subnetB, remoteTs: LAB.subnetA }), 4);
    t.teardown(() => gwB.stop());
    const gwA = await Charon.start(lab.ns('gwA'), path.join(base, 'gwA'), swanctlConf({ ...common,
      localAddr: LAB.gwAWan, remoteAddr: LAB.gwBWan, localId: 'gwA.lab', remoteId: 'gwB.lab', localTs: LAB.subnetA, remoteTs: LAB.subnetB }), 1);
    t.teardown(() => gwA.stop());
    const init = await gwA.initiate('lab');
    t.equal(init.code, 0, 'strongSwan pair established the tunnel');
    t.ok(await lab.ping('lanA', LAB.lanB, 2), 'traffic flows (ESP packets to check)');
    await gwA.stop(); // sends informational DELETEs
    await sleep(500);
    const log = gwB.log();
    dump.kill('SIGTERM');
    await waitUntil(() => dump.exitCode !== null, 3000, 50);
    verify(t, c, psk, log, pcap);
  });
}

function verify(t: Test, c: Case, psk: Buffer, log: string, pcap: string): void {
  const prf = c.prf;
  const cipher = cipherById(CipherId.AES_CBC, c.encKeyLength * 8);
  if (!cipher) throw new Error('cipher missing');
  const udp = readPcapUdp(pcap);
  const seen = new Set<string>();
  const ike = udp.filter((r) => r.kind === 'ike').filter((r) => {
    const k = r.payload.toString('hex');
    return seen.has(k) ? false : (seen.add(k), true);
  });
  const exch = (r: (typeof ike)[number]): number => r.payload.readUInt8(18);
  const mm = ike.filter((r) => exch(r) === 2).map((r) => r.payload);
  const qm = ike.filter((r) => exch(r) === 32).map((r) => r.payload);
  const info = ike.filter((r) => exch(r) === 5).map((r) => r.payload);
  t.equal(mm.length, 6, 'six main mode messages captured');
  t.equal(qm.length, 3, 'three quick mode messages captured');
  const m = (i: number): Buffer => mm[i] ?? Buffer.alloc(HDR);
  const chain = (x: Buffer): Payload[] => walk(x.readUInt8(16), x.subarray(HDR)).payloads;

  const ckyI = m(0).subarray(0, 8);
  const ckyR = m(1).subarray(8, 16);
  const saiB = body(chain(m(0)), 1);
  const gxi = body(chain(m(2)), 4);
  const gxr = body(chain(m(3)), 4);
  const niB = body(chain(m(2)), 10);
  const nrB = body(chain(m(3)), 10);

  // NAT-D, RFC 3947 §3.2: MM3 arrives at gwB from the NAT's public address.
  const mm3rec = ike.find((r) => r.payload === m(2));
  if (mm3rec) {
    const natd = body(chain(m(2)), 20, 0);
    t.ok(natd.equals(natDetectionHash(prf, ckyI, m(2).subarray(8, 16), mm3rec.dst, mm3rec.dstPort)), 'first NAT-D of MM3 = hash of the destination');
  }

  const gxy = logged(log, 'shared Diffie Hellman secret');
  t.equal(gxy.length, gxi.length === 64 ? 32 : gxi.length, 'g^xy width (ECP: x only, RFC 5903 §9)');
  const skeyid = skeyidPreSharedKey(prf, psk, niB, nrB);
  t.same(skeyid, logged(log, 'SKEYID'), 'SKEYID = prf(PSK, Ni_b | Nr_b)');
  const k = derivePhase1Keys(prf, skeyid, gxy, ckyI, ckyR, c.encKeyLength);
  t.same(k.skeyidD, logged(log, 'SKEYID_d'), 'SKEYID_d');
  t.same(k.skeyidA, logged(log, 'SKEYID_a'), 'SKEYID_a');
  t.same(k.skeyidE, logged(log, 'SKEYID_e'), 'SKEYID_e');
  t.same(
    k.encKey,
    logged(log, 'encryption key Ka'),
    `encryption key (${c.encKeyLength} bytes${k.skeyidE.length < c.encKeyLength ? ', Appendix B expansion' : ''})`,
  );
  const iv0 = phase1Iv(prf, cipher.blockSize, gxi, gxr);
  t.same(iv0, logged(log, 'initial IV'), 'phase 1 IV = hash(g^xi | g^xr)');

  const st = new IsakmpCryptoState(cipher, prf, k.encKey, iv0);
  const hx = { gxi, gxr, ckyI, ckyR, saiB };
  const mm5 = walk(m(4).readUInt8(16), st.decrypt(0, m(4).subarray(HDR))).payloads;
  t.same(body(mm5, 8), hashI(prf, skeyid, hx, body(mm5, 5)), 'HASH_I payload = our HASH_I');
  t.same(body(mm5, 8), logged(log, 'HASH_I'), 'strongSwan logged the same HASH_I');
  const mm6 = walk(m(5).readUInt8(16), st.decrypt(0, m(5).subarray(HDR))).payloads;
  t.same(body(mm6, 8), hashR(prf, skeyid, hx, body(mm6, 5)), 'HASH_R payload = our HASH_R');

  // Quick mode, RFC 2409 §5.5.
  const q = (i: number): Buffer => qm[i] ?? Buffer.alloc(HDR);
  const mid = q(0).readUInt32BE(20);
  const dec = (x: Buffer, id: number): { ps: Payload[]; afterHash: Buffer } => {
    const pt = st.decrypt(id, x.subarray(HDR));
    const { payloads, used } = walk(x.readUInt8(16), pt);
    const hashLen = payloads[0]?.raw.length ?? 0;
    return { ps: payloads, afterHash: pt.subarray(hashLen, used) };
  };
  const q1 = dec(q(0), mid);
  const q2 = dec(q(1), mid);
  const q3 = dec(q(2), mid);
  const qNi = body(q1.ps, 10);
  const qNr = body(q2.ps, 10);
  t.same(body(q1.ps, 8), quickModeHash1(prf, k.skeyidA, mid, q1.afterHash), 'QM HASH(1)');
  t.same(body(q2.ps, 8), quickModeHash2(prf, k.skeyidA, mid, qNi, q2.afterHash), 'QM HASH(2)');
  t.same(body(q3.ps, 8), quickModeHash3(prf, k.skeyidA, mid, qNi, qNr), 'QM HASH(3)');

  // KEYMAT, §5.5: the SA carrying initiator->responder traffic uses the
  // responder's SPI (from QM2), and vice versa.
  const spiOf = (ps: Payload[]): Buffer => body(ps, 1).subarray(16, 20);
  const spiI = spiOf(q1.ps);
  const spiR = spiOf(q2.ps);
  const pfs: { gqmxy?: Buffer } = {};
  if (c.pfs) {
    // strongSwan logs the quick mode DH result as "DH secret" (CHD).
    const gqmxy = logged(log, 'DH secret');
    t.equal(gqmxy.length, 32, 'quick mode curve25519 secret is 32 bytes');
    t.equal(body(q1.ps, 4).length, 32, 'QM1 carries a 32-byte KE payload (RFC 8031)');
    pfs.gqmxy = gqmxy;
  }
  const toResponder = espKeys(prf, { skeyidD: k.skeyidD, protocol: PROTO_ESP, spi: spiR, niB: qNi, nrB: qNr, ...pfs }, c.espLengths);
  const toInitiator = espKeys(prf, { skeyidD: k.skeyidD, protocol: PROTO_ESP, spi: spiI, niB: qNi, nrB: qNr, ...pfs }, c.espLengths);
  if (c.pfs) {
    const noPfs = espKeys(prf, { skeyidD: k.skeyidD, protocol: PROTO_ESP, spi: spiR, niB: qNi, nrB: qNr }, c.espLengths);
    t.notSame(noPfs.encKey, toResponder.encKey, 'without g(qm)^xy the keys would differ');
  }
  t.same(Buffer.concat([toResponder.encKey, toResponder.salt]), logged(log, 'encryption initiator key'), 'ESP key initiator->responder (enc | salt)');
  t.same(Buffer.concat([toInitiator.encKey, toInitiator.salt]), logged(log, 'encryption responder key'), 'ESP key responder->initiator');
  if (c.espLengths.integKey > 0) {
    t.same(toResponder.integKey, logged(log, 'integrity initiator key'), 'ESP integrity key follows the encryption key');
    t.same(toInitiator.integKey, logged(log, 'integrity responder key'), 'ESP integrity key responder->initiator');
  }

  // ESP packets in the capture decrypt with our keys.
  const esp = udp.filter((r) => r.kind === 'esp');
  for (const [spi, keys] of [[spiR, toResponder], [spiI, toInitiator]] as const) {
    const pkt = esp.find((r) => r.payload.subarray(0, 4).equals(spi))?.payload;
    t.ok(pkt, `ESP packet with SPI ${spi.toString('hex')} captured`);
    if (pkt) t.equal(espInnerNextHeader(pkt, keys), 4, `ESP ${spi.toString('hex')} decrypts to an IPv4 packet`);
  }

  // Informational (DELETE from gwA on shutdown), §5.7: own M-ID, phase 2 IV rule.
  t.ok(info.length > 0, 'informational DELETE captured');
  for (const x of info) {
    const id = x.readUInt32BE(20);
    const d = dec(x, id);
    t.same(body(d.ps, 8), informationalHash(prf, k.skeyidA, id, d.afterHash), `informational HASH(1), M-ID ${id.toString(16)}`);
    t.equal(d.ps[1]?.type, 12, 'carries a DELETE payload');
    st.forget(id);
  }
  st.wipe();
}

/** Decrypt one ESP packet (RFC 4303 §2; RFC 4106 for GCM) and return the trailer's Next Header. */
function espInnerNextHeader(pkt: Buffer, k: EspKeys): number {
  let pt: Buffer;
  if (k.salt.length === 4) {
    const iv = pkt.subarray(8, 16);
    const d = createDecipheriv('aes-128-gcm', k.encKey, Buffer.concat([k.salt, iv]));
    d.setAAD(pkt.subarray(0, 8));
    d.setAuthTag(pkt.subarray(pkt.length - 16));
    pt = Buffer.concat([d.update(pkt.subarray(16, pkt.length - 16)), d.final()]);
  } else {
    const icv = createHmac('sha256', k.integKey).update(pkt.subarray(0, pkt.length - 16)).digest().subarray(0, 16);
    if (!icv.equals(pkt.subarray(pkt.length - 16))) return -1;
    const d = createDecipheriv('aes-128-cbc', k.encKey, pkt.subarray(8, 24));
    d.setAutoPadding(false);
    pt = Buffer.concat([d.update(pkt.subarray(24, pkt.length - 16)), d.final()]);
  }
  return pt.readUInt8(pt.length - 1);
}
