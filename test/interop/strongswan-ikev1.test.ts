// Interop: sitelinkd against strongSwan 5.9 charon (IKEv1 main mode + quick
// mode, PSK, modp2048 / aes128-sha256 for phase 1, ESP aes128gcm16 in
// UDP-encapsulated tunnel mode) in the netns lab, both ways round:
//   1. sitelinkd on gwA (behind the NAT) initiates, charon on gwB responds;
//   2. charon on gwA initiates, sitelinkd on gwB responds.
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
  t.match(sas, /ESTABLISHED/, 'charon lists an established ISAKMP SA');
  t.match(sas, /INSTALLED, TUNNEL-in-UDP/, 'charon has a UDP-encapsulated tunnel-mode IPsec SA');
  t.match(sas, /AES_GCM_16-128/, 'ESP is AES-GCM-16 with a 128-bit key');
  const n = await lab.counters();
  t.equal(n.leak?.packets, 0, 'no cleartext LAN packet crossed the NAT');
  t.ok(n.espudp.packets >= 20, `ESP-in-UDP crossed the NAT (${n.espudp.packets} packets)`);
}

t.test('sitelinkd initiates (gwA, behind NAT) to strongSwan (gwB)', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'ssi');
  const psk = randomPskHex();
  const charon = await Charon.start(
    lab.ns('gwB'),
    path.join(dir, 'charon-gwB'),
    swanctlConf({
      ...charonPskBasics(psk),
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
  });
  const d = await Sitelinkd.start(lab.ns('gwA'), files);
  t.teardown(() => d.stop());
  await trafficChecks(t, lab, d, charon);
  t.notOk(d.logText().includes(psk), 'the PSK is not in the negotiation log');
  await d.stop();
  const deleted = await waitUntil(async () => !/INSTALLED/.test(await charon.listSas()), 5000, 250);
  t.ok(deleted, "charon removed its IPsec SA on sitelinkd's Delete");
});

t.test('strongSwan initiates (gwA, behind NAT) to sitelinkd (gwB)', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'ssr');
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
  });
  const d = await Sitelinkd.start(lab.ns('gwB'), files);
  t.teardown(() => d.stop());
  const charon = await Charon.start(
    lab.ns('gwA'),
    path.join(dir, 'charon-gwA'),
    swanctlConf({
      ...charonPskBasics(psk),
      localAddr: LAB.gwAWan,
      remoteAddr: LAB.gwBWan,
      localId: 'gwA.lab',
      remoteId: 'gwB.lab',
      localTs: LAB.subnetA,
      remoteTs: LAB.subnetB,
    }),
  );
  t.teardown(() => charon.stop());
  const init = await charon.initiate('lab');
  if (init.code !== 0) t.comment(`swanctl: ${init.stdout.slice(-3000)}\nsitelinkd log:\n${d.logText().slice(-6000)}`);
  t.equal(init.code, 0, 'swanctl --initiate succeeded against sitelinkd');
  await trafficChecks(t, lab, d, charon);
  t.match(d.logText(), /RESPONDER-LIFETIME|accepted aes128gcm16/, 'sitelinkd accepted the quick mode');
});

t.test('strongSwan initiates with PFS (modp2048) and rekeys every 12 s; sitelinkd follows', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'ssk');
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
    pfs: 'modp2048',
  });
  const d = await Sitelinkd.start(lab.ns('gwB'), files);
  t.teardown(() => d.stop());
  const charon = await Charon.start(
    lab.ns('gwA'),
    path.join(dir, 'charon-gwA'),
    swanctlConf({
      ...charonPskBasics(psk),
      espProposals: 'aes128gcm16-modp2048',
      localAddr: LAB.gwAWan, remoteAddr: LAB.gwBWan, localId: 'gwA.lab', remoteId: 'gwB.lab', localTs: LAB.subnetA, remoteTs: LAB.subnetB,
      childExtra: { rekey_time: '12s', life_time: '30s', rand_time: '0s' },
    }),
  );
  t.teardown(() => charon.stop());
  const init = await charon.initiate('lab');
  if (init.code !== 0) t.comment(`swanctl: ${init.stdout.slice(-3000)}\nsitelinkd log:\n${d.logText().slice(-6000)}`);
  t.equal(init.code, 0, 'quick mode with PFS succeeded');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'traffic flows');
  const rekeyed = await waitUntil(() => (d.logText().match(/IPsec SA pair installed/g) ?? []).length >= 2 && /IPsec SA pair deleted/.test(d.logText()), 30_000, 500);
  if (!rekeyed) t.comment(`sitelinkd log:\n${d.logText().slice(-6000)}\ncharon log:\n${charon.log().slice(-4000)}`);
  t.ok(rekeyed, "sitelinkd installed the rekeyed pair and removed the old one on charon's Delete");
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'traffic flows after the rekey');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'both ways');
  const n = await lab.counters();
  t.equal(n.leak?.packets, 0, 'nothing in clear across the rekey');
});

t.test('mismatched PSK against strongSwan: no tunnel, explain says authentication failed', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'ssp');
  const charon = await Charon.start(
    lab.ns('gwB'),
    path.join(dir, 'charon-gwB'),
    swanctlConf({
      ...charonPskBasics(randomPskHex()),
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
