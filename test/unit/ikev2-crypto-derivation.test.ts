// IKEv2 key derivation known answers and properties (RFC 7296 §2.13-§2.18).
// The SKEYSEED/DKM vector is a NIST CAVS SP 800-135 IKEv2 KDF sample
// (SHA-1, 64-bit nonces, 1056-bit DKM): SKEYSEED, DKM = prf+(SKEYSEED,
// Ni|Nr|SPIi|SPIr), child DKM = prf+(SK_d, Ni|Nr) and with g^ir (new), and
// the rekey SKEYSEED = prf(SK_d, g^ir (new)|Ni|Nr). AEAD wrappers are checked
// against the GCM specification's test case 4 and RFC 7539 §2.8.2.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { aeadOpen, aeadSeal } from '../../firmware/src/ike/crypto/aead.ts';
import { deriveChildKeys, deriveIkeSaKeys, prfPlus, rekeySkeyseed, skeyseed } from '../../firmware/src/ike/v2/crypto/key-derivation.ts';
import { pskAuth, signedOctets, verifyPskAuth } from '../../firmware/src/ike/v2/crypto/authentication.ts';
import { encrById, integById, prfById } from '../../firmware/src/ike/v2/crypto/transforms.ts';
import { EncrId, IntegId, PrfId } from '../../firmware/src/ike/v2/wire/constants.ts';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('NIST CAVS IKEv2 KDF sample (SHA-1)', async (t) => {
  const prf = prfById(PrfId.HMAC_SHA1)!;
  const gir = h('4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52');
  const girNew = h('863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330');
  const ni = h('32b50d5f4a3763f3');
  const nr = h('9206a04b26564cb1');
  const spiI = h('34c9e7c188868785');
  const spiR = h('3ff77d760d2b2199');
  const seed = skeyseed(prf, ni, nr, gir);
  t.equal(seed.toString('hex'), 'a9a7b222b59f8f48645f28a1db5b5f5d7479cba7', 'SKEYSEED');
  const dkm = prfPlus(prf, seed, Buffer.concat([ni, nr, spiI, spiR]), 132);
  t.equal(
    dkm.toString('hex'),
    'a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002a2a63080e514a062768b76606f9fa5e992204fc5a670bde3f10d6b027113936a5c55b648a194ae587b0088d52204b702c979fa280870d2ed41efa9c549fd11198af1670b143d384bd275c5f594cf266b05ebadca855e4249520a441a81157435a7a56cc4',
    'DKM',
  );
  const skD = dkm.subarray(0, prf.length);
  t.equal(
    prfPlus(prf, skD, Buffer.concat([ni, nr]), 132).toString('hex'),
    '8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c5811a8e7b5d1cdabd9560b2d5e092d1f24e2d4b85eccdf0ad0dc9abd94b51ee71814ca6dbc8bb51b6309f5b9545c7eb35cf5580b1e521a8fe20754a2d883ba0c2cf285f524aea6545b33106bc03e614296d319d41d4b50b3f510b1c0a22f3e664994d234cb4',
    'DKM (child SA)',
  );
  t.equal(
    prfPlus(prf, skD, Buffer.concat([girNew, ni, nr]), 132).toString('hex'),
    'bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d37301628190e38c66232eab4b3ab14c400a5197dd3730ed4820a8a10394d51e1c0400052f63ebd36b0e7ef53aaed31eba4a5080d7d4b5666023a8bbb5ffb7857240f9a05884d1b7d2f933708450b7b3288f1fc863ab49fa901227cffc06e27899c7054d56fd74c',
    'DKM (child SA, D-H)',
  );
  t.equal(rekeySkeyseed(prf, skD, girNew, ni, nr).toString('hex'), '63e81194946ebd05df7df5ebf5d8750056bf1f1d', 'SKEYSEED (rekey)');

  // The seven IKE SA keys are consecutive slices of the same DKM (§2.14), in wire order.
  const encr = encrById(EncrId.AES_CBC, 128)!;
  const integ = integById(IntegId.HMAC_SHA1_96)!;
  const k = deriveIkeSaKeys({ prf, encr, integ, skeyseed: seed, ni, nr, spiI, spiR });
  t.same(Buffer.concat([k.d, k.ai, k.ar, k.ei, k.er, k.pi, k.pr]), dkm.subarray(0, 20 * 3 + 20 * 2 + 16 * 2));
  t.same([k.d.length, k.ai.length, k.ar.length, k.ei.length, k.er.length, k.pi.length, k.pr.length], [20, 20, 20, 16, 16, 20, 20]);

  // Child keys (§2.17): initiator->responder first, each SA's encryption key (and salt) before its integrity key.
  const child = deriveChildKeys(prf, skD, ni, nr, { encKey: 16, salt: 4, integKey: 0 }, girNew);
  const want = prfPlus(prf, skD, Buffer.concat([girNew, ni, nr]), 40);
  t.same(Buffer.concat([child.initiatorToResponder.encKey, child.initiatorToResponder.salt]), want.subarray(0, 20));
  t.same(Buffer.concat([child.responderToInitiator.encKey, child.responderToInitiator.salt]), want.subarray(20, 40));
});

t.test('AEAD SK keys carry the salt; no integrity keys (RFC 5282 §7)', async (t) => {
  const prf = prfById(PrfId.HMAC_SHA2_256)!;
  const encr = encrById(EncrId.AES_GCM_16, 256)!;
  const k = deriveIkeSaKeys({
    prf,
    encr,
    integ: undefined,
    skeyseed: randomBytes(32),
    ni: randomBytes(32),
    nr: randomBytes(32),
    spiI: randomBytes(8),
    spiR: randomBytes(8),
  });
  t.same([k.d.length, k.ai.length, k.ar.length, k.ei.length, k.er.length, k.pi.length, k.pr.length], [32, 0, 0, 36, 36, 32, 32]);
});

t.test('prf+ refuses more than 255 blocks (§2.13)', async (t) => {
  const prf = prfById(PrfId.HMAC_SHA2_256)!;
  t.equal(prfPlus(prf, Buffer.alloc(32), Buffer.alloc(1), 255 * 32).length, 255 * 32);
  t.throws(() => prfPlus(prf, Buffer.alloc(32), Buffer.alloc(1), 255 * 32 + 1), RangeError);
});

t.test('PSK AUTH (§2.15) = prf(prf(secret, "Key Pad for IKEv2"), RealMessage | NonceData | prf(SK_p, IDbody))', async (t) => {
  const prf = prfById(PrfId.HMAC_SHA2_256)!;
  const x = { prf, realMessage: randomBytes(300), peerNonce: randomBytes(32), skP: randomBytes(32), idBody: Buffer.from('02000000677741', 'hex') };
  const octets = signedOctets(x);
  t.same(octets.subarray(0, 332), Buffer.concat([x.realMessage, x.peerNonce]));
  t.same(octets.subarray(332), prf.prf(x.skP, x.idBody));
  const secret = Buffer.from('lab secret');
  const auth = pskAuth(prf, secret, octets);
  t.same(auth, prf.prf(prf.prf(secret, Buffer.from('Key Pad for IKEv2')), octets));
  t.ok(verifyPskAuth(prf, secret, octets, auth));
  t.notOk(verifyPskAuth(prf, Buffer.from('other secret'), octets, auth));
  t.notOk(verifyPskAuth(prf, secret, signedOctets({ ...x, idBody: Buffer.from('02000000677742', 'hex') }), auth), 'a different ID changes AUTH');
});

t.test('AES-GCM: the GCM specification test case 4 through the salt | IV nonce split', async (t) => {
  const key = h('feffe9928665731c6d6a8f9467308308');
  const encr = encrById(EncrId.AES_GCM_16, 128)!;
  const km = Buffer.concat([key, h('cafebabe')]);
  const iv = h('facedbaddecaf888');
  const aad = h('feedfacedeadbeeffeedfacedeadbeefabaddad2');
  const p = h('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
  const sealed = encr.encrypt(km, iv, aad, p);
  t.equal(
    sealed.toString('hex'),
    '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091' +
      '5bc94fbc3221a5db94fae95ae7121a47',
  );
  t.same(encr.decrypt(km, iv, aad, sealed), p);
  const bad = Buffer.from(sealed);
  bad[0]! ^= 1;
  t.equal(encr.decrypt(km, iv, aad, bad), null);
  t.equal(encr.decrypt(km, iv, Buffer.alloc(0), sealed), null, 'AAD is authenticated');
});

t.test('ChaCha20-Poly1305: RFC 7539 §2.8.2', async (t) => {
  const key = h('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const nonce = h('070000004041424344454647');
  const aad = h('50515253c0c1c2c3c4c5c6c7');
  const p = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const sealed = aeadSeal({ kind: 'chacha20-poly1305', key, nonce, aad, tagLength: 16 }, p);
  t.equal(sealed.subarray(0, 16).toString('hex'), 'd31a8d34648e60db7b86afbc53ef7ec2');
  t.equal(sealed.subarray(sealed.length - 16).toString('hex'), '1ae10b594f09e26a7e902ecbd0600691');
  t.same(aeadOpen({ kind: 'chacha20-poly1305', key, nonce, aad, tagLength: 16 }, sealed), p);
  // The IKEv2 transform splits its 36-byte key material into key | salt, salt | IV being the nonce (RFC 7634 §2).
  const encr = encrById(EncrId.CHACHA20_POLY1305, undefined)!;
  t.same(encr.encrypt(Buffer.concat([key, nonce.subarray(0, 4)]), nonce.subarray(4), aad, p), sealed);
  t.equal(encrById(EncrId.CHACHA20_POLY1305, 256), undefined, 'no Key Length attribute for ChaCha20-Poly1305 (RFC 7634 §3)');
});
