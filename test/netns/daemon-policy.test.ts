// sitelinkd enforces the config's permit/block filters with nftables (table inet
// sitelink): a block filter (lanA -> gwA's LAN address, ICMP) really drops while the
// negotiate rule's traffic crosses the tunnel; SIGTERM removes the table again.
import t from 'tap';
import { existsSync } from 'node:fs';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { labGatewayPair, sitelinkdPath, startLabTunnel } from './ike-sitelinkd.ts';
import { addRule } from './config-rules.ts';

const skip = labSkipReason();

t.test('sitelinkd applies block filters in nftables and removes them at stop', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'dpo');
  const psk = 'policy-lab-psk';
  const { a: confA, b: confB } = labGatewayPair(dir, psk);
  // ICMP between lanA's host and gwA's LAN address is blocked.
  addRule(confA.config, {
    name: 'no-ping', list: 'no-ping-gw', actionName: 'deny', action: { action: 'block' },
    filter: { source: LAB.lanA, destination: LAB.gwALan, protocol: 'icmp' },
  });

  const tables = async (): Promise<string> => (await lab.exec('gwA', 'nft', ['list', 'tables'])).stdout;
  t.ok(await lab.ping('lanA', LAB.gwALan, 2), 'before sitelinkd, lanA pings gwA (the block is not a lab artefact)');
  t.notMatch(await tables(), /inet sitelink/, 'no sitelink table before start');

  const { a, up } = await startLabTunnel(t, lab, { a: confA, b: confB });
  t.match(await tables(), /table inet sitelink/, 'sitelinkd created table inet sitelink');
  const ruleset = (await lab.exec('gwA', 'nft', ['list', 'table', 'inet', 'sitelink'])).stdout;
  t.match(ruleset, /no-ping/, 'the block rule is in the ruleset');

  t.ok(up, 'negotiated traffic: lanA reaches lanB through the tunnel');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'lanA pings lanB (3/3)');
  const c = await lab.counters();
  t.equal(c.leak?.packets, 0, 'nothing crossed the NAT in clear');
  t.ok(c.espudp.packets > 0, 'the pings went as ESP-in-UDP');
  t.notOk(await lab.ping('lanA', LAB.gwALan, 2), 'blocked traffic: lanA can no longer ping gwA');

  await a.stop();
  t.notOk(a.running, 'gwA exited on SIGTERM');
  t.notMatch(await tables(), /inet sitelink/, 'after SIGTERM the table is gone');
  t.ok(await lab.ping('lanA', LAB.gwALan, 2), 'and lanA pings gwA again');
});
