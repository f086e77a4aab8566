// Commit-confirmed reloads and the config history (daemon/commit-confirm.ts), through
// sitelinkctl over a real control socket with real config, secrets and history files:
// reload --confirm + confirm keeps the change; without confirm the previous config
// (file and secrets) comes back by itself; config history / rollback N; an unconfirmed
// change found at daemon start is reverted; the history keeps the last few only.
import t from 'tap';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlServer } from '../../firmware/src/control/server.ts';
import { mountPolicyHandlers, reloadFromFile, type PolicyContext } from '../../firmware/src/control/policy-handlers.ts';
import { mountCommitHandlers } from '../../firmware/src/daemon/commit-handlers.ts';
import { CommitConfirm, recoverUnconfirmed } from '../../firmware/src/daemon/commit-confirm.ts';
import { ConfigHistory, HISTORY_KEEP } from '../../firmware/src/config/history.ts';
import { runCli } from '../../firmware/src/ctl/cli.ts';
import { loadConfigFile } from '../../firmware/src/config/load.ts';
import type { SitelinkConfig } from '../../firmware/src/config/types.ts';
import { NegotiationLog } from '../../firmware/src/log/negotiation-log.ts';
import { FailureBook } from '../../firmware/src/log/failures.ts';
import { waitUntil } from '../lib/wait.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PSK1 = 'commit-psk-one-1a2b3c';
const PSK2 = 'commit-psk-two-4d5e6f';
const dir = mkdtempSync(join(tmpdir(), 'sl-cc-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const confFile = join(dir, 'sitelink.conf');
const secretsFile = join(dir, 'secrets.conf');
const original = readFileSync(join(repo, 'board', 'common', 'sitelink.conf.example'), 'utf8')
  .replace('secrets = /etc/sitelink/secrets.conf', 'secrets = secrets.conf');
const v = (delay: number): string => original.replace('dpd-delay = 30s', `dpd-delay = ${delay}s`);
const writeSecrets = (psk: string): void => {
  writeFileSync(secretsFile, `psk {\n  hq.example.net = "${psk}"\n}\n`);
  chmodSync(secretsFile, 0o600);
};
writeFileSync(confFile, v(30));
writeSecrets(PSK1);

const first = loadConfigFile(confFile);
if (!first.ok) throw new Error(JSON.stringify(first.errors));
let running: SitelinkConfig = first.config;
const delay = (): number | undefined => running.peers.get('hq')?.dpd?.delaySeconds;
const log = NegotiationLog.open({ file: join(dir, 'log', 'negotiation.log'), syslog: false, level: 'debug' });
const sock = join(dir, 'run', 'control.sock');
const server = new ControlServer({ path: sock });
const policy: PolicyContext = { config: () => running, apply: (c) => { running = c; }, log, failures: new FailureBook() };
mountPolicyHandlers(server, policy);
const commits = new CommitConfirm({ config: () => running, reload: () => reloadFromFile(policy), log });
commits.recordRunning('start');
mountCommitHandlers(server, commits);

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(['--socket', sock, ...argv], { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), env: {} });
  return { code, out, err };
}
const history = async () => JSON.parse((await cli('--json', 'config', 'history')).out) as {
  schemaVersion: number; entries: { index: number; seq: number; source: string; pending: boolean }[]; confirmPending: { revertTo: number } | null;
};

t.before(() => server.listen());
t.teardown(async () => { commits.close(); await server.close(); await log.close(); });

t.test('the running config is in the history at start, beside the real config file', async (t) => {
  t.equal(commits.history.dir, join(dir, 'history'));
  const h = await history();
  t.equal(h.schemaVersion, 1, '--json carries the schema version');
  t.same(h.entries.map((e) => [e.index, e.source, e.pending]), [[0, 'start', false]]);
  t.equal(h.confirmPending, null);
});

t.test('reload --confirm then confirm keeps the change', async (t) => {
  writeFileSync(confFile, v(20));
  const r = await cli('reload', '--confirm', '60s');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /UNCONFIRMED change: reverts to history 1 in 60s/);
  t.equal(delay(), 20, 'applied at once');
  const st = await history();
  t.same(st.entries.map((e) => [e.index, e.source, e.pending]), [[0, 'reload', true], [1, 'start', false]]);
  t.equal(st.confirmPending?.revertTo, 1);
  const c = await cli('confirm');
  t.equal(c.code, 0, c.err);
  t.match(c.out, 'configuration confirmed');
  t.equal((await history()).confirmPending, null, 'no window after confirm');
  const again = await cli('confirm');
  t.equal(again.code, 1);
  t.match(again.err, 'nothing to confirm');
});

t.test('without confirm the previous config and its secrets come back by themselves', async (t) => {
  writeFileSync(confFile, v(10));
  writeSecrets(PSK2);
  const r = await cli('--json', 'reload', '--confirm', '5s');
  t.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { ok: boolean; confirm: { secondsLeft: number; revertTo: number } };
  t.same([j.ok, j.confirm.secondsLeft, j.confirm.revertTo], [true, 5, 2]);
  t.equal(delay(), 10);
  t.ok(running.peers.get('hq')?.psk?.reveal().toString() === PSK2, 'new PSK in force');
  const reverted = await waitUntil(() => delay() === 20, 20_000, 200);
  t.ok(reverted, 'the confirmed config (dpd-delay 20s) is running again');
  t.equal(readFileSync(confFile, 'utf8'), v(20), 'sitelink.conf on disk is the previous one');
  t.match(readFileSync(secretsFile, 'utf8'), PSK1, 'the secrets file too');
  t.ok(running.peers.get('hq')?.psk?.reveal().toString() === PSK1, 'the old PSK is in force');
  const h = await history();
  t.equal(h.entries[0]?.source, 'revert');
  t.equal(h.confirmPending, null);
  t.match((await cli('log', '-n', '20')).out, /not confirmed by .*: reverted to history 2/);
});

t.test('an invalid file with --confirm is refused and opens no window', async (t) => {
  writeFileSync(confFile, v(20).replace('remote = 198.51.100.2', 'remote = not an address'));
  const r = await cli('reload', '--confirm', '60s');
  t.equal(r.code, 1);
  t.match(r.out, /sitelink\.conf:\d+: peers\.hq\.remote/);
  t.equal(delay(), 20);
  t.equal((await history()).confirmPending, null);
  writeFileSync(confFile, v(20));
});

t.test('config rollback N puts an older config back; a bad N is an error', async (t) => {
  const h = await history();
  const start = h.entries.find((e) => e.source === 'start');
  if (!start) return t.fail('start entry kept');
  const r = await cli('config', 'rollback', String(start.index));
  t.equal(r.code, 0, r.err);
  t.equal(delay(), 30);
  t.equal(readFileSync(confFile, 'utf8'), v(30));
  t.equal((await history()).entries[0]?.source, 'rollback');
  const bad = await cli('config', 'rollback', '99');
  t.equal(bad.code, 1);
  t.match(bad.err, 'config history has no entry 99');
  t.equal((await cli('config', 'rollback')).code, 2, 'usage error without N');
  t.equal((await cli('reload', '--confirm', 'soon')).code, 2, 'usage error for a bad duration');
  const tooShort = await cli('reload', '--confirm', '1s');
  t.equal(tooShort.code, 1);
  t.match(tooShort.err, 'confirmSeconds must be');
});

t.test('a second --confirm in the window keeps the first way back; a plain reload confirms', async (t) => {
  const before = (await history()).entries[0]?.seq;
  writeFileSync(confFile, v(25));
  const r1 = JSON.parse((await cli('--json', 'reload', '--confirm', '60s')).out) as { confirm: { revertTo: number } };
  t.equal(r1.confirm.revertTo, before, 'reverts to the config running before');
  writeFileSync(confFile, v(26));
  const r2 = JSON.parse((await cli('--json', 'reload', '--confirm', '60s')).out) as { confirm: { revertTo: number } };
  t.equal(r2.confirm.revertTo, before, 'still to the one before the first --confirm');
  t.equal(delay(), 26);
  writeFileSync(confFile, v(27));
  const plain = await cli('reload');
  t.equal(plain.code, 0, plain.err);
  t.equal(delay(), 27);
  const h = await history();
  t.equal(h.confirmPending, null, 'the plain reload closed the window');
  t.notOk(h.entries.some((e) => e.pending), 'nothing pending');
});

t.test('a window still open at daemon start is reverted before the config is read', async (t) => {
  writeFileSync(confFile, v(15));
  t.equal((await cli('reload', '--confirm', '60s')).code, 0);
  t.equal(delay(), 15);
  commits.close(); // the daemon stops (or the board reboots) inside the window
  const line = recoverUnconfirmed(confFile);
  t.match(line, /unconfirmed change .* reverted to history/);
  t.equal(readFileSync(confFile, 'utf8'), v(27));
  t.equal(new ConfigHistory(join(dir, 'history')).pending(), null);
  t.equal(recoverUnconfirmed(confFile), null, 'nothing left to recover');
});

t.test(`the history keeps the last ${HISTORY_KEEP} configs, no duplicates`, async (t) => {
  const hist = new ConfigHistory(join(dir, 'h2'));
  for (let i = 0; i < HISTORY_KEEP + 3; i++) {
    writeFileSync(confFile, v(40 + i));
    hist.record({ config: confFile, secrets: secretsFile }, 'reload');
    hist.record({ config: confFile, secrets: secretsFile }, 'reload');
  }
  const l = hist.list();
  t.equal(l.length, HISTORY_KEEP);
  t.same(l.map((e) => e.index), [...Array(HISTORY_KEEP).keys()]);
  t.equal(l[0]?.seq, HISTORY_KEEP + 3);
  t.ok(existsSync(join(dir, 'h2', String(HISTORY_KEEP + 3), 'secrets.conf')));
});

t.test('no secret in the history listing or the log', async (t) => {
  const h = await cli('config', 'history');
  t.notMatch(h.out, PSK1);
  t.notMatch(h.out, PSK2);
  const logText = readFileSync(join(dir, 'log', 'negotiation.log'), 'utf8');
  t.notMatch(logText, PSK1);
  t.notMatch(logText, PSK2);
});
