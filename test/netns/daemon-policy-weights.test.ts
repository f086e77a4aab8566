// Routing follows the filter weights (issue 17): the most specific filter's action is
// the only one applied, for the routes into the engine's TUN too, not only in nftables.
//  1. A permit filter inside a negotiate rule's subnets (more specific: one host, UDP
//     port 5555) leaves in clear; it is not routed into the TUN and encrypted.
//  2. A negotiate rule for UDP port 5555 only does not route its whole remote subnet
//     into the TUN: its port goes through the tunnel, other traffic (ping) in clear
//     instead of being swallowed by the engine and dropped.
// "In clear" is what the lab's NAT sees: its leak guard counts (and drops) cleartext
// LAN-to-LAN packets, so a permitted flow shows up there and nowhere in ESP.
import t from 'tap';
import { existsSync } from 'node:fs';
import { LAB, labForTest, type Lab } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitUntil } from '../lib/wait.ts';
import { type ConfigFiles, labGatewayPair, sitelinkdPath, startLabPair, startLabTunnel } from './ike-sitelinkd.ts';
import { addRule } from './config-rules.ts';

const skip = labSkipReason();

/** Sends `n` UDP datagrams from lanA to lanB:port (bash's /dev/udp, no listener needed). */
async function sendUdp(lab: Lab, port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await lab.exec('lanA', 'bash', ['-c', `echo probe${i} > /dev/udp/${LAB.lanB}/${port}`]);
  await new Promise((r) => setTimeout(r, 300));
}

function pairConfig(dir: string, opts: { permit: boolean; ports: boolean }): { a: ConfigFiles; b: ConfigFiles } {
  const files = labGatewayPair(
    dir,
    'weights-lab-psk',
    opts.ports ? { a: { filter: { protocol: 'udp', destinationPorts: '5555' } }, b: { filter: { protocol: 'udp', sourcePorts: '5555' } } } : {},
  );
  // UDP from lanA's host to lanB's host port 5555 in clear (weighs more than the
  // subnet-to-subnet negotiate filter).
  if (opts.permit) {
    addRule(files.a.config, {
      name: 'clear-udp', list: 'udp5555', actionName: 'pass', action: { action: 'permit' },
      filter: { source: LAB.lanA, destination: LAB.lanB, protocol: 'udp', 'destination-ports': '5555' },
    });
  }
  return files;
}

t.test('a permit filter inside a negotiate rule is routed in clear, not encrypted', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'dpw1');
  const { up } = await startLabTunnel(t, lab, pairConfig(dir, { permit: true, ports: false }));
  t.ok(up, 'negotiated traffic: lanA pings lanB through the tunnel');
  const c0 = await lab.counters();
  t.equal(c0.leak?.packets, 0, 'the ping crossed the NAT only as ESP');
  await sendUdp(lab, 5555, 5);
  const c1 = await lab.counters();
  const clear = (c1.leak?.packets ?? 0) - (c0.leak?.packets ?? 0);
  t.ok(clear >= 5, `the permitted UDP left gwA in clear (NAT saw ${clear} cleartext packets)`);
  await sendUdp(lab, 5556, 3);
  const c2 = await lab.counters();
  t.equal(c2.leak?.packets, c1.leak?.packets, 'another port of the same host is still negotiate traffic: nothing in clear');
  t.ok(await lab.ping('lanA', LAB.lanB, 2), 'and the tunnel still carries lanA -> lanB');
});

t.test('a port-specific negotiate rule does not route the whole subnet into the TUN', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'dpw2');
  const { a } = await startLabPair(t, lab, pairConfig(dir, { permit: false, ports: true }));
  const negotiated = await waitUntil(async () => {
    const c0 = await lab.counters();
    await sendUdp(lab, 5555, 2);
    const c1 = await lab.counters();
    return c1.espudp.packets - c0.espudp.packets >= 2 && c1.leak?.packets === c0.leak?.packets;
  }, 20_000, 500);
  if (!negotiated) t.comment(`gwA log:\n${a.logText()}\n${a.recentOutput()}`);
  t.ok(negotiated, 'UDP to lanB:5555 crosses the NAT as ESP (the port-specific tunnel is up)');
  const c0 = await lab.counters();
  const pinged = await lab.ping('lanA', LAB.lanB, 2);
  t.notOk(pinged, 'the ping gets no answer (the lab NAT drops cleartext LAN traffic)');
  const c1 = await lab.counters();
  const clear = (c1.leak?.packets ?? 0) - (c0.leak?.packets ?? 0);
  t.ok(clear >= 2, `other traffic to lanB left gwA in clear instead of being dropped in the TUN (NAT saw ${clear})`);
  const routes = (await lab.exec('gwA', 'ip', ['route', 'show', 'table', 'all', LAB.subnetB])).stdout;
  t.notMatch(routes, /dev sl0/, 'no whole-subnet route into the TUN');
});
