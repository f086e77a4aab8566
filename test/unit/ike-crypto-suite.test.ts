// Algorithm selection: phase 1 suites with the weak-algorithm policy, and
// ESP key sizes for KEYMAT per transform (RFC 2407 §4.4.4/§4.5, RFC 3602,
// RFC 4106, RFC 4868).

import t from 'tap';
import { resolvePhase1Suite } from '../../firmware/src/ike/crypto/phase1-suite.ts';
import { espKeyLengths, EspAuthAlgorithm, EspTransformId } from '../../firmware/src/ike/crypto/esp-transform.ts';

t.test('phase 1 suite resolution and weak policy', async (t) => {
  // The strongSwan capture's transform: AES-CBC/128, SHA2-256, MODP-2048.
  const r = resolvePhase1Suite({ encryption: 7, keyLength: 128, hash: 4, group: 14 }, { allowWeak: false });
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.suite.cipher.keyLength, 16);
    t.equal(r.suite.hash.length, 32);
    t.equal(r.suite.group.publicLength, 256);
  }
  const weak = (a: Parameters<typeof resolvePhase1Suite>[0]): string => {
    const x = resolvePhase1Suite(a, { allowWeak: false });
    return x.ok ? 'ok' : x.reason;
  };
  t.match(weak({ encryption: 7, keyLength: 128, hash: 1, group: 14 }), /weak.*md5/, 'MD5 refused by default');
  t.match(weak({ encryption: 1, hash: 2, group: 14 }), /weak.*des-cbc/, 'DES refused by default');
  t.match(weak({ encryption: 5, hash: 2, group: 1 }), /weak.*modp1/, 'group 1 refused by default');
  t.equal(weak({ encryption: 5, hash: 2, group: 2 }), 'ok', 'group 2 stays allowed');
  t.ok(resolvePhase1Suite({ encryption: 1, hash: 1, group: 1 }, { allowWeak: true }).ok, 'explicit opt-in allows weak suites');
  t.match(weak({ encryption: 7, hash: 2, group: 14 }), /unsupported encryption/, 'AES without key length');
  t.match(weak({ encryption: 7, keyLength: 128, hash: 3, group: 14 }), /unsupported hash/);
  t.match(weak({ encryption: 7, keyLength: 128, hash: 2, group: 22 }), /unsupported DH group/);
  for (const g of [19, 20, 21, 31, 5, 15, 16]) t.equal(weak({ encryption: 7, keyLength: 256, hash: 6, group: g }), 'ok', `group ${g}`);
});

t.test('ESP key lengths for KEYMAT', async (t) => {
  t.same(espKeyLengths(EspTransformId.AES_GCM_16, 128, undefined), { encKey: 16, salt: 4, integKey: 0 }, 'AES-GCM-16/128: key + salt');
  t.same(espKeyLengths(EspTransformId.AES_GCM_8, 256, undefined), { encKey: 32, salt: 4, integKey: 0 });
  t.same(espKeyLengths(EspTransformId.AES_CBC, 128, EspAuthAlgorithm.HMAC_SHA2_256), { encKey: 16, salt: 0, integKey: 32 });
  t.same(espKeyLengths(EspTransformId.AES_CBC, 256, EspAuthAlgorithm.HMAC_SHA1), { encKey: 32, salt: 0, integKey: 20 });
  t.same(espKeyLengths(EspTransformId.TRIPLE_DES, undefined, EspAuthAlgorithm.HMAC_SHA2_512), { encKey: 24, salt: 0, integKey: 64 });
  t.same(espKeyLengths(EspTransformId.NULL, undefined, EspAuthAlgorithm.HMAC_SHA2_384), { encKey: 0, salt: 0, integKey: 48 });
  t.equal(espKeyLengths(EspTransformId.AES_GCM_16, 128, EspAuthAlgorithm.HMAC_SHA1), undefined, 'GCM with an auth algorithm is invalid');
  t.equal(espKeyLengths(EspTransformId.AES_CBC, 128, undefined), undefined, 'CBC without integrity is refused');
  t.equal(espKeyLengths(EspTransformId.AES_CBC, undefined, EspAuthAlgorithm.HMAC_SHA1), undefined, 'AES without key length');
  t.equal(espKeyLengths(2, undefined, EspAuthAlgorithm.HMAC_SHA1), undefined, 'single DES ESP unsupported');
});
