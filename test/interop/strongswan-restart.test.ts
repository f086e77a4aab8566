// Interop: the tunnel survives either side restarting without a goodbye (SIGKILL:
// a crash or power cut, no Deletes), long before DPD would notice. The restarted
// side negotiates afresh with INITIAL-CONTACT (RFC 2407 §4.6.3.3), and the side
// that kept running must drop the stale SAs at once, leaving exactly one pair:
//   1. charon on gwA (behind the NAT) restarts and initiates to sitelinkd on gwB;
//   2. sitelinkd on gwA restarts and initiates to charon on gwB.
import t from 'tap';
import { LAB } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON, countSas } from '../lib/strongswan.ts';
import { charonPairForTest, checkInitiated } from '../lib/strongswan-pair.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl']);

t.test('strongSwan restarts (SIGKILL) and initiates again: sitelinkd keeps one pair', { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 'srs', { sitelinkdOn: 'gwB' });
  if (!pair) return;
  const { lab, p } = pair;
  const d = p.daemon;
  checkInitiated(t, p, 'charon brought the tunnel up');
  t.ok(p.up, 'traffic flows');
  const before = await controlRequest(d.files.socket, 'sas');
  t.equal(before.quickMode.length, 1, 'sitelinkd holds one pair');

  await p.restartCharon();
  const init = await p.charon.initiate('lab');
  if (init.code !== 0) t.comment(`swanctl: ${init.stdout.slice(-3000)}\nsitelinkd log:\n${d.logText().slice(-6000)}`);
  t.equal(init.code, 0, 'the restarted charon negotiated again');
  t.match(p.charon.log(), /generating ID_PROT request 0 \[ ID HASH N\(INITIAL_CONTACT\) \]/, 'charon sent INITIAL-CONTACT in MM5');
  t.ok(await waitUntil(() => /INITIAL-CONTACT.*peer restarted: dropping older SAs/.test(d.logText()), 5000, 100), 'sitelinkd dropped the SAs of the old charon');
  const after = await controlRequest(d.files.socket, 'sas');
  t.equal(after.mainMode.length, 1, 'one ISAKMP SA left');
  t.equal(after.quickMode.length, 1, 'one IPsec SA pair left');
  t.not(after.quickMode[0]?.spiIn, before.quickMode[0]?.spiIn, 'the new pair');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'lanA pings lanB (3/3)');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA (3/3)');
  t.equal((await lab.counters()).leak?.packets, 0, 'nothing crossed the NAT in clear');
});

t.test('sitelinkd restarts (SIGKILL) and initiates again: strongSwan keeps one pair', { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 'srd', { sitelinkdOn: 'gwA' });
  if (!pair) return;
  const { lab, p } = pair;
  const charon = p.charon;
  t.ok(p.up, 'the tunnel comes up');
  t.same(countSas(await charon.listSas()), { ike: 1, child: 1 }, 'charon holds one IKE SA and one child SA');

  await p.restartSitelinkd(async () => {
    t.notOk(p.daemon.running, 'sitelinkd is gone (no Deletes sent)');
    t.same(countSas(await charon.listSas()), { ike: 1, child: 1 }, 'charon still holds the old SAs');
  });
  const back = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 25_000, 500);
  if (!back) t.comment(p.logs());
  t.ok(back, 'the restarted sitelinkd brought the tunnel back');
  t.match(charon.log(), /destroying duplicate IKE_SA for peer 'gwA\.lab', received INITIAL_CONTACT/, 'charon took INITIAL-CONTACT from the restarted sitelinkd');
  const one = await waitUntil(async () => { const n = countSas(await charon.listSas()); return n.ike === 1 && n.child === 1; }, 10_000, 250);
  if (!one) t.comment(`charon SAs:\n${await charon.listSas()}`);
  t.ok(one, 'charon dropped the old SAs: one IKE SA and one child SA');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA (3/3)');
  t.equal((await lab.counters()).leak?.packets, 0, 'nothing crossed the NAT in clear');
});
