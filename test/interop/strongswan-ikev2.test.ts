// Interop: sitelinkd (version = 2) against strongSwan 5.9 charon speaking
// IKEv2 (PSK, aes128-sha256-modp2048 IKE SA, ESP aes128gcm16 in
// UDP-encapsulated tunnel mode) in the netns lab, both ways round:
//   1. sitelinkd on gwA (behind the NAT) initiates, charon on gwB responds;
//   2. charon on gwA initiates, sitelinkd on gwB responds, and charon rekeys
//      the child SA every 12 s (CREATE_CHILD_SA with REKEY_SA, PFS modp2048)
//      and the IKE SA after 20 s (CREATE_CHILD_SA with an IKE proposal).
// Traffic lanA <-> lanB must flow, with nothing in clear on the NAT.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Lab, LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON, Charon, charonPskBasics, randomPskHex, swanctlConf } from '../lib/strongswan.ts';
import { waitUntil } from '../lib/wait.ts';
import { Sitelinkd, sitelinkdPath, writeGatewayConfig } from '../netns/ike-sitelinkd.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl']);

async function trafficChecks(t: Test, lab: Lab, d: Sitelinkd, c: Charon): Promise<void> {
  const up = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 25_000, 500);
  if (!up) t.comment(`sitelinkd log:\n${d.logText().slice(-6000)}\n${d.recentOutput()}\ncharon log:\n${c.log().slice(-6000)}`);
  t.ok(up, 'the tunnel comes up');
  t.ok(await lab.ping('lanA', LAB.lanB, 5), 'lanA pings lanB (5/5)');
  t.ok(await lab.ping('lanB', LAB.lanA, 5), 'lanB pings lanA (5/5)');
  const sas = await c.listSas();
  t.match(sas, /ESTABLISHED, IKEv2/, 'charon lists an established IKEv2 SA');
  t.match(sas, /INSTALLED, TUNNEL-in-UDP/, 'charon has a UDP-encapsulated tunnel-mode child SA');
  t.match(sas, /AES_GCM_16-128/, 'ESP is AES-GCM-16 with a 128-bit key');
  const n = await lab.counters();
  t.equal(n.leak?.packets, 0, 'no cleartext LAN packet crossed the NAT');
  t.ok(n.espudp.packets >= 20, `ESP-in-UDP crossed the NAT (${n.espudp.packets} packets)`);
}

t.test('sitelinkd initiates IKEv2 (gwA, behind NAT) to strongSwan (gwB)', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 's2i');
  const psk = randomPskHex();
  const charon = await Charon.start(
    lab.ns('gwB'),
    path.join(dir, 'charon-gwB'),
    swanctlConf({
      ...charonPskBasics(psk),
      version: 2,
      localAddr: LAB.gwBWan,
      remoteAddr: LAB.natPublic,
      localId: 'gwB.lab',
      remoteId: 'gwA.lab',
      localTs: LAB.subnetB,
      remoteTs: LAB.subnetA,
    }),
  );
  t.teardown(() => charon.stop());
  const files = writeGatewayConfig(dir, 'gwA', {
    id: 'gwA.lab',
    peerName: 'gwB',
    remote: LAB.gwBWan,
    remoteId: 'gwB.lab',
    local: LAB.subnetA,
    remoteNet: LAB.subnetB,
    psk: `0x${psk}`,
    start: 'start',
    version: 2,
  });
  const d = await Sitelinkd.start(lab.ns('gwA'), files);
  t.teardown(() => d.stop());
  await trafficChecks(t, lab, d, charon);
  t.notOk(d.logText().includes(psk), 'the PSK is not in the negotiation log');
  const sas = await controlRequest(files.socket, 'sas');
  t.equal(sas.mainMode[0]?.version, 2, 'sitelinkctl sas: IKEv2');
  // Our forced rekey, answered by charon.
  const before = sas.quickMode[0]?.spiIn;
  await controlRequest(files.socket, 'rekey', { peer: 'gwB' });
  const rekeyed = await waitUntil(async () => {
    const s = await controlRequest(files.socket, 'sas');
    return s.quickMode.length === 1 && s.quickMode[0]!.spiIn !== before;
  }, 10_000, 300);
  if (!rekeyed) t.comment(`sitelinkd log:\n${d.logText().slice(-5000)}\ncharon log:\n${charon.log().slice(-4000)}`);
  t.ok(rekeyed, 'charon accepted our CREATE_CHILD_SA rekey; the old pair is gone');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'traffic flows after our rekey');
  await d.stop();
  const deleted = await waitUntil(async () => !/ESTABLISHED/.test(await charon.listSas()), 5000, 250);
  t.ok(deleted, "charon removed the IKE SA on sitelinkd's Delete");
});

t.test('strongSwan initiates IKEv2 (gwA, behind NAT) to sitelinkd (gwB) and rekeys the child SA with PFS', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 's2r');
  const psk = randomPskHex();
  const files = writeGatewayConfig(dir, 'gwB', {
    id: 'gwB.lab',
    peerName: 'gwA',
    remote: LAB.natPublic,
    remoteId: 'gwA.lab',
    local: LAB.subnetB,
    remoteNet: LAB.subnetA,
    psk: `0x${psk}`,
    start: 'none',
    version: 2,
    pfs: 'modp2048',
  });
  const d = await Sitelinkd.start(lab.ns('gwB'), files);
  t.teardown(() => d.stop());
  const charon = await Charon.start(
    lab.ns('gwA'),
    path.join(dir, 'charon-gwA'),
    swanctlConf({
      ...charonPskBasics(psk),
      version: 2,
      espProposals: 'aes128gcm16-modp2048',
      localAddr: LAB.gwAWan, remoteAddr: LAB.gwBWan, localId: 'gwA.lab', remoteId: 'gwB.lab', localTs: LAB.subnetA, remoteTs: LAB.subnetB,
      connExtra: { rekey_time: '20s', over_time: '20s', rand_time: '0s' },
      childExtra: { rekey_time: '12s', life_time: '30s', rand_time: '0s' },
    }),
  );
  t.teardown(() => charon.stop());
  const init = await charon.initiate('lab');
  if (init.code !== 0) t.comment(`swanctl: ${init.stdout.slice(-3000)}\nsitelinkd log:\n${d.logText().slice(-6000)}`);
  t.equal(init.code, 0, 'swanctl --initiate (IKEv2) succeeded against sitelinkd');
  await trafficChecks(t, lab, d, charon);
  const rekeyed = await waitUntil(() => (d.logText().match(/child SA pair installed/g) ?? []).length >= 2 && /child SA pair removed/.test(d.logText()), 30_000, 500);
  if (!rekeyed) t.comment(`sitelinkd log:\n${d.logText().slice(-6000)}\ncharon log:\n${charon.log().slice(-4000)}`);
  t.ok(rekeyed, "sitelinkd answered charon's CREATE_CHILD_SA rekey (PFS) and removed the old pair on its Delete");
  const ikeRekeyed = await waitUntil(() => /IKE SA rekeyed/.test(d.logText()) && /peer deleted the IKE SA/.test(d.logText()), 30_000, 500);
  if (!ikeRekeyed) t.comment(`sitelinkd log:\n${d.logText().slice(-6000)}\ncharon log:\n${charon.log().slice(-4000)}`);
  t.ok(ikeRekeyed, "sitelinkd answered charon's IKE SA rekey (§1.3.2) and dropped the old IKE SA on its Delete");
  const sas = await controlRequest(files.socket, 'sas');
  t.equal(sas.mainMode.length, 1, 'one IKE SA left');
  t.equal(sas.quickMode.length, 1, 'with the child SA moved over');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'traffic flows after the rekey');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'both ways');
  const n = await lab.counters();
  t.equal(n.leak?.packets, 0, 'nothing in clear across the rekey');
});

t.test('mismatched PSK against strongSwan IKEv2: no tunnel, explain says authentication failed', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 's2p');
  const charon = await Charon.start(
    lab.ns('gwB'),
    path.join(dir, 'charon-gwB'),
    swanctlConf({
      ...charonPskBasics(randomPskHex()),
      version: 2,
      localAddr: LAB.gwBWan,
      remoteAddr: LAB.natPublic,
      localId: 'gwB.lab',
      remoteId: 'gwA.lab',
      localTs: LAB.subnetB,
      remoteTs: LAB.subnetA,
    }),
  );
  t.teardown(() => charon.stop());
  const files = writeGatewayConfig(dir, 'gwA', {
    id: 'gwA.lab',
    peerName: 'gwB',
    remote: LAB.gwBWan,
    remoteId: 'gwB.lab',
    local: LAB.subnetA,
    remoteNet: LAB.subnetB,
    psk: `0x${randomPskHex()}`,
    start: 'start',
    version: 2,
  });
  const d = await Sitelinkd.start(lab.ns('gwA'), files);
  t.teardown(() => d.stop());
  const failed = await waitUntil(async () => (await controlRequest(files.socket, 'explain', { peer: 'gwB' })).record !== null, 20_000, 500);
  const r = await controlRequest(files.socket, 'explain', { peer: 'gwB' });
  if (!failed || r.record?.reason !== 'authentication-failed')
    t.comment(`sitelinkd log:\n${d.logText().slice(-5000)}\ncharon log:\n${charon.log().slice(-3000)}`);
  t.equal(r.record?.reason, 'authentication-failed', 'explain: authentication failed');
  t.notOk(await lab.ping('lanA', LAB.lanB, 2), 'no traffic passes');
});
