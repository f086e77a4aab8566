// The replay guard of IKEv1 informational exchanges (ike/exchange/informational-replay.ts):
// the last INFO_SEEN_MAX message IDs, in insertion order, in a fixed ring.
import t from 'tap';
import { INFO_SEEN_MAX, InformationalReplay } from '../../firmware/src/ike/exchange/informational-replay.ts';

t.test('remembers the last INFO_SEEN_MAX IDs and forgets the oldest first', async (t) => {
  const r = new InformationalReplay();
  t.equal(r.size, 0);
  t.notOk(r.has(1), 'nothing is remembered before the first');
  // Random 32-bit IDs, the high ones past V8's small integers included.
  const ids = Array.from({ length: INFO_SEEN_MAX + 40 }, (_, i) => (0x9e3779b9 * (i + 1)) >>> 0);
  t.equal(new Set(ids).size, ids.length, 'the test IDs are distinct');
  t.ok(ids.some((id) => id >= 2 ** 31), 'some IDs have the top bit set');
  for (const [i, id] of ids.entries()) {
    r.remember(id);
    t.ok(r.has(id), `ID ${i} is seen at once`) || t.bailout();
    if (i === INFO_SEEN_MAX - 1) t.ok(r.has(ids[0]!), 'the first is still there when the ring is just full');
  }
  t.equal(r.size, INFO_SEEN_MAX, 'at most INFO_SEEN_MAX held');
  t.same(ids.slice(0, 40).filter((id) => r.has(id)), [], 'the 40 oldest are forgotten');
  t.same(ids.slice(40).filter((id) => !r.has(id)), [], `the last ${INFO_SEEN_MAX} are all remembered`);
  t.notOk(r.has(0), 'an ID never seen is not reported (the ring starts zeroed)');
});

t.test('an ID given as a signed 32-bit number is the same ID', async (t) => {
  const r = new InformationalReplay();
  r.remember(0xfffffffe);
  t.ok(r.has(-2), '0xfffffffe and -2 are one message ID');
  r.remember(-3);
  t.ok(r.has(0xfffffffd));
});
