// Interop: strongSwan behind a NAT whose mapping changes (a CPE reboot, a carrier
// NAT timing out): charon on gwA keeps sending from what is now a new public port,
// and sitelinkd on gwB must follow it (RFC 3948 §5; RFC 3947 for IKE) for ESP both
// ways and for the next IKE exchange, here a quick mode rekey charon starts.
import t from 'tap';
import { LAB } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON } from '../lib/strongswan.ts';
import { charonPairForTest, checkInitiated } from '../lib/strongswan-pair.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl']);

t.test("strongSwan behind a NAT that rebinds: sitelinkd follows charon's new port", { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 'snr', { sitelinkdOn: 'gwB' });
  if (!pair) return;
  const { lab, p } = pair;
  const { charon, daemon: d } = p;
  checkInitiated(t, p, 'charon brought the tunnel up');
  t.ok(p.up, 'traffic flows');
  const before = await controlRequest(d.files.socket, 'sas');
  t.equal(before.mainMode[0]?.remote, `${LAB.natPublic}:4500`, "sitelinkd sees charon at the NAT's port 4500");

  await lab.rebind();
  const moved = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 15_000, 500);
  if (!moved) t.comment(`sitelinkd log:\n${d.logText().slice(-5000)}`);
  t.ok(moved, 'after the rebinding lanA reaches lanB again');
  t.match(d.logText(), /peer now at 198\.51\.100\.1:40\d\d\d/, 'sitelinkd followed charon to its new NAT port');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA over the new mapping (3/3)');

  // IKE follows as well: charon rekeys the child SA over the new mapping.
  const rekey = await charon.swanctl(['--rekey', '--child', 'lab']);
  t.equal(rekey.code, 0, `swanctl --rekey ${rekey.stderr}`);
  // charon keeps the rekeyed IKEv1 pair until it expires (delete_rekeyed = no), so the
  // new pair appears beside the old one.
  const rekeyed = await waitUntil(async () => {
    const s = await controlRequest(d.files.socket, 'sas');
    return s.quickMode.some((q) => q.spiIn !== before.quickMode[0]?.spiIn);
  }, 20_000, 250);
  if (!rekeyed) t.comment(`sitelinkd log:\n${d.logText().slice(-5000)}\ncharon log:\n${charon.log().slice(-5000)}`);
  t.ok(rekeyed, 'the rekey went through: a new pair');
  const after = await controlRequest(d.files.socket, 'sas');
  t.match(after.mainMode[0]?.remote ?? '', /^198\.51\.100\.1:40\d\d\d$/, 'the ISAKMP SA talks to the new port');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'lanA pings lanB on the new pair (3/3)');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA on the new pair (3/3)');
  t.equal((await lab.counters()).leak?.packets, 0, 'nothing crossed the NAT in clear');
});
