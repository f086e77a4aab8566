// sitelinkctl against a real control-socket server in this process. The handlers serve
// fixed, realistic data: the unit under test is the CLI (parsing, transport, rendering)
// and the server (registry, framing, permissions, redaction).
import t from 'tap';
import { mkdtempSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { runCli } from '../../firmware/src/ctl/cli.ts';
import { ControlServer } from '../../firmware/src/control/server.ts';
import { ControlClient } from '../../firmware/src/control/client.ts';
import type { ResultOf } from '../../firmware/src/control/protocol.ts';
import { filterRows } from '../../firmware/src/control/filter-rows.ts';
import { expandConfig } from '../../firmware/src/policy/expand.ts';
import { loadConfigFile } from '../../firmware/src/config/load.ts';
import { Secret } from '../../firmware/src/base/secret.ts';
import { redactor } from '../../firmware/src/log/redact.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const example = join(repo, 'board', 'common', 'sitelink.conf.example');
const PSK = 'ctl-test-psk-9f8e7d6c';
const psk = new Secret(Buffer.from(PSK));
redactor.add(psk);

const dir = mkdtempSync(join(tmpdir(), 'sl-ctl-'));
const sockPath = join(dir, 'run', 'control.sock');

const example_ = loadConfigFile(example, { secrets: false });
if (!example_.ok) throw new Error('example invalid');

const status: ResultOf['status'] = {
  version: '0.1.0', pid: 4242, uptimeSeconds: 7385, configFile: '/etc/sitelink/sitelink.conf', configLoaded: '2026-11-22T20:00:00.000Z',
  peers: [
    { name: 'hq', remote: '198.51.100.2', state: 'up', mainModeSas: 1, quickModeSas: 2 },
    { name: 'dc', remote: '203.0.113.9', state: 'down', mainModeSas: 0, quickModeSas: 0, lastError: 'NO-PROPOSAL-CHOSEN in main mode' },
  ],
};
const sas: ResultOf['sas'] = {
  mainMode: [
    {
      peer: 'hq',
      state: 'established',
      role: 'initiator',
      local: '100.64.0.2:4500',
      remote: '198.51.100.2:4500',
      localId: 'branch1.example.net',
      remoteId: 'hq.example.net',
      cookies: '0011223344556677:8899aabbccddeeff',
      proposal: 'aes256-sha256-ecp256',
      auth: 'psk',
      lifetimeSeconds: 28800,
      remainingSeconds: 27000,
      nat: { local: true, remote: false },
      natt: true,
      quickModes: 1,
    },
  ],
  quickMode: [
    {
      peer: 'hq',
      rule: 'to-hq',
      algorithm: 'aes128gcm16',
      pfs: 'ecp256',
      esn: true,
      localTs: ['10.1.0.0/24'],
      remoteTs: ['10.0.0.0/16'],
      spiIn: 0xc1a2b3c4,
      spiOut: 0x0d0e0f10,
      lifetimeSeconds: 3600,
      remainingSeconds: 3000,
      lifetimeKilobytes: 100000,
      bytesIn: '123456789',
      bytesOut: '987654',
      packetsIn: '1000',
      packetsOut: '900',
      dropsIn: { replay: '3', icv: '1', malformed: '0', padding: '0' },
      encap: 'udp',
      backend: 'openssl',
      driver: 'openssl',
    },
  ],
};

const counters: ResultOf['counters'] = {
  esp: {
    packets: { fromNetwork: '5000', toNetwork: '4900', fromTun: '4950', toTun: '4890' },
    ike: { received: '12', sent: '11', dropped: '0' },
    keepalives: { received: '0', sent: '30' },
    drops: { replay: '3', icv: '7', badSpi: '2', malformed: '1', padding: '0', noSa: '4', deadSa: '0', txError: '0' },
    eventsDropped: '0',
  },
  ike: {
    malformed: 9,
    unexpected: 5,
    retransmitted: 2,
    mainModeFailed: 1,
    quickModeFailed: 0,
    halfOpenRefused: 6,
    halfOpenEvicted: 7,
    repliesLimited: 8,
    invalidCookieSent: 11,
    mainModeRestarts: 12,
    fragmentsReceived: 4,
    fragmentsDropped: 1,
    reassembled: 1,
    fragmentsSent: 3,
  },
};

const seen: { command: string; args: unknown }[] = [];
const server = new ControlServer({ path: sockPath });
server
  .handle('status', () => status)
  // A buggy handler leaking the PSK three ways: the redaction layer must catch all.
  .handle('sas', () => ({ ...sas, debug: { psk, note: `psk is ${PSK}`, secret: PSK } }))
  .handle('counters', () => counters)
  .handle('filters', () => ({ filters: filterRows(expandConfig(example_.config)) }))
  .handle('initiate', (args) => {
    seen.push({ command: 'initiate', args });
    return { message: `initiating ${String(args.peer)}` };
  })
  .handle('terminate', (args) => {
    if (args.peer !== 'hq') throw new Error(`no such peer "${String(args.peer)}"`);
    return { message: 'terminated hq' };
  })
  .handle('rekey', (args) => ({ message: `rekeying ${String(args.peer)}` }))
  .handle('reload', () => ({
    ok: true,
    message: 'configuration reloaded',
    errors: [],
    peers: { unchanged: ['hq'], changed: [], added: ['dc'], removed: [] },
    tunnels: { unchanged: ['to-hq'], changed: [], added: [], removed: [] },
  }))
  .handle('log', (args) => ({
    entries: Array.from({ length: Number(args.n) }, (_, i) => ({
      time: '2026-11-22T20:00:00.000Z',
      level: 'info',
      peer: 'hq',
      phase: 'main',
      step: `MM${i + 1}`,
      direction: 'out',
      message: `step ${i + 1}`,
    })),
  }))
  .handle('health', () => ({
    hostname: 'branch1',
    uptimeSeconds: 90061,
    load: { avg1: 0.5, avg5: 0.4, avg15: 0.3, currentPercent: 12.5, cores: 2 },
    memory: { totalBytes: 1073741824, usedBytes: 268435456, availableBytes: 805306368 },
    temperatures: { main: 48, cores: [47, 49], max: 49 },
    interfaces: [
      {
        name: 'eth0',
        up: true,
        addresses: ['100.64.0.2'],
        mac: '52:54:00:12:34:56',
        rxBytes: 1048576,
        txBytes: 2048,
        rxErrors: 0,
        txErrors: 0,
        rxDropped: 1,
        txDropped: 0,
      },
    ],
    source: 'daemon',
  }))
  .handle('explain', (args) => ({
    record:
      args.peer === 'dc'
        ? {
            peer: 'dc',
            time: '2026-11-22T19:59:00.000Z',
            phase: 'main',
            role: 'responder',
            reason: 'no-proposal-chosen',
            exchange: [
              { from: 'remote', message: 'MM1 (SA: 1 proposal)' },
              { from: 'local', message: 'INFORMATIONAL', notify: 'NO-PROPOSAL-CHOSEN' },
            ],
            offered: ['aes128-sha1-modp2048'],
            acceptable: ['aes256-sha256-modp2048'],
            configField: 'peers.dc.proposals',
          }
        : null,
  }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['--socket', sockPath, ...argv], { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), env: {} });
  return { code, out, err };
}

const allOutput: string[] = [];
async function run(...argv: string[]) {
  const r = await cli(...argv);
  allOutput.push(r.out, r.err);
  return r;
}

t.before(async () => {
  await server.listen();
});
t.teardown(() => server.close());

t.test('socket is root-only: 0600 in a 0700 directory', async (t) => {
  t.equal(statSync(sockPath).mode & 0o777, 0o600);
  t.equal(statSync(dirname(sockPath)).mode & 0o777, 0o700);
});

t.test('status: table and --json', async (t) => {
  const h = await run('status');
  t.equal(h.code, 0);
  t.match(h.out, /sitelinkd 0\.1\.0, pid 4242, up 2h03m/);
  t.match(h.out, /^hq\s+v1\s+198\.51\.100\.2\s+up\s+1\s+2\s+-$/m);
  t.match(h.out, /^dc\s+v1\s+203\.0\.113\.9\s+down\s+0\s+0\s+NO-PROPOSAL-CHOSEN in main mode$/m);
  const j = await run('--json', 'status');
  t.same(JSON.parse(j.out), { schemaVersion: 1, ...status }, 'the daemon\'s status with the schema version');
});

t.test('sas: algorithms, lifetimes, bytes, SPIs, NAT and crypto; PSK leaks are redacted', async (t) => {
  const h = await run('sas');
  t.equal(h.code, 0);
  for (const want of ['aes256-sha256-ecp256', 'we are behind NAT, UDP 4500', '7h30m of 8h00m', 'aes128gcm16', '0xc1a2b3c4', '0x0d0e0f10',
    '117.7 MiB / 964.5 KiB', '1000 / 900', '3 replay, 1 icv', 'ESP-in-UDP', 'openssl (openssl)', '10.1.0.0/24', 'ecp256']) t.match(h.out, want);
  const j = await run('sas', '--json');
  t.match(h.out, /^PEER\s+RULE\s+ALGORITHM\s+PFS\s+ESN\s+SPI IN/m, 'an ESN column');
  t.match(h.out, /^hq\s+to-hq\s+aes128gcm16\s+ecp256\s+yes\s+0xc1a2b3c4/m, 'ESN negotiated: yes');
  const parsed = JSON.parse(j.out) as { quickMode: { spiIn: number; esn: boolean }[]; debug: { psk: string; note: string; secret: string } };
  t.equal(parsed.quickMode[0]?.spiIn, 0xc1a2b3c4);
  t.equal(parsed.quickMode[0]?.esn, true, '--json: esn');
  t.same(parsed.debug, { psk: '<redacted>', note: 'psk is <redacted>', secret: '<redacted>' });
});

t.test('counters: drops by reason, IKE failures and fragments, in both forms', async (t) => {
  const h = await run('counters');
  t.equal(h.code, 0);
  for (const want of [/^dropped: replayed\s+3$/m, /^dropped: ICV mismatch\s+7$/m, /^dropped: unknown SPI\s+2$/m, /^dropped: no SA for the traffic\s+4$/m,
    /^NAT keepalives in \/ out\s+0 \/ 30$/m, /^half-open main modes refused \/ evicted\s+6 \/ 7$/m,
    /^MM3s for forgotten MM1s told INVALID-COOKIE \/ main modes restarted on it\s+11 \/ 12$/m, /^fragments in \/ dropped \/ reassembled \/ out\s+4 \/ 1 \/ 1 \/ 3$/m]) t.match(h.out, want);
  t.same(JSON.parse((await run('counters', '--json')).out), { schemaVersion: 1, ...counters });
});

t.test('filters: weights, most specific first', async (t) => {
  const h = await run('filters');
  const lines = h.out.trim().split('\n');
  t.match(lines[0], /^WEIGHT\s+ACTION\s+RULE/);
  const weights = lines.slice(1).map((l) => Number(l.split(/\s+/)[0]));
  t.same(weights, [...weights].sort((a, b) => b - a), 'descending');
  t.match(h.out, /block\s+no-telnet\s+-\s+any\s+any\s+tcp\s+any\s+23\s+forward/);
  const j = JSON.parse((await run('filters', '--json')).out) as { filters: { rule: string }[] };
  t.ok(j.filters.some((f) => f.rule === 'to-hq'));
});

t.test('initiate, terminate, rekey pass the peer; daemon errors exit 1', async (t) => {
  const i = await run('initiate', 'hq');
  t.equal(i.code, 0);
  t.equal(i.out.trim(), 'initiating hq');
  t.same(seen.at(-1), { command: 'initiate', args: { peer: 'hq' } });
  t.equal((await run('rekey', 'hq')).out.trim(), 'rekeying hq');
  const bad = await run('terminate', 'nope');
  t.equal(bad.code, 1);
  t.match(bad.err, 'sitelinkctl: no such peer "nope"');
  const usage = await run('initiate');
  t.equal(usage.code, 2);
  t.match(usage.err, 'initiate needs a peer name');
});

t.test('reload shows what was kept', async (t) => {
  const r = await run('reload');
  t.equal(r.code, 0);
  t.match(r.out, 'peers: kept: hq; added: dc');
});

t.test('log -n N', async (t) => {
  const r = await run('log', '-n', '3');
  t.equal(r.out.trim().split('\n').length, 3);
  t.match(r.out, /info\s+hq main MM3 -> step 3/);
  t.equal((await run('log', '-n', 'zero')).code, 2);
});

t.test('health from the daemon', async (t) => {
  const r = await run('health');
  t.match(r.out, 'host branch1, up 1d01h (collected by sitelinkd)');
  t.match(r.out, /cpu\s+load 0\.50 0\.40 0\.30, now 12\.5% of 2 cores/);
  t.match(r.out, /temp 48 °C/);
  t.match(r.out, /^eth0\s+up\s+100\.64\.0\.2/m);
});

t.test('explain renders the record; none on record says so', async (t) => {
  const r = await run('explain', 'dc');
  t.match(r.out, 'peers.dc.proposals = aes256-sha256-modp2048, aes128-sha1-modp2048');
  t.match((await run('explain', 'hq')).out, 'No failed negotiation with hq on record.');
});

t.test('check runs locally, without a daemon', async (t) => {
  const ok = await run('--socket', '/nonexistent/sock', 'check', example, '--no-secrets');
  t.equal(ok.code, 0);
  t.match(ok.out, 'configuration OK');
  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, 'peers {\n hq {\n  remote = 198.51.100.2\n  proposals = aes128-md5-modp1024\n }\n}\n');
  const r = await run('check', bad, '--no-secrets');
  t.equal(r.code, 1);
  t.match(r.out, 'bad.conf:4: peers.hq.proposals: "aes128-md5-modp1024" uses MD5, refused unless allow-weak = yes');
  t.match(r.out, 'bad.conf:1: rules: missing');
  const j = JSON.parse((await run('check', bad, '--no-secrets', '--json')).out) as { ok: boolean; errors: string[] };
  t.equal(j.ok, false);
  t.ok(j.errors.length >= 2);
  // With a secrets file holding the PSK: accepted, and the PSK is not printed.
  const sec = join(dir, 'secrets.conf');
  writeFileSync(sec, `psk {\n  hq.example.net = "${PSK}"\n}\n`);
  chmodSync(sec, 0o600);
  const withSecrets = await run('check', example, '--secrets', sec, '--json');
  t.equal(withSecrets.code, 0, withSecrets.out);
});

t.test('no daemon: clear error, exit 1', async (t) => {
  const r = await cli('--socket', join(dir, 'missing.sock'), 'status');
  t.equal(r.code, 1);
  t.match(r.err, 'is sitelinkd running?');
});

t.test('usage errors exit 2', async (t) => {
  t.equal((await run('frobnicate')).code, 2);
  t.equal((await run('status', '--bogus')).code, 2);
  t.equal((await cli()).code, 2);
});

t.test('server: unknown command, malformed request, concurrent ids', async (t) => {
  const c = await ControlClient.connect(sockPath);
  await t.rejects(c.request('nope' as 'status'), /unknown command "nope"/);
  const [a, b] = await Promise.all([c.request('status'), c.request('log', { n: 2 })]);
  t.equal(a.pid, 4242);
  t.equal(b.entries.length, 2);
  c.close();
  const raw = await new Promise<string>((res) => {
    const s = connect(sockPath);
    let buf = '';
    s.on('data', (d) => { buf += d.toString(); if (buf.includes('\n')) { s.end(); res(buf); } });
    s.write('this is not json\n');
  });
  t.same(JSON.parse(raw), { id: 0, ok: false, error: 'request is not JSON' });
});

t.test('the bundled sitelinkctl runs (esbuild, as scripts/bundle.mjs does)', async (t) => {
  const out = join(dir, 'dist');
  const b = spawnSync(process.execPath, ['-e', `
    const { build } = await import('esbuild');
    await build({ entryPoints: { sitelinkctl: 'firmware/src/ctl/sitelinkctl.ts' }, outdir: ${JSON.stringify(out)}, outExtension: { '.js': '.mjs' },
      bundle: true, platform: 'node', target: 'node20', format: 'esm', logLevel: 'error',
      banner: { js: "import { createRequire as __slCreateRequire } from 'node:module'; const require = __slCreateRequire(import.meta.url);" } });
  `, '--input-type=module'], { cwd: repo, encoding: 'utf8' });
  t.equal(b.status, 0, b.stderr);
  // Run the bundle in a child process; the server lives in this process, so spawn async.
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [join(out, 'sitelinkctl.mjs'), '--socket', sockPath, 'status'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  allOutput.push(text);
  t.equal(code, 0);
  t.match(text, /^hq\s+v1\s+198\.51\.100\.2\s+up/m);
});

t.test('no secret string ever appeared in any output', async (t) => {
  const all = allOutput.join('\n');
  t.ok(all.length > 1000, 'collected output');
  t.notMatch(all, PSK);
  t.notMatch(all, Buffer.from(PSK).toString('hex'));
});

t.test('a second server refuses a live socket, replaces a stale one, never removes a file', async (t) => {
  await t.rejects(new ControlServer({ path: sockPath }).listen(), /is in use: is another sitelinkd running\?/);
  // A crashed daemon leaves its socket file behind: a child listens and exits without closing.
  const staleDir = join(dir, 'stale');
  const stalePath = join(staleDir, 'control.sock');
  const { mkdirSync, lstatSync } = await import('node:fs');
  mkdirSync(staleDir, { recursive: true });
  const c = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stalePath)}, () => process.exit(0))`]);
  t.equal(c.status, 0);
  t.ok(lstatSync(stalePath).isSocket(), 'stale socket left behind');
  const s1 = new ControlServer({ path: stalePath });
  await s1.listen();
  t.equal(statSync(stalePath).mode & 0o777, 0o600, 'replaced with a fresh socket');
  await s1.close();
  const filePath = join(dir, 'file', 'control.sock');
  mkdirSync(join(dir, 'file'), { recursive: true });
  writeFileSync(filePath, 'not a socket');
  await t.rejects(new ControlServer({ path: filePath }).listen(), /exists and is not a socket/);
});

t.test('filters SRC DST PROTO DPORT: the deciding filter; --config works without a daemon', async (t) => {
  const smtp = await run('filters', '10.1.0.5', '192.0.2.1', 'tcp', '23');
  t.match(smtp.out, /block\s+no-telnet/);
  t.equal(smtp.out.trim().split('\n').length, 2, 'header + one row');
  const lan = await run('filters', '10.1.0.5', '10.0.3.4');
  t.match(lan.out, /negotiate\s+to-hq\s+hq\s+10\.1\.0\.0\/24\s+10\.0\.0\.0\/16/);
  const none = await run('--json', 'filters', '192.0.2.1', '192.0.2.2', 'udp', '53');
  t.same(JSON.parse(none.out), { schemaVersion: 1, filters: [] });
  t.equal((await run('filters', 'x', 'y')).code, 2);
  const local = await cli('--socket', join(dir, 'nothing.sock'), 'filters', '--config', example);
  t.equal(local.code, 0);
  t.match(local.out, /^WEIGHT/);
});
