import t from 'tap';
import { FallbackTracker, FALLBACK_RETRY_MS } from '../../firmware/src/policy/fallback.ts';

t.test('silent peer: clear after 3 s, secure retry every 5 min, secure SA ends it', async (t) => {
  const f = new FallbackTracker(true);
  f.start(0);
  t.notOk(f.tick(2_999));
  t.equal(f.state, 'negotiating', 'not before 3 s');
  t.notOk(f.clearAllowed);
  f.tick(3_000);
  t.equal(f.state, 'clear');
  t.ok(f.clearAllowed);
  t.notOk(f.tick(FALLBACK_RETRY_MS - 1));
  t.ok(f.tick(FALLBACK_RETRY_MS), 'retry due after 5 min');
  f.start(FALLBACK_RETRY_MS);
  t.ok(f.clearAllowed, 'soft SA stays during the retry');
  t.notOk(f.tick(FALLBACK_RETRY_MS + 1000));
  t.ok(f.tick(2 * FALLBACK_RETRY_MS), 'still silent: next retry 5 min later');
  f.peerReplied();
  t.notOk(f.clearAllowed, 'a reply closes the clear path');
  f.established();
  t.equal(f.state, 'secure');
  t.notOk(f.tick(10 * FALLBACK_RETRY_MS));
});

t.test('never falls back after a reply or an authentication failure', async (t) => {
  const a = new FallbackTracker(true);
  a.start(0);
  a.peerReplied();
  a.tick(60_000);
  t.equal(a.state, 'negotiating', 'replied: no fallback even after a long wait');
  const b = new FallbackTracker(true);
  b.start(0);
  b.failed();
  b.tick(60_000);
  t.equal(b.state, 'blocked');
  t.notOk(b.clearAllowed);
});

t.test('disabled: a silent peer never opens the clear path', async (t) => {
  const f = new FallbackTracker(false);
  f.start(0);
  t.notOk(f.tick(3_600_000));
  t.equal(f.state, 'negotiating');
  t.notOk(f.clearAllowed);
});
