// Published known-answer vectors for the IKEv1 crypto primitives.
// Sources: RFC 5903 §8 (ECP groups 19/20/21), RFC 7748 §6.1 (X25519),
// RFC 2202 §2/§3 (HMAC-MD5/SHA-1), RFC 4231 §4.2/§4.3 (HMAC-SHA-2),
// RFC 3602 §4 cases 1-2 (AES-CBC), FIPS 81 CBC example (DES-CBC).

import t from 'tap';
import { createHash, getDiffieHellman, randomBytes } from 'node:crypto';
import { dhGroupById, supportedDhGroups, DhError } from '../../firmware/src/ike/crypto/dh.ts';
import { privateExponentBits } from '../../firmware/src/ike/crypto/dh-modp.ts';
import { hashById, HashId } from '../../firmware/src/ike/crypto/hash.ts';
import { cipherById, CipherId } from '../../firmware/src/ike/crypto/cipher.ts';
import { constantTimeEqual, wipe } from '../../firmware/src/ike/crypto/secret.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 5903 §8.1-8.3: i, g^i = (gix, giy), r, g^r = (grx, gry), g^ir x coordinate.
const ECP_VECTORS = [
  {
    id: 19,
    i: 'c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433',
    gix: 'dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180',
    giy: '5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3',
    r: 'c6ef9c5d78ae012a011164acb397ce2088685d8f06bf9be0b283ab46476bee53',
    grx: 'd12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63',
    gry: '56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab',
    girx: 'd6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de',
  },
  {
    id: 20,
    i: '099f3c7034d4a2c699884d73a375a67f7624ef7c6b3c0f160647b67414dce655e35b538041e649ee3faef896783ab194',
    gix: '667842d7d180ac2cde6f74f37551f55755c7645c20ef73e31634fe72b4c55ee6de3ac808acb4bdb4c88732aee95f41aa',
    giy: '9482ed1fc0eeb9cafc4984625ccfc23f65032149e0e144ada024181535a0f38eeb9fcff3c2c947dae69b4c634573a81c',
    r: '41cb0779b4bdb85d47846725fbec3c9430fab46cc8dc5060855cc9bda0aa2942e0308312916b8ed2960e4bd55a7448fc',
    grx: 'e558dbef53eecde3d3fccfc1aea08a89a987475d12fd950d83cfa41732bc509d0d1ac43a0336def96fda41d0774a3571',
    gry: 'dcfbec7aacf3196472169e838430367f66eebe3c6e70c416dd5f0c68759dd1fff83fa40142209dff5eaad96db9e6386c',
    girx: '11187331c279962d93d604243fd592cb9d0a926f422e47187521287e7156c5c4d603135569b9e9d09cf5d4a270f59746',
  },
  {
    id: 21,
    i: '0037ade9319a89f4dabdb3ef411aaccca5123c61acab57b5393dce47608172a095aa85a30fe1c2952c6771d937ba9777f5957b2639bab072462f68c27a57382d4a52',
    gix: '0015417e84dbf28c0ad3c278713349dc7df153c897a1891bd98bab4357c9ecbee1e3bf42e00b8e380aeae57c2d107564941885942af5a7f4601723c4195d176ced3e',
    giy: '017cae20b6641d2eeb695786d8c946146239d099e18e1d5a514c739d7cb4a10ad8a788015ac405d7799dc75e7b7d5b6cf2261a6a7f1507438bf01beb6ca3926f9582',
    r: '0145ba99a847af43793fdd0e872e7cdfa16be30fdc780f97bccc3f078380201e9c677d600b343757a3bdbf2a3163e4c2f869cca7458aa4a4effc311f5cb151685eb9',
    grx: '00d0b3975ac4b799f5bea16d5e13e9af971d5e9b984c9f39728b5e5739735a219b97c356436adc6e95bb0352f6be64a6c2912d4ef2d0433ced2b6171640012d9460f',
    gry: '015c68226383956e3bd066e797b623c27ce0eac2f551a10c2c724d9852077b87220b6536c5c408a1d2aebb8e86d678ae49cb57091f4732296579ab44fcd17f0fc56a',
    girx: '01144c7d79ae6956bc8edb8e7c787c4521cb086fa64407f97894e5e6b2d79b04d1427e73ca4baa240a34786859810c06b3c715a3a8cc3151f2bee417996d19f3ddea',
  },
];

t.test('ECP groups 19/20/21: RFC 5903 §8 vectors, x|y encoding, x-only secret', async (t) => {
  for (const v of ECP_VECTORS) {
    const g = dhGroupById(v.id);
    if (!g) throw new Error(`group ${v.id} missing`);
    const ini = g.fromPrivateKey(hex(v.i));
    const res = g.fromPrivateKey(hex(v.r));
    t.equal(ini.publicKey.toString('hex'), v.gix + v.giy, `group ${v.id}: g^i is gix|giy without 0x04`);
    t.equal(res.publicKey.toString('hex'), v.grx + v.gry, `group ${v.id}: g^r is grx|gry`);
    t.equal(g.publicLength, ini.publicKey.length, `group ${v.id}: publicLength`);
    t.equal(ini.computeSecret(res.publicKey).toString('hex'), v.girx, `group ${v.id}: initiator secret = girx`);
    t.equal(res.computeSecret(ini.publicKey).toString('hex'), v.girx, `group ${v.id}: responder secret = girx`);

    const offCurve = Buffer.from(res.publicKey);
    offCurve[offCurve.length - 1]! ^= 0x01;
    t.throws(() => ini.computeSecret(offCurve), DhError, `group ${v.id}: point off the curve rejected`);
    t.throws(() => ini.computeSecret(res.publicKey.subarray(1)), DhError, `group ${v.id}: short value rejected`);
    t.throws(
      () => ini.computeSecret(Buffer.concat([Buffer.of(0x04), res.publicKey])),
      DhError,
      `group ${v.id}: SEC1 0x04 prefix is not the IKE encoding`,
    );
    t.throws(() => ini.computeSecret(Buffer.alloc(g.publicLength, 0xff)), DhError, `group ${v.id}: x,y >= p rejected`);
    t.throws(() => ini.computeSecret(Buffer.alloc(g.publicLength)), DhError, `group ${v.id}: (0,0) rejected`);
  }
});

t.test('group 31 curve25519: RFC 7748 §6.1', async (t) => {
  const g = dhGroupById(31);
  if (!g) throw new Error('group 31 missing');
  const alice = g.fromPrivateKey(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
  const bob = g.fromPrivateKey(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
  t.equal(alice.publicKey.toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  t.equal(bob.publicKey.toString('hex'), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  t.equal(alice.computeSecret(bob.publicKey).toString('hex'), k);
  t.equal(bob.computeSecret(alice.publicKey).toString('hex'), k);
  // u = 0 and u = 1 are low-order points: the X25519 output is all zeros (RFC 7748 §6.1).
  t.throws(() => alice.computeSecret(Buffer.alloc(32)), DhError, 'all-zero result rejected (u=0)');
  const one = Buffer.alloc(32);
  one[0] = 1;
  t.throws(() => alice.computeSecret(one), DhError, 'all-zero result rejected (u=1)');
  t.throws(() => alice.computeSecret(Buffer.alloc(31, 9)), DhError, 'wrong length rejected');
  const fresh = g.generate(randomBytes);
  t.equal(fresh.publicKey.length, 32);
  t.same(fresh.computeSecret(alice.publicKey), alice.computeSecret(fresh.publicKey), 'generated pair agrees');
});

t.test('MODP groups: agreement, fixed width, peer range checks', async (t) => {
  for (const id of [1, 2, 5, 14, 15, 16]) {
    const g = dhGroupById(id);
    if (!g) throw new Error(`group ${id} missing`);
    const a = g.generate(randomBytes);
    const b = g.generate(randomBytes);
    t.equal(a.publicKey.length, g.publicLength, `group ${id}: public value is prime width`);
    const s1 = a.computeSecret(b.publicKey);
    t.equal(s1.length, g.publicLength, `group ${id}: secret is prime width`);
    t.ok(s1.equals(b.computeSecret(a.publicKey)), `group ${id}: both sides agree`);
    const len = g.publicLength;
    const one = Buffer.alloc(len);
    one[len - 1] = 1;
    t.throws(() => a.computeSecret(Buffer.alloc(len)), DhError, `group ${id}: y = 0 rejected`);
    t.throws(() => a.computeSecret(one), DhError, `group ${id}: y = 1 rejected`);
    t.throws(() => a.computeSecret(Buffer.alloc(len, 0xff)), DhError, `group ${id}: y >= p rejected`);
    t.throws(() => a.computeSecret(b.publicKey.subarray(1)), DhError, `group ${id}: short value rejected`);
  }
  // p - 1: every supported MODP prime ends in ...ffffffff, so p-1 ends in ...fffe.
  const g14 = dhGroupById(14);
  if (!g14) throw new Error('group 14 missing');
  const pMinus1 = Buffer.from(getDiffieHellman('modp14').getPrime());
  pMinus1[pMinus1.length - 1]! -= 1;
  t.throws(() => g14.generate(randomBytes).computeSecret(pMinus1), DhError, 'group 14: y = p-1 rejected');
  // Known answer with a fixed private key: g^x for x = 1 is g = 2.
  const x1 = g14.fromPrivateKey(Buffer.of(1));
  t.equal(x1.publicKey.readUInt8(255), 2, 'group 14 with x = 1 gives g = 2');
  t.ok(x1.publicKey.subarray(0, 255).every((b) => b === 0), 'left-padded to 256 bytes');
});

t.test('every group draws its private key from the injected random source', async (t) => {
  // A counter-mode stream from a seed: the same seed gives the same bytes.
  const seeded = (seed: string): ((n: number) => Buffer) => {
    let i = 0;
    return (n) => {
      const out = Buffer.alloc(n);
      for (let o = 0; o < n; o += 32) createHash('sha256').update(`${seed}/${i++}`).digest().copy(out, o);
      return out;
    };
  };
  for (const g of supportedDhGroups()) {
    const a = g.generate(seeded('one'));
    t.same(g.generate(seeded('one')).publicKey, a.publicKey, `${g.name}: same seed, same public value`);
    t.notSame(g.generate(seeded('two')).publicKey, a.publicKey, `${g.name}: other seed, other public value`);
    const b = g.generate(randomBytes);
    t.same(a.computeSecret(b.publicKey), b.computeSecret(a.publicKey), `${g.name}: a seeded pair agrees with a fresh one`);
    if (g.id !== 31) {
      // Zero is never a valid ECP scalar nor a MODP exponent > 1: the draw is retried, then refused.
      let draws = 0;
      const zeros = (n: number): Buffer => (draws++, Buffer.alloc(n));
      t.throws(() => g.generate(zeros), DhError, `${g.name}: a source of zeros is refused`);
      t.equal(draws, 16, `${g.name}: after a bounded number of draws`);
    }
  }
});

t.test('MODP private exponents are twice the security strength, not full length (RFC 3526 §8)', async (t) => {
  t.same(
    [768, 1024, 1536, 2048, 3072, 4096, 6144, 8192].map(privateExponentBits),
    [160, 160, 192, 224, 256, 304, 352, 400],
  );
  for (const g of supportedDhGroups().filter((x) => x.name.startsWith('modp'))) {
    let asked = 0;
    const a = g.generate((n) => ((asked = n), Buffer.alloc(n, 0xff)));
    t.equal(asked * 8, privateExponentBits(g.publicLength * 8), `${g.name}: draws ${asked} bytes for the exponent`);
    // x = 2^bits - 1: g^x must agree with the peer like any other key.
    const b = g.generate(randomBytes);
    t.same(a.computeSecret(b.publicKey), b.computeSecret(a.publicKey), `${g.name}: a short exponent still agrees`);
  }
});

t.test('weak flags: group 1, MD5, DES', async (t) => {
  const weakGroups = supportedDhGroups().filter((g) => g.weak).map((g) => g.id);
  t.same(weakGroups, [1], 'only group 1 is weak');
  t.equal(hashById(HashId.MD5)?.weak, true);
  t.equal(hashById(HashId.SHA1)?.weak, false);
  t.equal(cipherById(CipherId.DES_CBC)?.weak, true);
  t.equal(cipherById(CipherId.TRIPLE_DES_CBC)?.weak, false);
  t.equal(cipherById(CipherId.AES_CBC), undefined, 'AES without Key Length attribute refused');
  t.equal(cipherById(CipherId.AES_CBC, 100), undefined, 'AES with odd key length refused');
  t.equal(hashById(3), undefined, 'Tiger (3) unsupported');
});

t.test('HMAC PRFs: RFC 2202 and RFC 4231 test cases 1 and 2', async (t) => {
  const key1 = Buffer.alloc(20, 0x0b);
  const data1 = Buffer.from('Hi There');
  const key2 = Buffer.from('Jefe');
  const data2 = Buffer.from('what do ya want for nothing?');
  const cases: [number, number, string, string][] = [
    // [hash id, length, case 1 (md5: 16-byte key), case 2]
    [HashId.MD5, 16, '9294727a3638bb1c13f48ef8158bfc9d', '750c783e6ab0b503eaa86e310a5db738'],
    [HashId.SHA1, 20, 'b617318655057264e28bc0b6fb378c8ef146be00', 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79'],
    [
      HashId.SHA2_256,
      32,
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    ],
    [
      HashId.SHA2_384,
      48,
      'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6',
      'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649',
    ],
    [
      HashId.SHA2_512,
      64,
      '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
      '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
    ],
  ];
  for (const [id, len, c1, c2] of cases) {
    const h = hashById(id);
    if (!h) throw new Error(`hash ${id} missing`);
    t.equal(h.length, len, `${h.name} length`);
    // RFC 2202 HMAC-MD5 case 1 uses a 16-byte key, the others 20 bytes.
    const k1 = id === HashId.MD5 ? key1.subarray(0, 16) : key1;
    t.equal(h.prf(k1, data1).toString('hex'), c1, `${h.name} case 1`);
    // prf over several parts equals prf over their concatenation.
    t.equal(h.prf(key2, data2.subarray(0, 5), data2.subarray(5)).toString('hex'), c2, `${h.name} case 2 (split input)`);
  }
});

t.test('AES-CBC: RFC 3602 §4 cases 1 and 2 (encrypt and decrypt)', async (t) => {
  const aes = cipherById(CipherId.AES_CBC, 128);
  if (!aes) throw new Error('aes128 missing');
  const vectors = [
    [
      '06a9214036b8a15b512e03d534120006',
      '3dafba429d9eb430b422da802c9fac41',
      Buffer.from('Single block msg').toString('hex'),
      'e353779c1079aeb82708942dbe77181a',
    ],
    [
      'c286696d887c9aa0611bbb3e2025a45a',
      '562e17996d093d28ddb3ba695a2e6f58',
      '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
      'd296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1',
    ],
  ] as const;
  for (const [k, iv, pt, ct] of vectors) {
    t.equal(aes.encrypt(hex(k), hex(iv), hex(pt)).toString('hex'), ct);
    t.equal(aes.decrypt(hex(k), hex(iv), hex(ct)).toString('hex'), pt);
  }
  t.throws(() => aes.encrypt(hex(vectors[0][0]), hex(vectors[0][1]), Buffer.alloc(15)), RangeError, 'partial block refused');
  t.throws(() => aes.encrypt(Buffer.alloc(24), Buffer.alloc(16), Buffer.alloc(16)), RangeError, 'wrong key length refused');
  for (const bits of [192, 256] as const) {
    const c = cipherById(CipherId.AES_CBC, bits);
    if (!c) throw new Error('aes missing');
    const key = Buffer.alloc(bits / 8, 7);
    const ct = c.encrypt(key, Buffer.alloc(16, 1), Buffer.alloc(48, 2));
    t.equal(c.decrypt(key, Buffer.alloc(16, 1), ct).toString('hex'), '02'.repeat(48), `aes${bits} round trip`);
  }
});

t.test('DES-CBC (via EDE with K1=K2=K3): FIPS 81 CBC example; 3DES round trip', async (t) => {
  const des = cipherById(CipherId.DES_CBC);
  if (!des) throw new Error('des missing');
  const pt = Buffer.from('Now is the time for all ');
  const ct = des.encrypt(hex('0123456789abcdef'), hex('1234567890abcdef'), pt);
  t.equal(ct.toString('hex'), 'e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6');
  t.equal(des.decrypt(hex('0123456789abcdef'), hex('1234567890abcdef'), ct).toString(), pt.toString());
  const tdes = cipherById(CipherId.TRIPLE_DES_CBC);
  if (!tdes) throw new Error('3des missing');
  // With K1 = K2 = K3 = K, 3DES equals DES: same FIPS 81 answer.
  const k3 = Buffer.concat([hex('0123456789abcdef'), hex('0123456789abcdef'), hex('0123456789abcdef')]);
  t.equal(tdes.encrypt(k3, hex('1234567890abcdef'), pt).toString('hex'), ct.toString('hex'));
  const k = Buffer.alloc(24);
  for (let i = 0; i < 24; i++) k[i] = i * 11;
  t.equal(tdes.decrypt(k, Buffer.alloc(8, 3), tdes.encrypt(k, Buffer.alloc(8, 3), pt)).toString(), pt.toString());
});

t.test('constant-time compare and wipe', async (t) => {
  t.ok(constantTimeEqual(hex('0011'), hex('0011')));
  t.notOk(constantTimeEqual(hex('0011'), hex('0012')));
  t.notOk(constantTimeEqual(hex('0011'), hex('001100')), 'length mismatch is unequal');
  const k = Buffer.alloc(32, 0xaa);
  wipe(k, undefined);
  t.ok(k.every((b) => b === 0), 'wiped');
});
