// The policy handlers the daemon mounts, exercised through sitelinkctl over a real socket
// with a real config file, secrets file, negotiation log and failure book.
import t from 'tap';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlServer } from '../../firmware/src/control/server.ts';
import { mountPolicyHandlers } from '../../firmware/src/control/policy-handlers.ts';
import { runCli } from '../../firmware/src/ctl/cli.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { loadConfigFile } from '../../firmware/src/config/load.ts';
import type { SitelinkConfig } from '../../firmware/src/config/types.ts';
import type { ConfigDiff } from '../../firmware/src/config/diff.ts';
import { NegotiationLog } from '../../firmware/src/log/negotiation-log.ts';
import { FailureBook } from '../../firmware/src/log/failures.ts';
import type { FailureRecord } from '../../firmware/src/log/failure-record.ts';
import { renderExplain } from '../../firmware/src/ctl/render-explain.ts';
import { RECORDS } from './explain-records.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PSK = 'handlers-psk-4b5c6d7e8f9a0b1c';
const dir = mkdtempSync(join(tmpdir(), 'sl-h-'));
const confFile = join(dir, 'sitelink.conf');
const secretsFile = join(dir, 'secrets.conf');
const original = readFileSync(join(repo, 'board', 'common', 'sitelink.conf.example'), 'utf8')
  .replace('secrets = /etc/sitelink/secrets.conf', 'secrets = secrets.conf');
writeFileSync(confFile, original);
writeFileSync(secretsFile, `psk {\n  hq.example.net = "${PSK}"\n}\n`);
chmodSync(secretsFile, 0o600);

const first = loadConfigFile(confFile);
if (!first.ok) throw new Error(JSON.stringify(first.errors));
let running: SitelinkConfig = first.config;
const applied: ConfigDiff[] = [];
const log = NegotiationLog.open({ file: join(dir, 'log', 'negotiation.log'), syslog: false, level: 'debug' });
const failures = new FailureBook();
const sock = join(dir, 'run', 'control.sock');
const server = new ControlServer({ path: sock });
mountPolicyHandlers(server, {
  config: () => running,
  apply: (c, d) => { running = c; applied.push(d); },
  log,
  failures,
  localAddresses: () => ['10.1.0.1'],
});

const outputs: string[] = [];
async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(['--socket', sock, ...argv], { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), env: {} });
  outputs.push(out, err);
  return { code, out, err };
}

t.before(() => server.listen());
t.teardown(async () => { await server.close(); await log.close(); });

t.test('filters resolves "me" to the gateway address', async (t) => {
  const r = await cli('filters');
  t.equal(r.code, 0);
  t.match(r.out, /permit\s+allow-ssh\s+-\s+10\.1\.0\.0\/24\s+10\.1\.0\.1\s+tcp\s+any\s+22\s+forward/);
});

t.test('reload: a valid change is applied with its diff; an invalid file keeps the running config', async (t) => {
  writeFileSync(confFile, original.replace('dpd-delay = 30s', 'dpd-delay = 20s'));
  const ok = await cli('reload');
  t.equal(ok.code, 0, ok.err);
  t.match(ok.out, 'peers: changed: hq');
  t.match(ok.out, 'tunnels: changed: to-hq');
  t.equal(applied.length, 1);
  t.equal(running.peers.get('hq')?.dpd?.delaySeconds, 20);

  const before = running;
  writeFileSync(confFile, original.replace('remote = 198.51.100.2', 'remote = not an address'));
  const bad = await cli('reload');
  t.equal(bad.code, 1);
  t.match(bad.out, 'running configuration kept');
  t.match(bad.out, /sitelink\.conf:\d+: peers\.hq\.remote: expected an IP address or DNS name/);
  t.equal(running, before, 'old config stays');
  t.equal(applied.length, 1, 'nothing applied');
  writeFileSync(confFile, original);
});

t.test('log shows reload entries', async (t) => {
  log.log({ peer: 'hq', phase: 'main', step: 'MM1', direction: 'out', message: `offer with secret ${PSK}` });
  const r = await cli('log', '-n', '5');
  t.match(r.out, 'config reload');
  t.match(r.out, 'hq main MM1 -> offer with secret <redacted>');
});

t.test('explain: unknown peer is an error, known peer without failure says so, recorded failure renders', async (t) => {
  t.equal((await cli('explain', 'nope')).code, 1);
  t.match((await cli('explain', 'hq')).out, 'No failed negotiation with hq on record.');
  failures.record({
    peer: 'hq', time: '2026-11-22T20:00:00.000Z', phase: 'main', role: 'initiator', reason: 'authentication-failed',
    exchange: [{ from: 'local', message: 'MM5' }], offered: [], acceptable: [], expectedId: 'hq.example.net', detail: `psk was ${PSK}`,
  });
  const r = await cli('explain', 'hq');
  t.match(r.out, 'Authentication failed');
  t.notMatch(r.out, PSK);
});

t.test('explain: every kind of record, as text and --json, read back over the socket', async (t) => {
  for (const [name, r] of Object.entries(RECORDS)) {
    failures.record(r);
    const text = await cli('explain', 'hq');
    t.equal(text.code, 0, `${name}: ${text.err}`);
    t.equal(text.out.trimEnd(), renderExplain('hq', r), `${name}: rendered as from the record itself`);
    const json = await cli('explain', 'hq', '--json');
    t.equal(json.code, 0, name);
    const back = (JSON.parse(json.out) as { record: FailureRecord }).record;
    t.same(back.offered, r.offered, `${name}: offered is the array it was`);
    t.same(back.acceptable, r.acceptable, `${name}: acceptable too (shared arrays are no cycle)`);
    t.same(back, r, `${name}: the whole record`);
  }
  failures.clear('hq');
});

t.test('health collected in the daemon', async (t) => {
  const r = await cli('health', '--json');
  const h = JSON.parse(r.out) as { source: string; load: { cores: number }; interfaces: { name: string }[] };
  t.equal(h.source, 'daemon');
  t.ok(h.load.cores >= 1);
  t.ok(h.interfaces.some((i) => i.name === 'lo'));
});

t.test('check through the daemon handler and locally agree', async (t) => {
  const local = await cli('check', confFile, '--secrets', secretsFile);
  t.equal(local.code, 0, local.out);
  const viaDaemon = await controlRequest(sock, 'check', {});
  t.same(viaDaemon, { ok: true, file: confFile, errors: [], warnings: [] });
  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, 'rules {\n r { filters = x\n action = y } }\n');
  const r = await controlRequest(sock, 'check', { file: bad });
  t.equal(r.ok, false);
  t.match(r.errors.join('\n'), 'bad.conf:2: rules.r.filters: "x" is not a filter list');
});

t.test('no secret in any output', async (t) => {
  t.notMatch(outputs.join('\n'), PSK);
  t.notMatch(readFileSync(join(dir, 'log', 'negotiation.log'), 'utf8'), PSK);
});
