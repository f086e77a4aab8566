// Hybrid post-quantum IKEv2: ML-KEM (FIPS 203) as an RFC 9370 additional key
// exchange carried by RFC 9242 IKE_INTERMEDIATE. Known answers for ML-KEM-768
// from NIST's ACVP vectors (test/fixtures/ml-kem/acvp-768.json), the RFC 9370
// §2.2.2 key update and the RFC 9242 §3.3 IntAuth chain with fixed inputs
// (expected values from Python's hmac module, an independent implementation),
// the ADDKE proposal rules, and two Ikev2Node instances in memory
// (ike-exchange-harness.ts, seeded randomness) running the whole exchange.

import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { kemById, KemError, loadMlKem } from '../../firmware/src/ike/crypto/ml-kem.ts';
import type { IkeMethod, PeerPolicy } from '../../firmware/src/ike/exchange/types.ts';
import { signedOctets } from '../../firmware/src/ike/v2/crypto/authentication.ts';
import { AddKeError, answerAddKe, startAddKe } from '../../firmware/src/ike/v2/crypto/additional-ke.ts';
import { intAuthA, intAuthOctets, nextIntAuth, updateKeysAfterAddKe } from '../../firmware/src/ike/v2/crypto/multiple-ke.ts';
import { encrById, prfById } from '../../firmware/src/ike/v2/crypto/transforms.ts';
import { acceptAddKe, chooseAddKe, chosenAddKe } from '../../firmware/src/ike/v2/exchange/addke-proposals.ts';
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import { chooseIke, ikeOffer } from '../../firmware/src/ike/v2/exchange/proposals.ts';
import { decodeMessage, EncrId, ExchangeType, PayloadType, PrfId } from '../../firmware/src/ike/v2/wire/index.ts';
import { seededRandom } from '../lib/seeded-random.ts';
import { Harness, type Datagram, type HarnessOptions } from './ike-exchange-harness.ts';

// The implementation is its own bundle, loaded on demand (ml-kem.ts; ml-kem-lazy.test.ts).
await loadMlKem();

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const sha3 = (b: Uint8Array): string => createHash('sha3-256').update(b).digest('hex');
/** A RandomSource that hands out fixed bytes (the ACVP seeds) in order. */
const fixed = (...chunks: Buffer[]) => (n: number): Buffer => {
  const c = chunks.shift();
  if (!c || c.length !== n) throw new Error(`test random source: wanted ${n} bytes`);
  return Buffer.from(c);
};

const acvp = JSON.parse(readFileSync(path.join(import.meta.dirname, '../fixtures/ml-kem/acvp-768.json'), 'utf8')) as {
  keyGen: { d: string; z: string; ek: string; dkPrefix: string; dkHashEkZSuffix: string };
  encapsulation: { ek: string; m: string; k: string; cTail: string };
};

t.test('FIPS 203 ML-KEM-768 against NIST ACVP (tcId 26 of keyGen and of encapsulation)', async (t) => {
  const kem = kemById(36)!;
  t.equal(kem.name, 'mlkem768');
  const kg = acvp.keyGen;
  const pair = kem.generate(fixed(Buffer.concat([hex(kg.d), hex(kg.z)])));
  t.equal(pair.publicKey.toString('hex'), kg.ek.toLowerCase(), 'ek = the published encapsulation key');
  const enc = acvp.encapsulation;
  const r = kem.encapsulate(hex(enc.ek), fixed(hex(enc.m)));
  t.equal(r.secret.toString('hex'), enc.k.toLowerCase(), 'K = the published shared secret');
  t.equal(r.cipherText.length, 1088);
  t.equal(r.cipherText.subarray(1088 - enc.cTail.length / 2).toString('hex'), enc.cTail.toLowerCase(), 'c ends with the published ciphertext bytes');
  // Our own pair decapsulates what is encapsulated to it; a tampered ciphertext gives another key (implicit rejection).
  const mine = kem.encapsulate(pair.publicKey, seededRandom('mlkem'));
  t.same(pair.decapsulate(mine.cipherText), mine.secret);
  const bad = Buffer.from(mine.cipherText);
  bad[5]! ^= 1;
  t.notSame(pair.decapsulate(bad), mine.secret, 'FIPS 203 §7.3 implicit rejection');
  t.throws(() => pair.decapsulate(mine.cipherText.subarray(1)), KemError, 'wrong ciphertext length');
  pair.wipe();
  t.throws(() => pair.decapsulate(mine.cipherText), /wiped/);
  t.equal(sha3(hex(kg.ek)), kg.dkHashEkZSuffix.slice(0, 64).toLowerCase(), 'H(ek) inside the published dk');
});

t.test('ML-KEM input checks: lengths and the §7.2 modulus check refuse a bad encapsulation key', async (t) => {
  const kem = kemById(36)!;
  t.throws(() => kem.encapsulate(Buffer.alloc(1183), seededRandom('x')), KemError);
  // Coefficient 0xfff (> q = 3329) in the first 12 bits.
  const ek = Buffer.from(hex(acvp.keyGen.ek));
  ek[0] = 0xff;
  ek[1] = ek[1]! | 0x0f;
  t.throws(() => kem.encapsulate(ek, seededRandom('x')), KemError);
  t.throws(() => answerAddKe(36, ek, seededRandom('x')), AddKeError, 'the exchange sees AddKeError');
  const k1024 = kemById(37)!;
  const p = k1024.generate(seededRandom('k1024'));
  t.equal(p.publicKey.length, 1568);
  const r = k1024.encapsulate(p.publicKey, seededRandom('m'));
  t.equal(r.cipherText.length, 1568);
  t.same(p.decapsulate(r.cipherText), r.secret);
  // The exchange-level halves agree for a KEM and for a DH group used as ADDKE.
  for (const id of [35, 36, 37, 31]) {
    const i = startAddKe(id, seededRandom(`i${id}`));
    const a = answerAddKe(id, i.data, seededRandom(`r${id}`));
    t.same(i.complete(a.data), a.secret, `method ${id}`);
  }
});

t.test('RFC 9370 §2.2.2 key update with fixed inputs', async (t) => {
  const prf = prfById(PrfId.HMAC_SHA2_256)!;
  const encr = encrById(EncrId.AES_GCM_16, 256)!;
  const keys = {
    d: Buffer.alloc(32, 0x11), ai: Buffer.alloc(0), ar: Buffer.alloc(0), ei: Buffer.alloc(36, 0x33), er: Buffer.alloc(36, 0x44),
    pi: Buffer.alloc(32, 0x55), pr: Buffer.alloc(32, 0x66),
  };
  const old = keys.d;
  const secret = Buffer.alloc(32, 0x5a);
  const k = updateKeysAfterAddKe({
    prf, encr, integ: undefined, keys, secret,
    ni: Buffer.alloc(32, 1), nr: Buffer.alloc(32, 2), spiI: Buffer.alloc(8, 0xa1), spiR: Buffer.alloc(8, 0xb2),
  });
  // SKEYSEED(1) = prf(SK_d(0), SK(1) | Ni | Nr) = daaf25f8...; then prf+(SKEYSEED(1), Ni | Nr | SPIi | SPIr).
  t.equal(k.d.toString('hex'), '463fcb6fb94dd2fd6b37ce3f34a699d50b0d6c1a04a8ed15b5c7b557ce460168');
  t.equal(k.ei.toString('hex'), '9a6f153d084a8c1ec541ecc859ced6bc84d23740a55f388ab8dc91c05adb1d7aa32c1007');
  t.equal(k.er.toString('hex'), 'e8aae9aee97133ac353bc826ccf52c9f84d758d9ea5d17dbe771ff7e3f3338d310a1ce25');
  t.equal(k.pi.toString('hex'), '97063e189cb293dc6a531b9568b80997f902d62b990f44c77bde48724fcc3146');
  t.equal(k.pr.toString('hex'), '9031653583450e6a82658676c664b856ae8c9bf3a629f03e49d6890fd7d31144');
  t.equal(k.ai.length + k.ar.length, 0, 'AEAD: no integrity keys');
  t.ok(old.every((b) => b === 0) && secret.every((b) => b === 0), 'the old SK_d and the additional secret are wiped');
});

t.test('RFC 9242 §3.3 IntAuth chain and AUTH octets', async (t) => {
  const prf = prfById(PrfId.HMAC_SHA2_256)!;
  const skp = Buffer.alloc(32, 0x22);
  const a = Buffer.alloc(40);
  const p = Buffer.from('payload');
  const i1 = nextIntAuth(prf, skp, Buffer.alloc(0), a, p);
  t.equal(i1.toString('hex'), '0abd9f30c9e865c073d2f377042a144b28f6bb0ec81d46b6e4cdc3c0bfbddfd8', 'IntAuth_i1 = prf(SK_pi, A | P)');
  const i2 = nextIntAuth(prf, skp, i1, a, p);
  t.equal(i2.toString('hex'), 'e7fc86db669995cda5a40e413f788a8d514e7168fdf4bb807f127eee2f0cbad3', 'IntAuth_i2 = prf(SK_pi, IntAuth_i1 | A | P)');
  const octets = intAuthOctets(i2, i1, 3);
  t.equal(octets.length, 68);
  t.equal(octets.readUInt32BE(64), 3, 'IKE_AUTH_MID last, 4 octets');
  // _A: the IKE header (Next Payload SK) and the SK generic header, both lengths counting _A | _P as if
  // unencrypted (no IV, padding or ICV): what strongSwan 6.1 logs as IntAuth_A|P for a 1192-byte KE payload.
  const header = { spiI: Buffer.alloc(8, 1), spiR: Buffer.alloc(8, 2), exchange: ExchangeType.IKE_INTERMEDIATE, flags: 0x08, messageId: 1 };
  const A = intAuthA(header, PayloadType.KE, 1192);
  t.equal(A.length, 32);
  t.same([A[16], A[17], A[18], A[19], A.readUInt32BE(20), A.readUInt32BE(24), A[28], A.readUInt16BE(30)], [46, 0x20, 43, 0x08, 1, 0x4c8, 34, 0x4ac]);
  const base = { prf, realMessage: Buffer.from('m1'), peerNonce: Buffer.alloc(32), skP: skp, idBody: Buffer.from('id') };
  t.notSame(signedOctets(base), signedOctets({ ...base, intAuth: octets }), 'AUTH covers IntAuth');
  t.same(signedOctets({ ...base, intAuth: octets }).subarray(-68), octets);
});

t.test('RFC 9370 §2.2.1 ADDKE proposals', async (t) => {
  const m = (addKe: IkeMethod['addKe']): IkeMethod => ({ encryption: 'aes256gcm16', integrity: 'sha256', dhGroup: 31, ...(addKe ? { addKe } : {}) });
  const offer = ikeOffer([m([{ slot: 1, ids: [36, 0] }, { slot: 2, ids: [37] }])])[0]!.transforms;
  t.same(offer.filter((x) => x.type >= 6).map((x) => [x.type, x.id]), [[6, 36], [6, 0], [7, 37]], 'ADDKE1 = type 6, alternatives in order');
  t.same(chooseAddKe(m([{ slot: 1, ids: [36] }, { slot: 2, ids: [37] }]), offer), [{ type: 6, id: 36 }, { type: 7, id: 37 }]);
  t.same(chooseAddKe(m(undefined), offer), null, 'ADDKE2 has no NONE: a responder without it cannot agree');
  t.same(chooseAddKe(m([{ slot: 2, ids: [37] }]), offer), [{ type: 6, id: 0 }, { type: 7, id: 37 }], 'ADDKE1 answered NONE');
  t.same(chooseAddKe(m([{ slot: 1, ids: [35] }]), offer), null, 'no common ML-KEM');
  t.same(chooseAddKe(m([{ slot: 1, ids: [36] }]), offer.filter((x) => x.type < 6)), null, 'required and not offered');
  t.same(chooseAddKe(m([{ slot: 1, ids: [36, 0] }]), offer.filter((x) => x.type < 6)), [], 'optional and not offered');
  t.ok(acceptAddKe(m([{ slot: 1, ids: [36, 0] }]), []), 'absent = NONE, which we allowed');
  t.notOk(acceptAddKe(m([{ slot: 1, ids: [36] }]), []));
  t.notOk(acceptAddKe(m([{ slot: 1, ids: [36] }]), [{ type: 6, id: 37 }]), 'a method we did not offer');
  t.notOk(acceptAddKe(m([{ slot: 1, ids: [36, 37] }]), [{ type: 6, id: 36 }, { type: 6, id: 37 }]), 'two of one type');
  t.same(chosenAddKe([{ type: 7, id: 37 }, { type: 6, id: 0 }, { type: 1, id: 20 }]), [{ slot: 2, id: 37 }], 'NONE and base transforms do not run');
});

// ------------------------------------------------------------ state machine

const v2 = (o: HarnessOptions = {}): Harness<Ikev2Node> => new Harness<Ikev2Node>(o, (env, peers, options) => new Ikev2Node(env, peers, options));
const hybrid = (addKe: IkeMethod['addKe'], over: Partial<IkeMethod> = {}): Partial<PeerPolicy> => ({
  ikeMethods: [{ encryption: 'aes256gcm16', integrity: 'sha256', dhGroup: 31, ...(addKe ? { addKe } : {}), ...over }],
});
const exchangeOf = (d: Datagram): number => {
  const m = decodeMessage(d.data);
  return m.ok ? m.value.header.exchange : -1;
};
const exchangesOf = (h: Harness<Ikev2Node>): number[] => h.wire.map(exchangeOf);
const childKey = (h: Harness<Ikev2Node>, side: 'A' | 'B', dir: 'in' | 'out'): Buffer | undefined =>
  h.installs[side].find((s) => s.direction === dir)?.encKey;

t.test('x25519 + ML-KEM-768 behind a NAT: IKE_INTERMEDIATE, fragmented KE, keys agree, sas shows the additional KE', async (t) => {
  // On port 4500 (non-ESP marker) the 1184-byte ek no longer fits a 1280-byte IP datagram: RFC 7383 fragments.
  const h = v2({ nat: true, maxDatagram: 1280, peerA: hybrid([{ slot: 1, ids: [36] }]), peerB: hybrid([{ slot: 1, ids: [36] }]) });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  t.equal(h.installs.A.length, 2);
  t.same(childKey(h, 'A', 'out'), childKey(h, 'B', 'in'));
  const ex = exchangesOf(h);
  t.same([...new Set(ex)], [ExchangeType.IKE_SA_INIT, ExchangeType.IKE_INTERMEDIATE, ExchangeType.IKE_AUTH]);
  const inter = (from: 'A' | 'B'): number[] =>
    h.wire
      .filter((d) => d.from === from)
      .map((d) => decodeMessage(d.data))
      .flatMap((m) => (m.ok && m.value.header.exchange === ExchangeType.IKE_INTERMEDIATE ? [m.value.payloads.at(-1)!.type] : []));
  // The 1184-byte ek goes out in SKF fragments; the 1088-byte ciphertext fits whole: both IntAuth_A paths (RFC 9242 §3.3.1) agree.
  t.same(inter('A'), [PayloadType.SKF, PayloadType.SKF], 'the request went out as two RFC 7383 fragments');
  t.same(inter('B'), [PayloadType.SK], 'the response whole');
  t.equal(h.tooBig.length, 0, 'nothing needed IP fragmentation');
  t.match(h.logs.A.join('\n'), /IKE_INTERMEDIATE request sent: additional key exchange 1 \(mlkem768\)/);
  t.match(h.logs.B.join('\n'), /additional key exchange 1 \(mlkem768\) done, keys updated/);
  t.equal(h.a.status()[0]!.proposal, 'aes256gcm16-prfsha256-curve25519-ke1_mlkem768');
  t.equal(h.b.status()[0]!.proposal, 'aes256gcm16-prfsha256-curve25519-ke1_mlkem768');
  // The IKE SA and the child SA rekey afterwards on their timers; the IKE SA with ML-KEM again
  // (IKE_FOLLOWUP_KE, RFC 9370 §2.2.2: ikev2-followup-ke.test.ts).
  h.advance(28800 * 1000 * 0.91);
  t.same(h.failed, { A: [], B: [] });
  t.equal(h.a.status().filter((s) => s.state === 'ESTABLISHED').length, 1);
  t.ok(exchangesOf(h).includes(ExchangeType.IKE_FOLLOWUP_KE), 'the rekey ran an IKE_FOLLOWUP_KE');
  t.equal(h.a.status()[0]!.proposal, 'aes256gcm16-prfsha256-curve25519-ke1_mlkem768', 'the rekeyed SA has ML-KEM too');
});

t.test('two additional key exchanges (ke1_mlkem768, ke2_mlkem1024) run in ADDKE order', async (t) => {
  const both = hybrid([{ slot: 1, ids: [36] }, { slot: 2, ids: [37] }], { encryption: 'aes128', integrity: 'sha256' });
  const h = v2({ peerA: both, peerB: both });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  t.same(childKey(h, 'A', 'in'), childKey(h, 'B', 'out'));
  const log = h.logs.B.join('\n');
  t.ok(log.indexOf('exchange 1 (mlkem768) done') < log.indexOf('exchange 2 (mlkem1024) done'));
  t.equal(h.a.status()[0]!.proposal, 'aes128-sha256-curve25519-ke1_mlkem768-ke2_mlkem1024');
});

t.test('optional ML-KEM (ke1_none) with a peer without it: no IKE_INTERMEDIATE; required: NO_PROPOSAL_CHOSEN', async (t) => {
  const h = v2({ peerA: hybrid([{ slot: 1, ids: [36, 0] }]), peerB: hybrid(undefined) });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  t.notOk(exchangesOf(h).includes(ExchangeType.IKE_INTERMEDIATE));
  t.equal(h.a.status()[0]!.proposal, 'aes256gcm16-prfsha256-curve25519');
  const r = v2({ peerA: hybrid([{ slot: 1, ids: [36] }]), peerB: hybrid(undefined) });
  r.bringUp();
  t.match(r.failed.B[0], /no proposal/);
  t.match(r.failed.A[0], /NO_PROPOSAL_CHOSEN/);
  const x = v2({ peerA: hybrid([{ slot: 1, ids: [37] }]), peerB: hybrid([{ slot: 1, ids: [36] }]) });
  x.bringUp();
  t.equal(x.installs.A.length + x.installs.B.length, 0, 'ML-KEM-1024 against ML-KEM-768 only');
});

t.test('a lost IKE_INTERMEDIATE is retransmitted, then the initiator gives up naming it', async (t) => {
  const h = v2({ peerA: hybrid([{ slot: 1, ids: [36] }]), peerB: hybrid([{ slot: 1, ids: [36] }]) });
  const intermediateFromA = (d: Datagram): boolean => d.from === 'A' && exchangeOf(d) === ExchangeType.IKE_INTERMEDIATE;
  h.filter = (d) => (intermediateFromA(d) ? null : d.data);
  h.bringUp();
  for (let i = 0; i < 10; i++) h.advance(70_000);
  t.equal(h.installs.A.length + h.installs.B.length, 0);
  t.ok(h.failures.A.some((f) => /IKE_INTERMEDIATE/.test(JSON.stringify(f))), 'the failure record names the unanswered IKE_INTERMEDIATE');
  t.notOk(exchangesOf(h).includes(ExchangeType.IKE_AUTH));
});

t.test('a KE of another method than agreed in IKE_INTERMEDIATE is INVALID_SYNTAX', async (t) => {
  const h = v2({ peerA: hybrid([{ slot: 1, ids: [36] }]), peerB: hybrid([{ slot: 1, ids: [36] }]) });
  // B's view of the agreement is changed to ML-KEM-1024 before A's ML-KEM-768 KE arrives.
  h.filter = (d) => {
    if (d.from === 'B' && exchangeOf(d) === ExchangeType.IKE_SA_INIT) {
      const sa = h.b.sasOf('gwA')[0]!;
      sa.intermediate!.pending[0] = { slot: 1, id: 37 };
    }
    return d.data;
  };
  h.bringUp();
  t.match(h.failed.B[0], /KE of method mlkem768, negotiated mlkem1024/);
  t.match(h.failed.A[0], /IKE_INTERMEDIATE refused: INVALID_SYNTAX/);
  t.equal(h.installs.A.length + h.installs.B.length, 0);
});

t.test("the agreed ML-KEM is the responder's preference among the initiator's alternatives", async (t) => {
  const h = v2({ peerA: hybrid([{ slot: 1, ids: [36, 37] }]), peerB: hybrid([{ slot: 1, ids: [37] }]) });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  t.equal(h.b.status()[0]!.proposal, 'aes256gcm16-prfsha256-curve25519-ke1_mlkem1024');
});

t.test('an IKE SA rekey offers the ADDKE transforms too (RFC 9370 §2.2.4) and takes a required one', async (t) => {
  const m: IkeMethod = { encryption: 'aes256gcm16', integrity: 'sha256', dhGroup: 31, addKe: [{ slot: 1, ids: [36] }] };
  const peer = { ikeMethods: [m], allowWeak: false } as unknown as PeerPolicy;
  const rekeyOffer = ikeOffer([m], Buffer.alloc(8, 1));
  t.same(rekeyOffer[0]!.transforms.filter((x) => x.type >= 6), [{ type: 6, id: 36 }], 'the rekey offer carries ADDKE1');
  t.same(chooseIke(peer, rekeyOffer)?.proposal.transforms.filter((x) => x.type === 6), [{ type: 6, id: 36 }], 'and the responder takes it');
  const classical = [{ ...rekeyOffer[0]!, transforms: rekeyOffer[0]!.transforms.filter((x) => x.type < 6) }];
  t.equal(chooseIke(peer, classical), null, 'a rekey without the required ML-KEM is refused');
});

t.test('a lost IKE_INTERMEDIATE response: the retransmitted request is answered from the cache (§2.1), under the old keys', async (t) => {
  const h = v2({ peerA: hybrid([{ slot: 1, ids: [36] }]), peerB: hybrid([{ slot: 1, ids: [36] }]) });
  let dropped = 0;
  h.filter = (d) => (d.from === 'B' && exchangeOf(d) === ExchangeType.IKE_INTERMEDIATE && dropped++ === 0 ? null : d.data);
  h.bringUp();
  t.equal(h.installs.A.length, 0, 'stuck without the response');
  h.advance(2_500);
  t.same(h.failed, { A: [], B: [] });
  t.equal(h.installs.A.length, 2, 'established after the retransmission');
  t.same(childKey(h, 'A', 'out'), childKey(h, 'B', 'in'));
  t.equal(h.b.counters.cachedResponses, 1, 'B answered from its cache, not a second encapsulation');
});

t.test('AUTH covers the IntAuth chain: a responder whose IntAuth_i differs refuses the initiator (RFC 9242 §3.3.2)', async (t) => {
  const h = v2({ peerA: hybrid([{ slot: 1, ids: [36] }]), peerB: hybrid([{ slot: 1, ids: [36] }]) });
  h.filter = (d) => {
    if (d.from === 'A' && exchangeOf(d) === ExchangeType.IKE_AUTH) {
      const st = h.b.sasOf('gwA')[0]!.intermediate!;
      st.intAuthI = Buffer.from(st.intAuthI);
      st.intAuthI[0]! ^= 1;
    }
    return d.data;
  };
  h.bringUp();
  t.match(h.failed.B[0], /AUTH|authenticat/i);
  t.match(h.failed.A[0], /refused our AUTH/);
  t.equal(h.installs.A.length + h.installs.B.length, 0);
});

t.test('once established the IKE_INTERMEDIATE state is wiped', async (t) => {
  const h = v2({ peerA: hybrid([{ slot: 1, ids: [36] }]), peerB: hybrid([{ slot: 1, ids: [36] }]) });
  let kept: Buffer | null = null;
  h.filter = (d) => {
    if (d.from === 'A' && exchangeOf(d) === ExchangeType.IKE_AUTH) kept = h.b.sasOf('gwA')[0]!.intermediate!.intAuthI;
    return d.data;
  };
  h.bringUp();
  t.equal(h.installs.B.length, 2);
  t.equal(h.a.sasOf('gwB')[0]!.intermediate, null);
  t.equal(h.b.sasOf('gwA')[0]!.intermediate, null);
  t.ok(kept !== null && (kept as Buffer).every((b) => b === 0), "B's IntAuth_i was zeroed");
});
