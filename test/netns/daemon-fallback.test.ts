// fallback-to-clear against a silent peer (gwB runs no daemon; the lab routes back in
// clear with `netns plain on`): with the option off, lanA -> lanB traffic stays
// blocked (routed into the engine, dropped for want of an SA); with it on, after ~3 s
// of silence the traffic flows in clear and status says so.
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { labGateway, Sitelinkd, sitelinkdPath, labGatewayPair, writeGatewayConfig } from './ike-sitelinkd.ts';

const skip = labSkipReason();

t.test('fallback to clear with a silent peer', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'dfb');
  await lab.plain(true);
  t.ok(await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 5000, 300), 'without sitelinkd the lab routes lanA <-> lanB in clear');

  const conf = writeGatewayConfig(dir, 'gwA', labGateway('gwA', 'fallback-psk'));
  const base = readFileSync(conf.config, 'utf8');

  // Off (the default): fail closed.
  const off = await Sitelinkd.start(lab.ns('gwA'), conf);
  t.teardown(() => off.stop());
  const mm1 = await waitUntil(() => /MM1/.test(off.logText()), 10_000, 200);
  t.ok(mm1, 'gwA sent MM1 to the silent peer');
  await new Promise((r) => setTimeout(r, 5000));
  t.notOk(await lab.ping('lanA', LAB.lanB, 3), 'fallback off: no traffic flows after the silence');
  const stOff = await controlRequest(off.files.socket, 'status');
  t.not(stOff.peers[0]?.state, 'clear-fallback', `fallback off: status is ${stOff.peers[0]?.state}`);
  await off.stop();

  // On: after 3 s of silence, a soft SA.
  writeFileSync(conf.config, base.replace('pfs = none', 'pfs = none\n    fallback-to-clear = yes'), { mode: 0o600 });
  const on = await Sitelinkd.start(lab.ns('gwA'), conf);
  t.teardown(() => on.stop());
  const flows = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 20_000, 500);
  if (!flows) t.comment(`gwA log:\n${on.logText()}\n${on.recentOutput()}`);
  t.ok(flows, 'fallback on: lanA reaches lanB in clear once the peer stayed silent');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'lanA pings lanB (3/3)');
  const c = await lab.counters();
  t.equal(c.espudp.packets + c.rawesp.packets, 0, 'no ESP: the traffic really is in clear');
  const st = await controlRequest(on.files.socket, 'status');
  const gwB = st.peers.find((p) => p.name === 'gwB');
  t.equal(gwB?.state, 'clear-fallback', 'status: gwB is on a soft SA (clear-fallback)');
  t.match(gwB?.lastError ?? '', /198\.18\.2\.0\/24 in clear/, `status says which traffic is in clear (${gwB?.lastError ?? ''})`);
  t.match(on.logText(), /passes in clear \(soft SA\)/, 'the log records the fallback');
  const routes = (await lab.exec('gwA', 'ip', ['route', 'show', 'table', 'all', LAB.subnetB])).stdout;
  t.notMatch(routes, /dev sl0/, 'no route for the destination into the TUN');
  const set = (await lab.exec('gwA', 'nft', ['list', 'set', 'inet', 'sitelink', 'fallback4'])).stdout;
  t.match(set, LAB.subnetB, 'the remote subnet is in the nft fallback set (clear traffic passes only for it)');
});

/** Echo requests that reached lanA (an nft counter in lanA's namespace). */
async function echoesAtLanA(lab: Awaited<ReturnType<typeof labForTest>>['lab']): Promise<number> {
  const out = (await lab.exec('lanA', 'nft', ['list', 'chain', 'ip', 'slcount', 'in'])).stdout;
  return Number(/counter packets (\d+)/.exec(out)?.[1] ?? NaN);
}

t.test('fallback to clear never follows an authentication failure', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'dfa');
  await lab.plain(true);
  const withFallback = (file: string): void =>
    writeFileSync(file, readFileSync(file, 'utf8').replace('pfs = none', 'pfs = none\n    fallback-to-clear = yes'), { mode: 0o600 });
  const { a: confA, b: confB } = labGatewayPair(dir, 'secret-one', { b: { psk: 'secret-two' } });
  withFallback(confA.config);
  withFallback(confB.config);
  const b = await Sitelinkd.start(lab.ns('gwB'), confB);
  t.teardown(() => b.stop());
  const a = await Sitelinkd.start(lab.ns('gwA'), confA);
  t.teardown(() => a.stop());
  const failed = await waitUntil(async () => (await controlRequest(a.files.socket, 'explain', { peer: 'gwB' })).record !== null, 15_000, 300);
  t.ok(failed, 'gwA recorded the failed negotiation');
  // Well past the 3 s silence limit: a peer that answered must not get a soft SA.
  await new Promise((r) => setTimeout(r, 5000));
  const st = await controlRequest(a.files.socket, 'status');
  t.not(st.peers[0]?.state, 'clear-fallback', `status is ${st.peers[0]?.state}, not clear-fallback`);
  t.notMatch(a.logText(), /passes in clear/, 'no fallback in the log');
  const routes = (await lab.exec('gwA', 'ip', ['route', 'show', 'table', 'all', LAB.subnetB])).stdout;
  t.match(routes, /dev sl0/, 'the destination is still routed into the TUN (fail closed)');
  t.notOk(await lab.ping('lanA', LAB.lanB, 2), 'no traffic flows');
  // Inbound: with no soft SA, clear packets from the remote subnet are dropped at gwA
  // (before, a fallback rule accepted them always). gwB's daemon stops so that gwB
  // routes lanB -> lanA in clear; lanA counts what arrives.
  await b.stop();
  await lab.exec('lanA', 'nft', ['-f', '-'], {
    input: 'table ip slcount {\n chain in {\n  type filter hook input priority 0;\n  icmp type echo-request counter\n }\n}\n',
  });
  await lab.ping('lanB', LAB.lanA, 3);
  t.equal(await echoesAtLanA(lab), 0, 'no clear echo request from lanB reached lanA');
});
