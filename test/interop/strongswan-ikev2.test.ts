// Interop: sitelinkd (version = 2) against strongSwan 5.9 charon speaking
// IKEv2 (PSK, aes128-sha256-modp2048 IKE SA, ESP aes128gcm16 in
// UDP-encapsulated tunnel mode) in the netns lab, both ways round:
//   1. sitelinkd on gwA (behind the NAT) initiates, charon on gwB responds;
//   2. charon on gwA initiates, sitelinkd on gwB responds, and charon rekeys
//      the child SA every 12 s (CREATE_CHILD_SA with REKEY_SA, PFS modp2048)
//      and the IKE SA after 20 s (CREATE_CHILD_SA with an IKE proposal).
// Traffic lanA <-> lanB must flow, with nothing in clear on the NAT.
import t from 'tap';
import { LAB } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON, countSas, randomPskHex } from '../lib/strongswan.ts';
import { explain } from '../lib/explain.ts';
import { charonPairForTest, checkInitiated, checkPskTunnel } from '../lib/strongswan-pair.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl']);

t.test('sitelinkd initiates IKEv2 (gwA, behind NAT) to strongSwan (gwB)', { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 's2i', { sitelinkdOn: 'gwA', version: 2 });
  if (!pair) return;
  const { lab, p } = pair;
  const files = p.files;
  await checkPskTunnel(t, lab, p);
  t.notOk(p.daemon.logText().includes(p.pskHex), 'the PSK is not in the negotiation log');
  const sas = await controlRequest(files.socket, 'sas');
  t.equal(sas.mainMode[0]?.version, 2, 'sitelinkctl sas: IKEv2');
  t.match(await p.charon.listSas(), /198\.51\.100\.1\[4500\]/, "charon sees us at the NAT's port 4500");
  // §2.23: the NAT in front of us gives us a new port while traffic runs; charon
  // follows us on our next authenticated message from there (the rekey below).
  const during = lab.ping('lanA', LAB.lanB, 25);
  await lab.rebind();
  // Our forced rekey, answered by charon.
  const rekeyed = await p.rekeyChild();
  if (!rekeyed) t.comment(p.logs());
  t.ok(rekeyed, 'charon accepted our CREATE_CHILD_SA rekey; the old pair is gone');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'traffic flows after our rekey');
  await during;
  t.match(await p.charon.listSas(), /remote '\S+' @ 198\.51\.100\.1\[40\d\d\d\]/, 'charon followed us to our new NAT port (IKE SA)');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB reaches lanA over the new mapping (3/3)');

  // sitelinkd restarts without a Delete: its new IKE_AUTH carries INITIAL_CONTACT (§2.4)
  // and charon drops the old SAs at once.
  await p.restartSitelinkd();
  const back = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 25_000, 500);
  if (!back) t.comment(p.logs());
  t.ok(back, 'the restarted sitelinkd brought the tunnel back');
  t.match(p.charon.log(), /destroying duplicate IKE_SA for peer 'gwA\.lab', received INITIAL_CONTACT/, 'charon took our INITIAL_CONTACT');
  const one = await waitUntil(async () => { const n = countSas(await p.charon.listSas()); return n.ike === 1 && n.child === 1; }, 10_000, 250);
  if (!one) t.comment(`charon SAs:\n${await p.charon.listSas()}`);
  t.ok(one, 'charon holds one IKE SA and one child SA');
  await p.daemon.stop();
  const deleted = await waitUntil(async () => !/ESTABLISHED/.test(await p.charon.listSas()), 5000, 250);
  t.ok(deleted, "charon removed the IKE SA on sitelinkd's Delete");
});

t.test('strongSwan initiates IKEv2 (gwA, behind NAT) to sitelinkd (gwB) and rekeys the child SA with PFS', { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 's2r', {
    sitelinkdOn: 'gwB',
    version: 2,
    sitelinkd: { pfs: 'modp2048' },
    charon: {
      espProposals: 'aes128gcm16-modp2048',
      connExtra: { rekey_time: '20s', over_time: '20s', rand_time: '0s' },
      childExtra: { rekey_time: '12s', life_time: '30s', rand_time: '0s' },
    },
  });
  if (!pair) return;
  const { lab, p } = pair;
  const d = p.daemon;
  checkInitiated(t, p, 'swanctl --initiate (IKEv2) succeeded against sitelinkd');
  await checkPskTunnel(t, lab, p);
  const rekeyed = await waitUntil(() => (d.logText().match(/child SA pair installed/g) ?? []).length >= 2 && /child SA pair removed/.test(d.logText()), 30_000, 500);
  if (!rekeyed) t.comment(p.logs());
  t.ok(rekeyed, "sitelinkd answered charon's CREATE_CHILD_SA rekey (PFS) and removed the old pair on its Delete");
  const ikeRekeyed = await waitUntil(() => /IKE SA rekeyed/.test(d.logText()) && /peer deleted the IKE SA/.test(d.logText()), 30_000, 500);
  if (!ikeRekeyed) t.comment(p.logs());
  t.ok(ikeRekeyed, "sitelinkd answered charon's IKE SA rekey (§1.3.2) and dropped the old IKE SA on its Delete");
  const sas = await controlRequest(p.files.socket, 'sas');
  t.equal(sas.mainMode.length, 1, 'one IKE SA left');
  t.equal(sas.quickMode.length, 1, 'with the child SA moved over');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'traffic flows after the rekey');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'both ways');
  const n = await lab.counters();
  t.equal(n.leak?.packets, 0, 'nothing in clear across the rekey');

  // §2.23: charon's NAT mapping changes while traffic runs; sitelinkd follows charon's
  // authenticated messages (ESP, then IKE) to the new port.
  t.equal(sas.mainMode[0]?.remote, `${LAB.natPublic}:4500`, "sitelinkd sees charon at the NAT's port 4500");
  const during = lab.ping('lanA', LAB.lanB, 15);
  await lab.rebind();
  const moved = await waitUntil(() => lab.ping('lanB', LAB.lanA, 1), 15_000, 500);
  await during;
  if (!moved) t.comment(p.logs());
  t.ok(moved, 'after the rebinding lanB reaches lanA again');
  t.match(p.daemon.logText(), /peer now at 198\.51\.100\.1:40\d\d\d/, "sitelinkd followed charon to its new NAT port");
  const followed = await controlRequest(p.files.socket, 'sas');
  t.match(followed.mainMode[0]?.remote ?? '', /^198\.51\.100\.1:40\d\d\d$/, 'the IKE SA talks to the new port');

  // charon restarts without a Delete and initiates again with INITIAL_CONTACT (§2.4):
  // sitelinkd drops the old IKE SA and its child SAs at once.
  await p.restartCharon();
  const init = await p.charon.initiate('lab');
  if (init.code !== 0) t.comment(`swanctl: ${init.stdout.slice(-3000)}\n${p.logs()}`);
  t.equal(init.code, 0, 'the restarted charon negotiated again');
  t.match(p.charon.log(), /IKE_AUTH request 1 \[[^\]]*N\(INIT_CONTACT\)/, 'charon sent INITIAL_CONTACT');
  t.ok(
    await waitUntil(() => /INITIAL_CONTACT.*peer restarted: removing its old IKE SA/.test(d.logText()), 5000, 100),
    'sitelinkd dropped the SAs of the old charon',
  );
  const after = await controlRequest(p.files.socket, 'sas');
  t.equal(after.mainMode.length, 1, 'one IKE SA left');
  t.equal(after.quickMode.length, 1, 'one child SA pair left');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'lanA pings lanB (3/3)');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA (3/3)');
  t.equal((await lab.counters()).leak?.packets, 0, 'nothing crossed the NAT in clear');
});

t.test('mismatched PSK against strongSwan IKEv2: no tunnel, explain says authentication failed', { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 's2p', { sitelinkdOn: 'gwA', version: 2, charon: { pskHex: randomPskHex() }, waitMs: 0 });
  if (!pair) return;
  const { lab, p } = pair;
  const files = p.files;
  const failed = await waitUntil(async () => (await controlRequest(files.socket, 'explain', { peer: 'gwB' })).record !== null, 20_000, 500);
  const r = await controlRequest(files.socket, 'explain', { peer: 'gwB' });
  if (!failed || r.record?.reason !== 'authentication-failed') t.comment(p.logs());
  t.equal(r.record?.reason, 'authentication-failed', 'explain: authentication failed');
  t.equal(r.record?.notify, 'AUTHENTICATION_FAILED', "explain: charon's notify");
  t.equal(r.record?.configLines?.[0], 'secrets file, psk { gwB.lab = ... } (the same key as on the peer)', 'explain: the secrets entry');
  const e = await explain(files.socket, 'gwB');
  t.match(e.text, 'IKEv2 IKE SA (IKE_SA_INIT/IKE_AUTH)', 'explain (text): the IKEv2 phase');
  t.match(e.text, 'Why: The peer refused our authentication (AUTHENTICATION_FAILED)', 'explain (text): in plain words');
  t.match(e.text, 'peers.gwB.remote-id = gwB.lab', 'explain (text): the identity lines');
  t.notOk(await lab.ping('lanA', LAB.lanB, 2), 'no traffic passes');
});
