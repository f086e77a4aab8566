// Dead peer detection (RFC 3706) between two sitelinkd across the NAT, with
// dpd-delay = 2s, dpd-timeout = 6s: gwB's daemon is SIGKILLed (no Deletes
// sent), gwA must declare it dead and remove its SAs within delay + timeout
// (+ a margin for the 1 s timer tick and a busy machine), and with
// dpd-action = restart the tunnel must come back with traffic once gwB's
// daemon is started again.
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import type { ConfigFiles } from './ike-sitelinkd.ts';
import { Sitelinkd, sitelinkdPath, labGatewayPair } from './ike-sitelinkd.ts';

const skip = labSkipReason();
const DPD_DELAY_S = 2;
const DPD_TIMEOUT_S = 6;
const MARGIN_S = 6;

function withDpd(files: ConfigFiles, action: 'restart' | 'clear'): void {
  const text = readFileSync(files.config, 'utf8');
  const out = text.replace(/(\n {4}start = \w+)/, `$1\n    dpd-delay = ${DPD_DELAY_S}s\n    dpd-timeout = ${DPD_TIMEOUT_S}s\n    dpd-action = ${action}`);
  if (out === text) throw new Error('withDpd: peer section not found');
  writeFileSync(files.config, out, { mode: 0o600 });
}

t.test('SIGKILLed peer: DPD removes the SAs in time; the restarted peer gets the tunnel back', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'dpd');
  const psk = `dpd-psk-${Math.random().toString(36).slice(2)}`;
  const { a: confA, b: confB } = labGatewayPair(dir, psk);
  withDpd(confA, 'restart');
  withDpd(confB, 'clear');
  let b = await Sitelinkd.start(lab.ns('gwB'), confB);
  t.teardown(() => b.stop());
  const a = await Sitelinkd.start(lab.ns('gwA'), confA);
  t.teardown(() => a.stop());
  const up = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 20_000, 500);
  if (!up) t.comment(`gwA log:\n${a.logText().slice(-5000)}\ngwB log:\n${b.logText().slice(-5000)}`);
  t.ok(up, 'the tunnel is up');
  if (!up) return;
  // Idle beyond the DPD delay: R-U-THERE is answered, nothing is torn down.
  await new Promise((r) => setTimeout(r, (DPD_DELAY_S * 2 + 1) * 1000));
  t.match(a.logText(), /R-U-THERE/, 'gwA probed the idle peer');
  t.notMatch(a.logText(), /peer is dead/, 'and did not declare the live peer dead');
  t.ok(await lab.ping('lanA', LAB.lanB, 2), 'the tunnel still carries traffic');

  const killedAt = Date.now();
  b.kill('SIGKILL');
  t.ok(await waitUntil(() => !b.running, 5000, 50), "gwB's sitelinkd is gone (SIGKILL, no Deletes)");
  const limitMs = (DPD_DELAY_S + DPD_TIMEOUT_S + MARGIN_S) * 1000;
  const cleared = await waitUntil(async () => (await controlRequest(a.files.socket, 'sas')).quickMode.length === 0, limitMs, 250);
  const tookS = (Date.now() - killedAt) / 1000;
  if (!cleared) t.comment(`gwA log:\n${a.logText().slice(-5000)}`);
  t.ok(cleared, `gwA removed its IPsec SAs ${tookS.toFixed(1)} s after the kill (limit ${limitMs / 1000} s)`);
  t.ok(tookS >= DPD_TIMEOUT_S - 1, `not before the DPD timeout (${tookS.toFixed(1)} s)`);
  t.match(a.logText(), /no R-U-THERE-ACK for 6s: peer is dead \(restart\)/, 'gwA logged the dead peer');
  const ex = await controlRequest(a.files.socket, 'explain', { peer: 'gwB' });
  t.equal(ex.record?.reason, 'timeout', 'explain: the peer timed out');
  t.equal(ex.record?.silentAt, 'established', 'explain: silent on an established SA (dead peer detection)');
  t.ok(ex.record?.configLines?.includes(`peers.gwB.dpd-timeout = ${DPD_TIMEOUT_S}s`), 'explain names the dpd-timeout line');
  const st = await controlRequest(a.files.socket, 'status');
  t.not(st.peers.find((p) => p.name === 'gwB')?.state, 'up', 'status no longer says up');

  b = await Sitelinkd.start(lab.ns('gwB'), confB);
  const back = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 40_000, 500);
  if (!back) t.comment(`gwA log:\n${a.logText().slice(-5000)}\ngwB log:\n${b.logText().slice(-5000)}`);
  t.ok(back, 'after gwB restarts, gwA (dpd-action = restart) brings the tunnel back');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'lanA pings lanB (3/3)');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA (3/3)');
  const c = await lab.counters();
  t.equal(c.leak?.packets, 0, 'nothing crossed the NAT in clear');
});
