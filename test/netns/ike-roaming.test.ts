// Headquarters does not know a branch's address (dynamic WAN address behind a
// NAT): gwB is configured with `remote = %any` for gwA and only answers. gwA
// initiates through the NAT; the tunnel must carry traffic both ways, gwB must
// refuse to initiate towards %any, and an established tunnel must survive a
// NAT rebinding of the branch. With several %any peers (certificates) the
// branch's identity picks its peer.
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { Sitelinkd, sitelinkdPath, labGatewayPair } from './ike-sitelinkd.ts';
import { makeGatewayPki, opensslSkipReason } from '../lib/test-pki.ts';

const skip = labSkipReason();

t.test('headquarters answers a branch configured as remote = %any', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'rom');
  const psk = `lab-psk-${Math.random().toString(36).slice(2)}`;
  const { a: confA, b: confB } = labGatewayPair(dir, psk, { a: { start: 'none' }, b: { remote: '%any', localAddress: LAB.gwBWan } });
  const b = await Sitelinkd.start(lab.ns('gwB'), confB);
  t.teardown(() => b.stop());
  const a = await Sitelinkd.start(lab.ns('gwA'), confA);
  t.teardown(() => a.stop());

  // Headquarters cannot call a %any branch: initiate is answered, nothing is sent.
  await controlRequest(b.files.socket, 'initiate', { peer: 'gwA' });
  t.ok(await waitUntil(() => /not initiating to gwA: remote = %any/.test(b.logText()), 3000, 100), 'gwB refuses to initiate towards %any and says why');
  t.notOk(/MM1.*offering/.test(b.logText()), 'gwB sent no main mode');

  await controlRequest(a.files.socket, 'initiate', { peer: 'gwB' });
  const up = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 20_000, 500);
  if (!up) t.comment(`gwA log:\n${a.logText()}\ngwB log:\n${b.logText()}\n${a.recentOutput()}\n${b.recentOutput()}`);
  t.ok(up, 'the branch brought the tunnel up');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'headquarters reaches the branch LAN (3/3)');
  const sas = await controlRequest(b.files.socket, 'sas');
  t.equal(sas.mainMode[0]?.remote.split(':')[0], LAB.natPublic, "gwB's ISAKMP SA is with the NAT's public address it was never told");
  t.equal(sas.mainMode[0]?.role, 'responder');
  const c = await lab.counters();
  t.equal(c.leak?.packets, 0, 'no cleartext LAN-to-LAN packet reached the NAT');

  await lab.rebind();
  t.ok(await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 15_000, 500), 'after a NAT rebinding the branch reaches headquarters again');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'and headquarters the branch');
});

// Many branches with dynamic addresses: headquarters has several %any peers with
// certificates. The branch's MM1 is answered with the first one's settings (shared);
// the certificate identity in MM5 picks the peer, so this branch, configured second,
// gets its own tunnel.
t.test('headquarters with two %any peers picks the branch by its certificate identity', { skip: skip ?? opensslSkipReason() ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'rmc');
  const pki = path.join(dir, 'pki');
  mkdirSync(pki);
  makeGatewayPki(pki, 'ec');
  const cert = (gw: string) => ({
    kind: 'ecdsa-sig' as const,
    certificate: path.join(pki, `${gw}.pem`),
    privateKey: path.join(pki, `${gw}.key`),
    ca: path.join(pki, 'root.pem'),
  });
  const { a: confA, b: confB } = labGatewayPair(dir, 'unused-with-certificates', {
    a: { start: 'none', cert: cert('gwA') },
    b: { remote: '%any', localAddress: LAB.gwBWan, cert: cert('gwB') },
  });
  // Another branch first, with the same main mode settings and its own subnet.
  const other = readFileSync(confB.config, 'utf8')
    .replace(
      'peers {\n',
      `peers {
  branch7 {
    remote = %any
    local = ${LAB.gwBWan}
    remote-id = branch7.lab
    proposals = aes128-sha256-modp2048
    start = none
    auth = ecdsa-sig
    certificate = ${path.join(pki, 'gwB.pem')}
    private-key = ${path.join(pki, 'gwB.key')}
    ca = ${path.join(pki, 'root.pem')}
  }
`,
    )
    .replace(
      'filter-lists {\n',
      `filter-lists {\n  lan7 {\n    to-branch7 {\n      source = ${LAB.subnetB}\n      destination = 10.77.0.0/24\n    }\n  }\n`,
    )
    .replace('rules {\n', 'rules {\n  site7 {\n    filters = lan7\n    action = secure\n    peer = branch7\n  }\n');
  writeFileSync(confB.config, other, { mode: 0o600 });
  const b = await Sitelinkd.start(lab.ns('gwB'), confB);
  t.teardown(() => b.stop());
  const a = await Sitelinkd.start(lab.ns('gwA'), confA);
  t.teardown(() => a.stop());

  await controlRequest(a.files.socket, 'initiate', { peer: 'gwB' });
  const up = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 20_000, 500);
  if (!up) t.comment(`gwA log:\n${a.logText()}\ngwB log:\n${b.logText()}\n${a.recentOutput()}\n${b.recentOutput()}`);
  t.ok(up, 'the branch brought the tunnel up');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'headquarters reaches the branch LAN (3/3)');
  t.match(b.logText(), /remote = %any: identity gwA\.lab is peer gwA/, 'headquarters says which peer the identity picked');
  const sas = await controlRequest(b.files.socket, 'sas');
  t.same(sas.mainMode.map((m) => m.peer), ['gwA'], "the ISAKMP SA is gwA's, not branch7's");
  t.same(sas.quickMode.map((q) => q.remoteTs), [[LAB.subnetA]], "gwA's tunnel");
  const c = await lab.counters();
  t.equal(c.leak?.packets, 0, 'no cleartext LAN-to-LAN packet reached the NAT');
});
