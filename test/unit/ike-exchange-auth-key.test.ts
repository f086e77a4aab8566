// Regression: for ESP with a separate integrity key (CBC + HMAC), the auth
// key handed to the engine in the install action must survive the KEYMAT
// wipe that follows it (child-sa.ts). It used to be the very buffer that was
// wiped, so both sitelinkd peers installed an all-zero HMAC key: they agreed
// with each other, but strongSwan rejected every packet ("MAC verification
// failed", test/interop/strongswan-ikev1-matrix.test.ts).
import t from 'tap';
import { Harness } from './ike-exchange-harness.ts';

for (const esp of ['aes128-sha256', '3des-sha1'] as const) {
  t.test(`${esp}: installed HMAC keys are real key material`, async (t) => {
    const methods = [{ esp, lifetimeSeconds: 3600, lifetimeKilobytes: 100000 }];
    const h = new Harness({ tunnelA: { methods }, tunnelB: { methods } });
    h.bringUp();
    t.same(h.failed, { A: [], B: [] }, 'no failures');
    const aOut = h.installs.A.find((s) => s.direction === 'out');
    const aIn = h.installs.A.find((s) => s.direction === 'in');
    const bIn = h.installs.B.find((s) => s.direction === 'in');
    const bOut = h.installs.B.find((s) => s.direction === 'out');
    if (!aOut?.authKey || !aIn?.authKey || !bIn?.authKey || !bOut?.authKey) return t.fail('every install carries an auth key');
    t.equal(aOut.algorithm, esp);
    t.equal(aOut.authKey.length, esp === 'aes128-sha256' ? 32 : 20, 'auth key length');
    for (const [name, k] of [['A out', aOut.authKey], ['A in', aIn.authKey], ['B out', bOut.authKey], ['B in', bIn.authKey]] as const) {
      t.ok(k.some((b) => b !== 0), `${name}: auth key is not all zeros (not wiped)`);
    }
    t.ok(aOut.authKey.equals(bIn.authKey), 'A->B auth keys agree');
    t.ok(bOut.authKey.equals(aIn.authKey), 'B->A auth keys agree');
    t.notOk(aOut.authKey.equals(aIn.authKey), 'the two directions have different auth keys');
  });
}
