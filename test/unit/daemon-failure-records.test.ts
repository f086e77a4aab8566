// The message trail `explain` shows under "What happened" (daemon/failure-records.ts):
// only the peer's NOTIFY counts as its message, and the failure summary line (shown
// as "Why") is no message at all.
import t from 'tap';
import { StepTrail } from '../../firmware/src/daemon/failure-records.ts';

t.test('the trail attributes messages to whoever sent them', async (t) => {
  const trail = new StepTrail();
  const ev = (step: string, message: string) => trail.note({ level: 'info', phase: 'quick', step, message, peer: 'hq' });
  ev('MM1', 'offering 1 phase 1 transform(s), auth psk');
  ev('QM1', 'negotiating 198.18.1.0/24 <-> 198.18.2.0/24');
  ev('NOTIFY', 'peer sent NO_PROPOSAL_CHOSEN');
  ev('QM1_SENT', 'quick mode failed: peer sent NO_PROPOSAL_CHOSEN');
  t.same(trail.steps('hq'), [
    { from: 'local', message: 'MM1: offering 1 phase 1 transform(s), auth psk' },
    { from: 'local', message: 'QM1: negotiating 198.18.1.0/24 <-> 198.18.2.0/24' },
    { from: 'remote', message: 'NOTIFY: peer sent NO_PROPOSAL_CHOSEN', notify: 'NO-PROPOSAL-CHOSEN' },
  ]);
  ev('MM1', 'offering again');
  t.same(trail.steps('hq'), [{ from: 'local', message: 'MM1: offering again' }], 'a new MM1 starts a new trail');
  t.same(trail.steps('other'), []);
});
