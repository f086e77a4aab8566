// sitelinkctl reload on a running tunnel: an unrelated change (log level, a second
// peer) keeps the tunnel's SAs (same SPIs) and traffic; an invalid file is refused
// with file:line: field errors and changes nothing; a change to the tunnel's security
// methods renegotiates it (new SPIs, new algorithm) and traffic flows again, while
// the peer's second tunnel (rule extra) keeps its SPIs: reload is per tunnel.
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { labGatewayPair, sitelinkdPath, startLabTunnel } from './ike-sitelinkd.ts';
import { addRule } from './config-rules.ts';

const skip = labSkipReason();

/** A second tunnel with the same peer: our LAN <-> `remote` under its own rule and action. */
function addTunnel(file: string, peer: string, local: string, remote: string): void {
  addRule(file, {
    name: 'extra', list: 'lan2', filter: { source: local, destination: remote },
    actionName: 'secure2', action: { action: 'negotiate', 'security-methods': 'aes256gcm16', pfs: 'none' }, peer,
  });
}

t.test('reload keeps unchanged tunnels, refuses invalid files, renegotiates changed ones', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'drl');
  const psk = 'reload-lab-psk';
  // gwB accepts both methods, so gwA's later change of security methods can succeed.
  const { a: confA, b: confB } = labGatewayPair(dir, psk, { a: { esp: 'aes128gcm16' }, b: { esp: 'aes128gcm16, aes256gcm16' } });
  addTunnel(confA.config, 'gwB', LAB.subnetA, '198.18.20.0/24');
  addTunnel(confB.config, 'gwA', '198.18.20.0/24', LAB.subnetA);
  const { a, b, up } = await startLabTunnel(t, lab, { a: confA, b: confB });
  t.ok(up, 'tunnel up: lanA reaches lanB');
  const spis = async (): Promise<string> => {
    const sas = await controlRequest(a.files.socket, 'sas');
    return sas.quickMode.map((q) => `${q.rule}:${q.spiIn}/${q.spiOut}:${q.algorithm}`).sort().join(',');
  };
  const both = await waitUntil(async () => /extra:/.test(await spis()), 15_000, 500);
  const before = await spis();
  t.ok(both, `both tunnels of the peer are up (${before})`);
  t.match(before, /aes128gcm16/, `gwA has the SA pair (${before})`);
  const original = readFileSync(confA.config, 'utf8');

  // 1. Unrelated change: log level and a second peer (with its own PSK).
  writeFileSync(
    confA.config,
    original
      .replace('level = debug', 'level = info')
      .replace('peers {\n', 'peers {\n  other {\n    remote = 192.0.2.77\n    remote-id = other.lab\n    start = none\n  }\n'),
    { mode: 0o600 },
  );
  const secretsFile = path.join(dir, 'gwA.secrets');
  writeFileSync(secretsFile, readFileSync(secretsFile, 'utf8').replace('psk {\n', 'psk {\n  other.lab = "other-peer-psk"\n'), { mode: 0o600 });
  const r1 = await controlRequest(a.files.socket, 'reload');
  t.ok(r1.ok, `unrelated change accepted: ${r1.message} ${r1.errors.join('; ')}`);
  t.same(r1.peers?.added, ['other'], 'the diff shows the added peer');
  t.equal(await spis(), before, 'the tunnel kept its SPIs');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'traffic still flows (3/3)');

  // 2. Invalid file: refused, nothing changes.
  writeFileSync(confA.config, original.replace('    start = start\n', '    start = start\n    bogus-key = 1\n'), { mode: 0o600 });
  const r2 = await controlRequest(a.files.socket, 'reload');
  t.notOk(r2.ok, 'invalid config refused');
  t.match(r2.errors.join('\n'), /gwA\.conf:\d+: peers\.gwB\.bogus-key/, `error names file:line: field (${r2.errors.join('; ')})`);
  t.equal(await spis(), before, 'SPIs unchanged after the refused reload');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'traffic still flows on the old config');
  const st = await controlRequest(a.files.socket, 'status');
  t.ok(st.peers.some((p) => p.name === 'other'), 'the last valid config (with peer other) is still running');

  // 3. The tunnel's security methods change: renegotiated.
  writeFileSync(confA.config, original.replace('security-methods = aes128gcm16', 'security-methods = aes256gcm16'), { mode: 0o600 });
  const r3 = await controlRequest(a.files.socket, 'reload');
  t.ok(r3.ok, `security method change accepted: ${r3.message} ${r3.errors.join('; ')}`);
  t.same(r3.tunnels?.changed, ['site'], 'the diff shows the tunnel changed');
  const renewed = await waitUntil(async () => /aes256gcm16/.test(await spis()), 20_000, 500);
  const after = await spis();
  t.ok(renewed, `renegotiated with aes256gcm16 (${after})`);
  t.not(after, before, 'new SPIs');
  const extra = (x: string): string => x.split(',').find((q) => q.startsWith('extra:')) ?? 'none';
  t.equal(extra(after), extra(before), `the peer's other tunnel kept its SPIs (${extra(after)})`);
  const flows = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 15_000, 500);
  t.ok(flows, 'traffic flows through the renegotiated tunnel');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'lanA pings lanB (3/3)');
  const c = await lab.counters();
  t.equal(c.leak?.packets, 0, 'nothing leaked in clear during the reloads');
  if (!flows || !renewed) t.comment(`gwA log:\n${a.logText()}\ngwB log:\n${b.logText()}`);
});
