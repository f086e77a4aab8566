// Offline IKEv1 derivation checks that need neither root nor a live peer:
// a vector recorded from a strongSwan 5.9.8 responder (ike-crypto-strongswan
// test, log level 4; lab-only PSK and throwaway DH values), plus the
// properties of the IV chaining state, KEYMAT expansion/splitting and the
// NAT-D address encoding.

import t from 'tap';
import { hashById, HashId } from '../../firmware/src/ike/crypto/hash.ts';
import { cipherById, CipherId } from '../../firmware/src/ike/crypto/cipher.ts';
import { derivePhase1Keys, expandEncryptionKey, skeyidPreSharedKey, skeyidSignature } from '../../firmware/src/ike/crypto/skeyid.ts';
import { messageIdBytes, phase1Iv, phase2Iv } from '../../firmware/src/ike/crypto/iv.ts';
import { hashI, hashR, quickModeHash3 } from '../../firmware/src/ike/crypto/exchange-hash.ts';
import { espKeys, keymat, PROTO_ESP, splitEspKeymat } from '../../firmware/src/ike/crypto/keymat.ts';
import { IsakmpCryptoError, IsakmpCryptoState } from '../../firmware/src/ike/crypto/isakmp-crypto-state.ts';
import { ipToBytes, natDetectionHash } from '../../firmware/src/ike/crypto/nat-d.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const sha1 = hashById(HashId.SHA1);
const sha256 = hashById(HashId.SHA2_256);
const aes128 = cipherById(CipherId.AES_CBC, 128);
if (!sha1 || !sha256 || !aes128) throw new Error('algorithms missing');

// strongSwan, IKEv1 main mode PSK, aes128-sha256-ecp256, ESP aes128-sha256.
// PSK is the ASCII string below; gwA.lab initiator, gwB.lab responder.
const PSK = Buffer.from('sitelink ike-crypto lab psk');
const R = {
  ckyI: 'd2635946132bddb2',
  ckyR: 'f7134604fda12f28',
  niB: 'f1dd5ddc547c4d6baf91d3f90550e6214d03437ca21ddffc575c5e4f6b3d5cf3',
  nrB: '37d5a7230451ea1f91b51145d1821095d60daebb05e729c6eeb187b7d7fd58ee',
  gxi:
    '3c36af6d0da474aa15ba305370025f13e34635f06c1335a4d2e0b4fbd0a2681e' +
    '146939e7ce41e57cb11693742519a10039ee304ec0034f5d570f16b56144bf96',
  gxr:
    'a7c319a993b19421ccc94bcd8f0991d8c236481cc89a2bb6b1b327a60e00d5c8' +
    '694914142de71886b3e5bb72cfa68a8a566fdc4c5e682951d5d5a9a215981482',
  gxy: '253396973e8c0c3f1c74a9bcacec189bc6f5079c75833b8d9c666b1ddad56aae',
  saiB:
    '00000001000000010000002c01010001000000240101000080010007800e0080' +
    '800200048004001380030001800b0001800c3de0',
  skeyid: '63dece7f0bd398aae393a2d15621775bd8c1b5c74d4c9db72396b8a817cccea6',
  skeyidD: 'ea6622fefe39347367c0b020234422d4774c8478779e1c51ee7c735e624073dc',
  skeyidA: 'ef22d26565d42a574daf622353f63f09e0debd9190f2acf2d599852f349b3d04',
  skeyidE: 'a1499ca3786b778cea42e2af43a423a910be20a961cd9d0f69a1bf0a415b81a2',
  ka: 'a1499ca3786b778cea42e2af43a423a9',
  iv: '529f5c1cade0b48da773c6c5c1bbff50',
  idiiB: '020000006777412e6c6162',
  hashI: 'e599eb0d205458d996eae79c709103025a17b2f2a859a3836e37aa3f6325df91',
  idirB: '020000006777422e6c6162',
  hashR: 'e6416c5cfc2984cdd4996cbe38cb7ddf9bdf1727f55a58a7552f35420b600b68',
  mid: '52adc272',
  qNi: '75ac2f7d77f5ad0b4e0283f2239921c7e27b052696239a79041d9b83eacc1dbb',
  qNr: '3bbed47e53ac8349e860b47055aa89093d62be616d471f613212d9b19c587100',
  spiI: '9b44b7d4',
  spiR: '004cafae',
  encI: '09ec7799ad80f028ae34499df91f7f53',
  encR: '908312a0c705268aa8b8708d024c8035',
  integI: '60f89b78350c8b5ef16e42cf6454a8639aa424e13f79ae5857a6932406a9d09c',
  integR: '5d7b0e8bbef5ed1ee7490640658ea5264663eb1766c5bf2a2bc0afd178493f26',
  hash3: '4234c5e705c8cc3b5d66be6df3d4ab1a787a2fa41ead8e7da573470591471316',
};

// strongSwan, aes256-sha1-modp2048: SHA-1 SKEYID_e (20 bytes) expanded to a
// 32-byte AES-256 key (RFC 2409 Appendix B).
const EXPANSION = {
  skeyidE: '8817b340bb599a91412d05d73913ad2d2cc8bfa6',
  ka: 'fdbb9e429ebd73944755944bc66b26cfaef84326a3e703de73c94dbbde36a342',
};

t.test('recorded strongSwan vector: SKEYID chain, IV, HASH_I/R, HASH(3), KEYMAT', async (t) => {
  const skeyid = skeyidPreSharedKey(sha256, PSK, hex(R.niB), hex(R.nrB));
  t.equal(skeyid.toString('hex'), R.skeyid, 'SKEYID = prf(PSK, Ni_b | Nr_b)');
  t.equal(hex(R.gxy).length, 32, 'ECP-256 g^xy is the 32-byte x coordinate');
  const k = derivePhase1Keys(sha256, skeyid, hex(R.gxy), hex(R.ckyI), hex(R.ckyR), 16);
  t.equal(k.skeyidD.toString('hex'), R.skeyidD, 'SKEYID_d');
  t.equal(k.skeyidA.toString('hex'), R.skeyidA, 'SKEYID_a');
  t.equal(k.skeyidE.toString('hex'), R.skeyidE, 'SKEYID_e');
  t.equal(k.encKey.toString('hex'), R.ka, 'Ka = first 16 bytes of SKEYID_e');
  t.equal(phase1Iv(sha256, 16, hex(R.gxi), hex(R.gxr)).toString('hex'), R.iv, 'IV = hash(g^xi | g^xr)');
  const x = { gxi: hex(R.gxi), gxr: hex(R.gxr), ckyI: hex(R.ckyI), ckyR: hex(R.ckyR), saiB: hex(R.saiB) };
  t.equal(hashI(sha256, skeyid, x, hex(R.idiiB)).toString('hex'), R.hashI, 'HASH_I');
  t.equal(hashR(sha256, skeyid, x, hex(R.idirB)).toString('hex'), R.hashR, 'HASH_R');
  t.not(hashI(sha256, skeyid, x, hex(R.idirB)).toString('hex'), R.hashI, 'HASH_I depends on IDii_b');
  const mid = parseInt(R.mid, 16);
  t.equal(quickModeHash3(sha256, k.skeyidA, mid, hex(R.qNi), hex(R.qNr)).toString('hex'), R.hash3, 'QM HASH(3)');
  const lengths = { encKey: 16, salt: 0, integKey: 32 };
  const common = { skeyidD: k.skeyidD, protocol: PROTO_ESP, niB: hex(R.qNi), nrB: hex(R.qNr) };
  const toResponder = espKeys(sha256, { ...common, spi: hex(R.spiR) }, lengths);
  const toInitiator = espKeys(sha256, { ...common, spi: hex(R.spiI) }, lengths);
  t.equal(toResponder.encKey.toString('hex'), R.encI, 'ESP enc key, initiator->responder (responder SPI)');
  t.equal(toResponder.integKey.toString('hex'), R.integI, 'ESP integrity key follows (KEYMAT expanded to 48 bytes)');
  t.equal(toInitiator.encKey.toString('hex'), R.encR, 'ESP enc key, responder->initiator (initiator SPI)');
  t.equal(toInitiator.integKey.toString('hex'), R.integR, 'ESP integrity key, responder->initiator');
});

t.test('Appendix B key expansion (recorded) and its edge cases', async (t) => {
  t.equal(expandEncryptionKey(sha1, hex(EXPANSION.skeyidE), 32).toString('hex'), EXPANSION.ka, 'K1 | K2 truncated to 32');
  const e = hex(EXPANSION.skeyidE);
  t.equal(expandEncryptionKey(sha1, e, 16).toString('hex'), EXPANSION.skeyidE.slice(0, 32), 'long enough: leading bytes');
  t.equal(expandEncryptionKey(sha1, e, 20).toString('hex'), EXPANSION.skeyidE, 'exactly long enough: SKEYID_e itself');
  const k64 = expandEncryptionKey(sha1, e, 64);
  t.equal(k64.length, 64);
  t.equal(k64.subarray(0, 32).toString('hex'), EXPANSION.ka, 'longer expansion extends the same stream');
});

t.test('SKEYID for signatures swaps key and data', async (t) => {
  const ni = Buffer.alloc(16, 1);
  const nr = Buffer.alloc(16, 2);
  const gxy = Buffer.alloc(32, 3);
  const s = skeyidSignature(sha256, ni, nr, gxy);
  t.same(s, sha256.prf(Buffer.concat([ni, nr]), gxy), 'prf(Ni_b | Nr_b, g^xy)');
  t.notSame(s, skeyidPreSharedKey(sha256, gxy, ni, nr));
});

t.test('KEYMAT expansion, PFS and split order', async (t) => {
  const base = { skeyidD: Buffer.alloc(32, 9), protocol: PROTO_ESP, spi: hex('01020304'), niB: Buffer.alloc(16, 1), nrB: Buffer.alloc(16, 2) };
  const long = keymat(sha256, base, 100);
  t.equal(long.length, 100);
  t.same(keymat(sha256, base, 32), long.subarray(0, 32), 'K1 is a prefix of the expansion');
  t.same(
    long.subarray(32, 64),
    sha256.prf(base.skeyidD, long.subarray(0, 32), Buffer.of(3), base.spi, base.niB, base.nrB),
    'K2 = prf(SKEYID_d, K1 | protocol | SPI | Ni_b | Nr_b)',
  );
  t.notSame(keymat(sha256, { ...base, gqmxy: Buffer.alloc(32, 7) }, 32), long.subarray(0, 32), 'PFS g(qm)^xy changes KEYMAT');
  t.notSame(keymat(sha256, { ...base, spi: hex('01020305') }, 32), long.subarray(0, 32), 'each SPI gets its own KEYMAT');
  t.throws(() => keymat(sha256, { ...base, spi: hex('010203') }, 32), RangeError, 'SPI must be 4 bytes');
  const km = Buffer.from([...Array(40).keys()]);
  const s = splitEspKeymat(km, { encKey: 16, salt: 4, integKey: 20 });
  t.same(s.encKey, km.subarray(0, 16), 'encryption key first');
  t.same(s.salt, km.subarray(16, 20), 'salt = last 4 bytes of the cipher share (RFC 4106 §8.1)');
  t.same(s.integKey, km.subarray(20, 40), 'integrity key last');
  t.throws(() => splitEspKeymat(km.subarray(0, 39), { encKey: 16, salt: 4, integKey: 20 }), RangeError);
});

t.test('ISAKMP crypto state: chaining per message ID, padding, rollback, wipe', async (t) => {
  const key = Buffer.alloc(16, 0x42);
  const iv0 = phase1Iv(sha256, 16, Buffer.alloc(8, 1), Buffer.alloc(8, 2));
  const a = new IsakmpCryptoState(aes128, sha256, key, iv0);
  const b = new IsakmpCryptoState(aes128, sha256, key, iv0);
  const m1 = Buffer.from('identity payload and hash, 37 bytes');
  const c1 = a.encrypt(0, m1);
  t.equal(c1.length, 48, 'padded to whole blocks');
  const p1 = b.decrypt(0, c1);
  t.same(p1.subarray(0, m1.length), m1, 'peer decrypts');
  t.ok(p1.subarray(m1.length).every((x) => x === 0), 'zero padding');
  const c2 = b.encrypt(0, Buffer.alloc(32, 5));
  t.equal(c2.length, 32, 'aligned body gets no extra block');
  t.same(a.decrypt(0, c2), Buffer.alloc(32, 5), 'reply decrypts (IV = last block of previous message)');
  t.same(a.ivFor(0), c2.subarray(16), 'IV tracks the last ciphertext block');

  // Two quick modes interleaved: each M-ID has its own chain from the phase 1 IV.
  const lastP1 = a.ivFor(0);
  t.same(a.ivFor(7), phase2Iv(sha256, 16, lastP1, 7), 'QM IV = hash(last phase 1 block | M-ID)');
  const q7 = a.encrypt(7, Buffer.alloc(20, 7));
  const q9 = a.encrypt(9, Buffer.alloc(20, 9));
  t.same(b.decrypt(9, q9).subarray(0, 20), Buffer.alloc(20, 9), 'M-ID 9 independent of 7');
  t.same(b.decrypt(7, q7).subarray(0, 20), Buffer.alloc(20, 7), 'M-ID 7 independent of 9');
  t.same(a.ivFor(0), lastP1, 'quick modes do not move the phase 1 chain');

  // A message that fails its HASH check must not advance the chain.
  const snap = b.snapshot();
  const forged = Buffer.alloc(32, 0xee);
  b.decrypt(7, forged);
  b.restore(snap);
  const q7b = a.encrypt(7, Buffer.alloc(16, 1));
  t.same(b.decrypt(7, q7b), Buffer.alloc(16, 1), 'after restore the real next message decrypts');

  a.forget(9);
  t.same(a.ivFor(9), phase2Iv(sha256, 16, lastP1, 9), 'forgotten M-ID starts afresh');
  t.throws(() => b.decrypt(0, Buffer.alloc(17)), IsakmpCryptoError, 'partial block refused');
  t.throws(() => b.decrypt(0, Buffer.alloc(0)), IsakmpCryptoError, 'empty body refused');
  t.throws(() => new IsakmpCryptoState(aes128, sha256, Buffer.alloc(15), iv0), IsakmpCryptoError, 'key length checked');
  a.wipe();
  t.throws(() => a.encrypt(0, m1), /wiped/, 'wiped state refuses');
  t.throws(() => messageIdBytes(2 ** 32), RangeError);
  t.same(messageIdBytes(0x7cdcfa6a), hex('7cdcfa6a'), 'M-ID in network order');
});

t.test('NAT-D address encoding (RFC 3947 §3.2)', async (t) => {
  t.same(ipToBytes('198.51.100.1'), hex('c6336401'));
  t.same(ipToBytes('2001:db8::1'), hex('20010db8000000000000000000000001'));
  t.same(ipToBytes('::'), Buffer.alloc(16));
  t.same(ipToBytes('fe80::1:2'), hex('fe800000000000000000000000010002'));
  t.same(ipToBytes('::ffff:198.51.100.1'), hex('00000000000000000000ffffc6336401'));
  t.throws(() => ipToBytes('198.51.100'), RangeError);
  const ck = hex('0102030405060708');
  const h4 = natDetectionHash(sha1, ck, ck, '198.51.100.1', 4500);
  t.same(h4, sha1.hash(ck, ck, hex('c6336401'), hex('1194')), 'HASH(CKY-I | CKY-R | IP | Port)');
  t.throws(() => natDetectionHash(sha1, ck, ck, '198.51.100.1', 70000), RangeError);
});
