// A datagram the host refuses to send costs that datagram, never the daemon.
//
// Node 20 reports a refused UDP send only to the send's callback (without one it
// vanishes: an operator saw MM1s 'sent' that never left). Here gwB initiates main mode toward its
// peer while a firewall rule in gwB's own OUTPUT hook drops UDP to the peer's port
// 500: every sendto() fails with EPERM. sitelinkd must keep running, answer its
// control socket and say in its log (bounded) why nothing goes out.
import t from 'tap';
import { existsSync } from 'node:fs';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { runOk } from '../lib/proc.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { labGateway, Sitelinkd, sitelinkdPath, writeGatewayConfig } from './ike-sitelinkd.ts';

const skip = labSkipReason();

t.test('a send the host refuses (EPERM) is logged, the daemon keeps running', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'se');
  const conf = writeGatewayConfig(dir, 'gwB', labGateway('gwB', 'send-error-test-key-0123456789', {
    start: 'start',
    retransmit: { timeout: '1s', tries: 3 },
  }));
  const b = await Sitelinkd.start(lab.ns('gwB'), conf);
  t.teardown(() => b.stop());
  // Added once sitelinkd runs (it replaces the ruleset on start): its MM1
  // retransmissions meet the rule.
  await runOk('ip', ['netns', 'exec', lab.ns('gwB'), 'nft', '-f', '-'], {
    input: `table ip sendtest {\n  chain out {\n    type filter hook output priority 0;\n    ip daddr ${LAB.natPublic} udp dport 500 drop\n  }\n}\n`,
  });

  const logged = await waitUntil(() => /sending on UDP 500 failed/.test(b.logText()), 10_000, 200);
  t.ok(logged, 'the failed send is in the log');
  // Further retransmissions: each one a refused send.
  await waitUntil(() => !b.running, 4000, 200);
  t.ok(b.running, `sitelinkd is still running\n${b.recentOutput()}`);
  const status = await controlRequest(conf.socket, 'status');
  t.ok(status !== null && typeof status === 'object', 'the control socket answers');
  const lines = b.logText().split('\n').filter((l) => l.includes('sending on UDP 500 failed'));
  t.ok(lines.length >= 1 && lines.length <= 50, `the failures are logged, bounded (${lines.length} lines)`);
  t.notOk(b.logText().includes('send-error-test-key'), 'no PSK in the log');
});
