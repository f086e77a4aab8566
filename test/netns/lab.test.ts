// The netns lab itself (scripts/lab/netns): topology, the NAT's leak guard,
// plain routing for baselines, idempotent up/down.
import t from 'tap';
import { existsSync } from 'node:fs';
import { Lab, LAB, uniquePrefix } from '../lib/lab.ts';
import type { LabNode } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { tcpTransfer } from '../lib/iperf.ts';
import { udpReceiveDuring, udpSend } from '../lib/udp.ts';

const skip = labSkipReason(['/usr/bin/iperf3']);
const NODES: LabNode[] = ['lanA', 'gwA', 'nat', 'gwB', 'lanB'];

t.test('netns lab', { skip: skip ?? false }, async (t) => {
  const lab = new Lab(uniquePrefix('lab'));
  t.teardown(() => lab.down());
  await lab.up();
  await lab.up(); // idempotent: a second up rebuilds cleanly
  for (const n of NODES) t.ok(existsSync(`/run/netns/${lab.ns(n)}`), `${lab.ns(n)} exists`);

  t.ok(await lab.ping('gwA', LAB.gwBWan, 1), 'gwA reaches gwB through the NAT');
  const masq = await lab.exec('gwB', 'ip', ['route', 'get', LAB.gwAWan]);
  t.not(masq.code, 0, 'gwB has no route to the NAT-inside network 100.64.0.0/24');

  const c0 = await lab.counters();
  t.equal(c0.leak?.packets, 0, 'leak counter starts at zero');
  t.notOk(await lab.ping('lanA', LAB.lanB, 2), 'without a tunnel lanA cannot reach lanB');
  const c1 = await lab.counters();
  t.ok((c1.leak?.packets ?? 0) >= 2, `the NAT dropped and counted the cleartext pings (${c1.leak?.packets})`);

  await lab.plain(true);
  t.equal((await lab.counters()).leak, null, 'plain routing turns the leak guard off');
  t.ok(await lab.ping('lanA', LAB.lanB, 2), 'plain routing: lanA pings lanB');
  const x = await tcpTransfer(lab, 'lanA', 'lanB', LAB.lanB, 1);
  t.ok(x.bytesReceived > 1_000_000, `plain routing: TCP moved ${x.bytesReceived} bytes`);
  await lab.plain(false);
  t.equal((await lab.counters()).leak?.packets, 0, 'leak guard is back on (fresh counter)');
  t.notOk(await lab.ping('lanA', LAB.lanB, 1), 'leak guard back on: lanA cannot reach lanB');

  await lab.down();
  for (const n of NODES) t.notOk(existsSync(`/run/netns/${lab.ns(n)}`), `${lab.ns(n)} removed`);
  await lab.down(); // idempotent
});

t.test('lab down cleans up after a crash (process left in a namespace)', { skip: skip ?? false }, async (t) => {
  const lab = new Lab(uniquePrefix('crash'));
  t.teardown(() => lab.down());
  await lab.up();
  const { spawn } = await import('node:child_process');
  const orphan = spawn('ip', ['netns', 'exec', lab.ns('gwA'), 'sleep', '300'], { stdio: 'ignore', detached: true });
  orphan.unref();
  await lab.down();
  t.notOk(existsSync(`/run/netns/${lab.ns('gwA')}`), 'namespace removed despite the leftover process');
  t.throws(() => process.kill(orphan.pid ?? -1, 0), 'the leftover process was ended');
});

t.test('NAT rebinding moves gwA to a new public port and kills the old one', { skip: skip ?? false }, async (t) => {
  const lab = new Lab(uniquePrefix('rb'));
  t.teardown(() => lab.down());
  await lab.up();
  const sendAtoB = (): Promise<void> => udpSend(lab, 'gwA', 4500, LAB.gwBWan, 4500, 'probe');
  const before = await udpReceiveDuring(lab, 'gwB', 4500, sendAtoB);
  t.same(before, [`${LAB.natPublic}:4500`], 'the masquerade keeps source port 4500');

  await lab.rebind();
  const after = await udpReceiveDuring(lab, 'gwB', 4500, sendAtoB);
  t.equal(after.length, 1, 'gwA still reaches gwB');
  const m = /^198\.51\.100\.1:(\d+)$/.exec(after[0] ?? '');
  const port = Number(m?.[1]);
  t.ok(port >= 40000 && port <= 40999, `new public port ${port}`);

  const viaNew = await udpReceiveDuring(lab, 'gwA', 4500, () => udpSend(lab, 'gwB', 4500, LAB.natPublic, port, 'new'));
  t.same(viaNew, [`${LAB.gwBWan}:4500`], 'gwB reaches gwA through the new mapping');
  const viaOld = await udpReceiveDuring(lab, 'gwA', 4500, () => udpSend(lab, 'gwB', 4500, LAB.natPublic, 4500, 'old'));
  t.same(viaOld, [], 'the old mapping no longer reaches gwA');
});
