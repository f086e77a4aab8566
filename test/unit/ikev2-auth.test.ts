// IKEv2 authentication beyond PSK: RFC 7427 digital signatures (RSASSA-PSS,
// PKCS#1 v1.5 and ECDSA with SHA-2; the AlgorithmIdentifiers of RFC 7427
// Appendix A), certificates with the shared X.509 checks and the ID types
// FQDN, IPv4, IPv6, e-mail and DN, the method precedence, RFC 7383
// fragmentation of a certificate-sized IKE_AUTH, and RFC 8784 PPK (a
// known-answer test of SK_d'/SK_pi'/SK_pr' and every mandatory/optional
// combination). Two Ikev2Node instances in memory (ike-exchange-harness.ts),
// the PKI made with the openssl tool (test/lib/test-pki.ts).

import t from 'tap';
import { constants, generateKeyPairSync, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Secret } from '../../firmware/src/base/secret.ts';
import { decodeDn, dnText, encodeDn, parseDnText, sameDn } from '../../firmware/src/ike/crypto/distinguished-name.ts';
import { certFields } from '../../firmware/src/ike/crypto/x509-fields.ts';
import type { PeerAuth, PeerPolicy } from '../../firmware/src/ike/exchange/types.ts';
import {
  ecdsaAlgorithmId,
  hashInfo,
  pssAlgorithmId,
  SignatureHash,
  signDigital,
  verifyDigital,
} from '../../firmware/src/ike/v2/crypto/digital-signature.ts';
import { derivePpkKeys } from '../../firmware/src/ike/v2/crypto/ppk.ts';
import { prfById } from '../../firmware/src/ike/v2/crypto/transforms.ts';
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import { decodeMessage, isResponse, PrfId, REASSEMBLY_TIMEOUT_MS } from '../../firmware/src/ike/v2/wire/index.ts';
import { IdType } from '../../firmware/src/ike/wire/index.ts';
import { leafSignatureAuth, makeGatewayPki, makeLeafCert, opensslSkipReason } from '../lib/test-pki.ts';
import { Harness, type HarnessOptions } from './ike-exchange-harness.ts';

const v2 = (o: HarnessOptions = {}): Harness<Ikev2Node> => new Harness<Ikev2Node>(o, (env, peers, options) => new Ikev2Node(env, peers, options));
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const skip = opensslSkipReason();

t.test('RFC 7427 Appendix A: our AlgorithmIdentifiers are the published ones', async (t) => {
  // A.4.3 RSASSA-PSS with SHA-256 (MGF1-SHA-256, 32-byte salt).
  t.same(
    pssAlgorithmId(hashInfo(SignatureHash.SHA2_256)!),
    hex(
      '3041 0609 2a864886f70d01010a 3034 a00f 300d 0609 608648016503040201 0500' +
        ' a11c 301a 0609 2a864886f70d010108 300d 0609 608648016503040201 0500 a203 020120',
    ),
  );
  // A.3 ecdsa-with-SHA256 / -SHA384 / -SHA512 (no parameters).
  t.same(ecdsaAlgorithmId(hashInfo(SignatureHash.SHA2_256)!), hex('300a 0608 2a8648ce3d040302'));
  t.same(ecdsaAlgorithmId(hashInfo(SignatureHash.SHA2_384)!), hex('300a 0608 2a8648ce3d040303'));
  t.same(ecdsaAlgorithmId(hashInfo(SignatureHash.SHA2_512)!), hex('300a 0608 2a8648ce3d040304'));
});

t.test('RFC 7427 signatures: sign/verify round trips, PKCS#1 v1.5 accepted, SHA-1 and tampering refused', async (t) => {
  const octets = Buffer.from('InitiatorSignedOctets stand-in');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const s1 = signDigital(rsa.privateKey, octets, [SignatureHash.SHA2_256, SignatureHash.SHA2_384]);
  t.same(verifyDigital(rsa.publicKey, s1.algorithm, s1.signature, octets), { ok: true, scheme: 'rsa-pss-sha256' });
  const s2 = signDigital(rsa.privateKey, octets, [SignatureHash.SHA2_512]);
  t.same(verifyDigital(rsa.publicKey, s2.algorithm, s2.signature, octets), { ok: true, scheme: 'rsa-pss-sha512' }, 'the hash follows the peer');
  const s3 = signDigital(p256.privateKey, octets, []);
  t.same(verifyDigital(p256.publicKey, s3.algorithm, s3.signature, octets), { ok: true, scheme: 'ecdsa-sha256' });
  const s4 = signDigital(p384.privateKey, octets, [SignatureHash.SHA2_256, SignatureHash.SHA2_384]);
  t.same(verifyDigital(p384.publicKey, s4.algorithm, s4.signature, octets), { ok: true, scheme: 'ecdsa-sha384' }, 'P-384 signs with SHA-384');
  t.throws(() => signDigital(rsa.privateKey, octets, [SignatureHash.SHA1]), /no SHA-2/, 'a peer offering only SHA-1 gets no signature');
  // sha256WithRSAEncryption (what charon sends for RSA without rsa_pss).
  const pkcs1 = sign('sha256', octets, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PADDING });
  t.same(verifyDigital(rsa.publicKey, hex('300d06092a864886f70d01010b0500'), pkcs1, octets), { ok: true, scheme: 'rsa-sha256' });
  const sha1 = sign('sha1', octets, rsa.privateKey);
  t.match(verifyDigital(rsa.publicKey, hex('300d06092a864886f70d0101050500'), sha1, octets), { ok: false, reason: /not accepted/ });
  t.match(verifyDigital(rsa.publicKey, hex('300b06092a864886f70d01010a'), s1.signature, octets), { ok: false, reason: /SHA-1/ }, 'PSS defaults = SHA-1');
  const bad = Buffer.from(s1.signature);
  bad[10]! ^= 1;
  t.match(verifyDigital(rsa.publicKey, s1.algorithm, bad, octets), { ok: false });
  t.match(verifyDigital(p256.publicKey, s1.algorithm, s1.signature, octets), { ok: false, reason: /ec key/ }, 'key type must fit');
  t.match(verifyDigital(rsa.publicKey, Buffer.from([0x30, 0x80]), s1.signature, octets), { ok: false, reason: /unreadable/ });
});

t.test('distinguished names: text <-> DER, compared by attributes and values, not encoding', async (t) => {
  const a = parseDnText('O=sitelink lab, CN=gwB.lab');
  const b = parseDnText('/O=Sitelink Lab/CN=gwb.lab');
  t.ok(Array.isArray(a) && Array.isArray(b));
  if (!Array.isArray(a) || !Array.isArray(b)) return;
  t.ok(sameDn(encodeDn(a), encodeDn(b)), 'case does not count');
  t.notOk(sameDn(encodeDn(a), encodeDn([...a].reverse())), 'order does');
  t.equal(dnText(encodeDn(a)), 'O=sitelink lab, CN=gwB.lab');
  t.same(decodeDn(encodeDn(a)), a);
  t.match(parseDnText('XX=1'), /unknown attribute/);
  t.match(parseDnText('CN'), /not TYPE=value/);
  t.notOk(sameDn(Buffer.from([0x30, 0x03, 0x01]), encodeDn(a)), 'garbage is no name');
});

t.test('certificates over IKEv2', { skip: skip ?? false }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'v2auth-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  makeGatewayPki(dir, 'ec');
  makeLeafCert(dir, 'rsaA', 'rsa2048', '/O=sitelink lab/CN=gwA.lab', 'DNS:gwA.lab');
  makeLeafCert(dir, 'ipB', 'p384', '/O=sitelink lab/CN=gwB', 'IP:198.51.100.2, IP:2001:db8::2');
  makeLeafCert(dir, 'mailA', 'p256', '/O=sitelink lab/CN=gwA', 'email:gwa@sitelink.lab');
  const other = path.join(dir, 'other');
  readFileSync(path.join(dir, 'root.pem'));
  (await import('node:fs')).mkdirSync(other);
  makeGatewayPki(other, 'ec', 'foreign');
  const sig = (name: string, rootDir = dir): PeerAuth => ({ kind: 'signature', signature: leafSignatureAuth(dir, name, rootDir) });
  const foreign: PeerAuth = { kind: 'signature', signature: leafSignatureAuth(other, 'gwA') };

  const established = (h: Harness<Ikev2Node>): boolean =>
    h.a.status()[0]?.state === 'ESTABLISHED' && h.b.status()[0]?.state === 'ESTABLISHED' && h.installs.A.length === 2 && h.installs.B.length === 2;
  const keysAgree = (h: Harness<Ikev2Node>): boolean =>
    h.installs.A.find((s) => s.direction === 'out')!.encKey.equals(h.installs.B.find((s) => s.direction === 'in')!.encKey);
  const authOf = (h: Harness<Ikev2Node>, side: 'A' | 'B'): string => h.logs[side].find((l) => /authenticated \(/.test(l)) ?? '';

  t.test('RSA (A, RSASSA-PSS) and ECDSA P-256 (B), FQDN identities, CERT and CERTREQ', async (t) => {
    const h = v2({ peerA: { auth: [sig('rsaA')] }, peerB: { auth: [sig('gwB')] } });
    h.bringUp();
    t.same(h.failed, { A: [], B: [] });
    t.ok(established(h), 'both established with a child SA pair');
    t.ok(keysAgree(h));
    t.match(authOf(h, 'B'), /we ecdsa-sig, peer rsa-pss-sha256/);
    t.match(authOf(h, 'A'), /we rsa-sig, peer ecdsa-sha256/);
    t.equal(h.a.status()[0]!.auth, 'rsa-sig');
    t.equal(h.b.status()[0]!.auth, 'ecdsa-sig');
    const init = decodeMessage(h.wire[1]!.data);
    t.ok(init.ok && init.value.payloads.some((p) => p.type === 38), 'the responder asks for a certificate in IKE_SA_INIT (CERTREQ)');
    t.ok(init.ok && init.value.payloads.some((p) => p.type === 41 && 'notifyType' in p && p.notifyType === 16431), 'and announces its hashes');
  });

  t.test('ID types: IPv4 and IPv6 addresses and e-mail bound to the certificate SAN', async (t) => {
    for (const [aId, bId, leafA] of [
      [{ idType: IdType.USER_FQDN, name: 'gwa@sitelink.lab' }, { idType: IdType.IPV4_ADDR, address: '198.51.100.2' }, 'mailA'],
      [{ idType: IdType.USER_FQDN, name: 'gwa@sitelink.lab' }, { idType: IdType.IPV6_ADDR, address: '2001:db8::2' }, 'mailA'],
    ] as const) {
      const h = v2({ peerA: { auth: [sig(leafA)], localId: aId, remoteId: bId }, peerB: { auth: [sig('ipB')], localId: bId, remoteId: aId } });
      h.bringUp();
      t.same(h.failed, { A: [], B: [] }, `${aId.name} <-> ${'address' in bId ? bId.address : ''}`);
      t.ok(established(h));
      t.match(authOf(h, 'A'), /peer ecdsa-sha384/, 'P-384 signs with SHA-384');
    }
    // An ID the certificate does not carry is refused.
    const h = v2({
      peerA: { auth: [sig('mailA')], localId: { idType: IdType.USER_FQDN, name: 'other@sitelink.lab' } },
      peerB: { auth: [sig('gwB')], remoteId: { idType: IdType.USER_FQDN, name: 'other@sitelink.lab' } },
    });
    h.bringUp();
    t.match(h.failed.B[0], /certificate does not match the peer identity/);
    t.equal(h.installs.A.length + h.installs.B.length, 0);
  });

  t.test('ID type DN: config text matched against the certificate subject', async (t) => {
    const subjectB = certFields(Buffer.from(new X509Certificate(readFileSync(path.join(dir, 'gwB.pem'))).raw)).subjectDer;
    const typed = encodeDn(parseDnText('o=SITELINK LAB, cn=gwB.lab') as never);
    const dnB = { idType: IdType.DER_ASN1_DN, data: typed } as const;
    const h = v2({ peerA: { auth: [sig('gwA')] }, peerB: { auth: [sig('gwB')], localId: dnB }, ...{} });
    const peersA = h.a.peers().map((p) => ({ ...p, remoteId: dnB }));
    h.a.setPeers(peersA, []);
    h.bringUp();
    t.same(h.failed, { A: [], B: [] });
    t.ok(established(h));
    // B sends its certificate's own subject bytes (a UTF8String/PrintableString mix from openssl), not our re-encoding.
    const response = h.wire.map((d) => decodeMessage(d.data)).filter((m) => m.ok && isResponse(m.value.header) && m.value.header.exchange === 35);
    t.equal(response.length, 1, 'one IKE_AUTH response');
    t.ok(sameDn(subjectB, typed), 'the configured DN names the certificate subject');
    t.match(h.logs.A.join('\n'), /peer dn:O=sitelink lab, CN=gwB\.lab authenticated/, 'the DN shows as text');
  });

  t.test('an untrusted CA fails AUTH on the responder, nothing installed', async (t) => {
    const h = v2({ peerA: { auth: [foreign] }, peerB: { auth: [sig('gwB')] } });
    h.bringUp();
    t.match(h.failed.B[0], /certificate rejected: no path to a trusted root/);
    t.match(h.failed.A[0], /refused our AUTH/);
    t.equal(h.installs.A.length + h.installs.B.length, 0);
  });

  t.test('CRLs (shared with IKEv1): a revoked certificate is refused at level 1, a clean CRL passes', async (t) => {
    const f = (n: string): string => path.join(dir, n);
    writeFileSync(
      f('ca.cnf'),
      `[ca]\ndefault_ca = lab\n[lab]\ndatabase = ${f('index.txt')}\ncrlnumber = ${f('crlnumber')}\n` +
        `certificate = ${f('root.pem')}\nprivate_key = ${f('root.key')}\ndefault_md = sha256\ndefault_crl_days = 7\n`,
    );
    writeFileSync(f('index.txt'), '');
    writeFileSync(f('crlnumber'), '01\n');
    const ca = (...args: string[]): void => void execFileSync('openssl', ['ca', '-config', f('ca.cnf'), ...args], { cwd: dir, stdio: 'pipe' });
    ca('-gencrl', '-out', f('clean.crl'));
    ca('-revoke', f('gwA.pem'));
    ca('-gencrl', '-out', f('revoked.crl'));
    const withCrl = (crl: string): PeerAuth => {
      const s = leafSignatureAuth(dir, 'gwB');
      return { kind: 'signature', signature: { ...s, trust: { ...s.trust, crlLevel: 1, crls: [readFileSync(f(crl))] } } };
    };
    const revoked = v2({ peerA: { auth: [sig('gwA')] }, peerB: { auth: [withCrl('revoked.crl')] } });
    revoked.bringUp();
    t.match(revoked.failed.B[0], /certificate rejected: certificate 21 is revoked/);
    t.equal(revoked.installs.A.length + revoked.installs.B.length, 0);
    const clean = v2({ peerA: { auth: [sig('gwA')] }, peerB: { auth: [withCrl('clean.crl')] } });
    clean.bringUp();
    t.ok(established(clean), 'a clean CRL lets it through');
  });

  t.test('method precedence: the initiator uses its first method, the responder answers in kind', async (t) => {
    const h1 = v2({ peerA: { auth: [{ kind: 'psk' }, sig('gwA')] }, peerB: { auth: [sig('gwB'), { kind: 'psk' }] } });
    h1.bringUp();
    t.ok(established(h1));
    t.equal(h1.a.status()[0]!.auth, 'psk', 'A: psk first');
    t.equal(h1.b.status()[0]!.auth, 'psk', 'B answers with psk although signatures come first for it');
    const h2 = v2({ peerA: { auth: [sig('gwA'), { kind: 'psk' }] }, peerB: { auth: [{ kind: 'psk' }, sig('gwB')] } });
    h2.bringUp();
    t.ok(established(h2));
    t.equal(h2.b.status()[0]!.auth, 'ecdsa-sig');
    const h3 = v2({ peerA: { auth: [sig('gwA')] }, peerB: { auth: [{ kind: 'psk' }] } });
    h3.bringUp();
    t.match(h3.failed.B[0], /configured for psk only/, 'a signature is refused by a psk-only peer');
  });

  t.test("RFC 7383: an RSA certificate's IKE_AUTH crosses a path that drops IP fragments only when fragmented (4096-bit: interop)", async (t) => {
    const h = v2({ peerA: { auth: [sig('rsaA')] }, peerB: { auth: [sig('gwB')] }, maxDatagram: 1300 });
    h.bringUp();
    t.ok(established(h), 'established across the 1300-byte path');
    t.ok(h.a.counters.fragmentsSent >= 2, `${h.a.counters.fragmentsSent} fragments sent`);
    t.equal(h.tooBig.length, 0, 'nothing needed IP fragmentation');
    const off = v2({ peerA: { auth: [sig('rsaA')] }, peerB: { auth: [sig('gwB')] }, maxDatagram: 1300, fragmentationA: false });
    off.bringUp();
    t.ok(off.tooBig.length >= 1, 'without RFC 7383 the IKE_AUTH is lost');
    t.equal(off.installs.B.length, 0);
    const small = v2({ peerA: { auth: [sig('rsaA')], fragmentSize: 600 }, peerB: { auth: [sig('gwB')], fragmentSize: 600 }, maxDatagram: 620 });
    small.bringUp();
    t.ok(established(small), 'fragment-size 600 fits a 620-byte path');
    t.ok(small.a.counters.fragmentsSent > h.a.counters.fragmentsSent, 'more, smaller fragments');
  });
});

t.test('RFC 8784 PPK', async (t) => {
  t.test("known answer: SK_d' = prf+(PPK, SK_d) etc. (values from openssl mac HMAC)", async (t) => {
    const ppk = Buffer.alloc(32, 0xaa);
    const k32 = { d: Buffer.alloc(32, 0x11), pi: Buffer.alloc(32, 0x22), pr: Buffer.alloc(32, 0x33) };
    const k = derivePpkKeys(prfById(PrfId.HMAC_SHA2_256)!, ppk, k32);
    t.equal(k.d.toString('hex'), '98fb4531b5691a87719c1ea3798c78fb087f646ecc6e64c84b4096a49f143b96');
    t.equal(k.pi.toString('hex'), '2492e6b83c0fcbe0be5f796ce7936de7e4fd3b280a50d212c64ebf8a3218320c');
    t.equal(k.pr.toString('hex'), 'fbd2650b41fad3d47f2319b0ed0b0a4829fc6ecf25b1b5d909d3d8898431f3d2');
    const k48 = { d: Buffer.alloc(48, 0x11), pi: Buffer.alloc(48, 0x22), pr: Buffer.alloc(48, 0x33) };
    const k384 = derivePpkKeys(prfById(PrfId.HMAC_SHA2_384)!, ppk, k48);
    t.equal(k384.d.toString('hex'), '014e87c360c1f99adb1315a02b99ea0efd0b0fa6ff6846104e5f10adcd41e33a443f2d4af0c48a8420e49f25f8a8332c');
    t.equal(k384.pi.length, 48);
  });

  const ppkOf = (key: number, required: boolean): Partial<PeerPolicy> => ({
    ppk: { id: Buffer.from('branch-ppk'), key: new Secret(Buffer.alloc(32, key)), required },
  });
  const run = (a: Partial<PeerPolicy>, b: Partial<PeerPolicy>): Harness<Ikev2Node> => {
    const h = v2({ peerA: a, peerB: b });
    h.bringUp();
    return h;
  };
  const childKey = (h: Harness<Ikev2Node>, side: 'A' | 'B', dir: 'in' | 'out'): Buffer | undefined =>
    h.installs[side].find((s) => s.direction === dir)?.encKey;

  t.test('both required: established with the PPK, child keys agree', async (t) => {
    const h = run(ppkOf(1, true), ppkOf(1, true));
    t.same(h.failed, { A: [], B: [] });
    t.equal(h.installs.A.length, 2);
    t.same(childKey(h, 'A', 'out'), childKey(h, 'B', 'in'));
    t.match(h.logs.B.join('\n'), /authenticated \(we psk, peer psk, PPK\)/);
    t.match(h.logs.A.join('\n'), /, PPK\), IKE SA established/);
    t.notMatch(h.logs.A.join('\n') + h.logs.B.join('\n'), /aaaa|0101010101/, 'no key material in the log');
    // Rekeying the IKE SA keeps working under the PPK-derived SK_d.
    h.advance(28800 * 1000 * 0.91);
    t.equal(h.failed.A.length + h.failed.B.length, 0);
  });

  t.test('A optional, B without a PPK: NO_PPK_AUTH lets it in without one', async (t) => {
    const h = run(ppkOf(1, false), {});
    t.same(h.failed, { A: [], B: [] });
    t.equal(h.installs.B.length, 2);
    t.notMatch(h.logs.A.join('\n'), /PPK\), IKE SA/);
  });

  t.test('A optional, B optional with the PPK: the PPK is used', async (t) => {
    const h = run(ppkOf(3, false), ppkOf(3, false));
    t.same(h.failed, { A: [], B: [] });
    t.match(h.logs.A.join('\n'), /, PPK\), IKE SA established/);
  });

  t.test('A required, B without a PPK: refused before IKE_AUTH', async (t) => {
    const h = run(ppkOf(1, true), {});
    t.match(h.failed.A[0], /did not announce USE_PPK/);
    t.equal(h.installs.A.length + h.installs.B.length, 0);
  });

  t.test('B required, A without a PPK: AUTHENTICATION_FAILED', async (t) => {
    const h = run({}, ppkOf(1, true));
    t.match(h.failed.B[0], /did not send USE_PPK/);
    t.equal(h.installs.A.length + h.installs.B.length, 0);
  });

  t.test('different PPKs under one PPK_ID: AUTH fails', async (t) => {
    const h = run(ppkOf(1, false), ppkOf(2, false));
    t.match(h.failed.B[0], /AUTH does not verify/);
    t.equal(h.installs.A.length + h.installs.B.length, 0);
  });

  t.test('PPK with certificates', { skip: skip ?? false }, async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'v2ppk-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    makeGatewayPki(dir, 'ec');
    const sig = (gw: string): PeerAuth => ({ kind: 'signature', signature: leafSignatureAuth(dir, gw) });
    const h = run({ ...ppkOf(5, true), auth: [sig('gwA')] }, { ...ppkOf(5, true), auth: [sig('gwB')] });
    t.same(h.failed, { A: [], B: [] });
    t.match(h.logs.B.join('\n'), /we ecdsa-sig, peer ecdsa-sha256, PPK/);
  });
});

t.test('RFC 7383 §2.6: reassembly bounded in time; forged and lost fragments are dropped and counted', async (t) => {
  const long = 'gw-' + 'x'.repeat(1500) + '.lab';
  const h = v2({ peerA: { localId: { idType: 2, name: long } }, peerB: { remoteId: { idType: 2, name: long } } });
  const fragmentNo = (d: Buffer): number => {
    const m = decodeMessage(d);
    const last = m.ok ? m.value.payloads[m.value.payloads.length - 1] : undefined;
    return last && 'fragmentNumber' in last ? last.fragmentNumber : 0;
  };
  let mode: 'lose' | 'forge' | 'pass' = 'forge';
  h.filter = (d) => {
    if (d.from !== 'A' || fragmentNo(d.data) !== 2 || mode === 'pass') return d.data;
    if (mode === 'lose') return null;
    const forged = Buffer.from(d.data);
    forged[forged.length - 20]! ^= 0x40; // inside the ciphertext: the ICV no longer matches
    return forged;
  };
  const step = (seconds: number): void => {
    for (let i = 0; i < seconds; i++) h.advance(1000);
  };
  h.bringUp();
  t.equal(h.b.counters.fragmentsDropped, 1, 'a fragment failing its integrity check is dropped and counted');
  t.equal(h.installs.B.length, 0, 'and does not complete the message');
  mode = 'lose';
  step(REASSEMBLY_TIMEOUT_MS / 1000 + 1);
  t.equal(h.installs.B.length, 0, 'fragment 2 lost in the retransmissions too');
  t.ok(h.b.counters.fragmentsDropped >= 2, `the incomplete message timed out (${h.b.counters.fragmentsDropped} fragments dropped in all)`);
  mode = 'pass';
  step(4);
  t.equal(h.installs.B.length, 2, 'the next retransmission completes it');
  t.equal(h.installs.A.length, 2);
});
