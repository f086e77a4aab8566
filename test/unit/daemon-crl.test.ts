// Certificate revocation (issue 17): peers.NAME.crl-check and crl in the config, the
// CRL store (files and distribution points fetched over HTTP from a server on
// loopback: cache, refresh, timeout, size limit, last good copy kept), and main mode
// between two in-memory nodes where gwA's certificate is revoked, at each level.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfigText } from '../../firmware/src/config/load.ts';
import { formatConfigError } from '../../firmware/src/config/types.ts';
import { CrlStore, CRL_MAX_BYTES, CRL_RETRY_MS } from '../../firmware/src/daemon/crl-store.ts';
import { loadSignatureAuth } from '../../firmware/src/daemon/signature-auth.ts';
import type { LogEvent } from '../../firmware/src/log/negotiation-log.ts';
import { Harness } from './ike-exchange-harness.ts';
import { gatewaySignatureAuth, makeGatewayPki, opensslSkipReason } from '../lib/test-pki.ts';

const skip = opensslSkipReason() ?? false;
const dir = mkdtempSync(path.join(tmpdir(), 'sitelink-crl-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const f = (n: string): string => path.join(dir, n);

/** What the loopback server answers, by path; `hits` counts requests. */
const served = new Map<string, Buffer | 'hang' | 'huge' | 404>();
const hits = new Map<string, number>();
const hanging: ServerResponse[] = [];
const server = createServer((req, res) => {
  const p = req.url ?? '';
  hits.set(p, (hits.get(p) ?? 0) + 1);
  const what = served.get(p) ?? 404;
  if (what === 'hang') return void hanging.push(res);
  if (what === 404) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'application/pkix-crl' });
  if (what === 'huge') {
    // Streams past the limit; the client must stop reading and fail.
    const chunk = Buffer.alloc(64 * 1024);
    let sent = 0;
    const more = (): void => {
      while (sent <= CRL_MAX_BYTES && res.write(chunk)) sent += chunk.length;
      if (sent <= CRL_MAX_BYTES) res.once('drain', more);
      else res.end();
    };
    res.on('error', () => undefined);
    return more();
  }
  res.end(what);
});

let base = '';
t.before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
t.teardown(() => {
  for (const r of hanging) r.destroy();
  server.close();
});

function makePki(): void {
  makeGatewayPki(dir, 2048);
  writeFileSync(
    f('ca.cnf'),
    `[ca]\ndefault_ca = lab\n[lab]\ndatabase = ${f('index.txt')}\ncrlnumber = ${f('crlnumber')}\n` +
      `certificate = ${f('root.pem')}\nprivate_key = ${f('root.key')}\ndefault_md = sha256\ndefault_crl_days = 7\n`,
  );
  writeFileSync(f('index.txt'), '');
  writeFileSync(f('crlnumber'), '01\n');
  const ca = (...args: string[]): void => void execFileSync('openssl', ['ca', '-config', f('ca.cnf'), ...args], { cwd: dir, stdio: 'pipe' });
  ca('-gencrl', '-out', f('clean.crl'));
  ca('-revoke', f('gwA.pem'));
  ca('-gencrl', '-out', f('revoked.crl'));
}

function store(log: LogEvent[] = [], clock = { t: 0 }, timeoutMs = 2000): CrlStore {
  return new CrlStore({ now: () => clock.t, log: (e) => log.push(e), timeoutMs, refreshMs: 3_600_000 });
}

t.test('CRLs', { skip }, async (t) => {
  makePki();
  served.set('/clean.crl', readFileSync(f('clean.crl')));
  served.set('/revoked.crl', readFileSync(f('revoked.crl')));
  served.set('/hang.crl', 'hang');
  served.set('/huge.crl', 'huge');
  served.set('/garbage.crl', Buffer.from('not a CRL'));

  t.test('config: crl-check and crl sources, certificates only', async (t) => {
    const conf = (extra: string, auth = 'rsa-sig'): string => `
peers { hq { remote = 198.51.100.2
             local-id = gwA.lab
             remote-id = gwB.lab
             auth = ${auth}
             certificate = ${f('gwA.pem')}
             private-key = ${f('gwA.key')}
             ca = ${f('root.pem')}
${extra} } }
filter-lists { l { f { source = 10.1.0.0/24
                       destination = 10.2.0.0/24 } } }
filter-actions { s { action = negotiate } }
rules { r { filters = l
            action = s
            peer = hq } }
`;
    const ok = loadConfigText(f('s.conf'), conf(`crl-check = 2\ncrl = ${base}/clean.crl, crls/lab.crl`), { secrets: false });
    t.ok(ok.ok, ok.ok ? 'valid' : ok.errors.map(formatConfigError).join('\n'));
    if (ok.ok) t.same(ok.config.peers.get('hq')?.crl, { level: 2, sources: [`${base}/clean.crl`, f('crls/lab.crl')] });
    const dflt = loadConfigText(f('s.conf'), conf(''), { secrets: false });
    if (dflt.ok) t.same(dflt.config.peers.get('hq')?.crl, { level: 1, sources: [] }, 'default level 1, no sources');
    const errs = (text: string): string => {
      const r = loadConfigText(f('s.conf'), text, { secrets: false });
      return r.ok ? '' : r.errors.map(formatConfigError).join('\n');
    };
    t.match(errs(conf('crl-check = 3')), /peers\.hq\.crl-check: expected 0, 1 or 2, got "3"/);
    t.match(errs(conf('crl-check = 2')), /peers\.hq\.crl-check: level 2 refuses every certificate without a current CRL/);
    t.match(errs(conf('crl = ldap://ca.lab/cn=crl')), /peers\.hq\.crl: expected a file or an http:\/\/ or https:\/\/ URL/);
    t.match(errs(conf('crl = /tmp/x.crl', 'psk')), /peers\.hq\.crl: only with auth = rsa-sig or ecdsa-sig/);
    const gw = loadConfigText(f('s.conf'), `gateway { crl-timeout = 90s }\n${conf('')}`, { secrets: false });
    t.match(gw.ok ? '' : gw.errors.map(formatConfigError).join('\n'), /gateway\.crl-timeout: expected a duration of 1s to 60s/);
  });

  t.test('store: HTTP fetch, cache, refresh, last good copy, timeout, size limit', async (t) => {
    const log: LogEvent[] = [];
    const clock = { t: 0 };
    const s = store(log, clock);
    const url = `${base}/clean.crl`;
    s.configure([url, f('revoked.crl')]);
    await s.refreshDue();
    t.equal(s.crls([url, f('revoked.crl')]).length, 2, 'the URL and the file');
    t.equal(hits.get('/clean.crl'), 1);
    await s.refreshDue();
    clock.t += 60_000;
    await s.refreshDue();
    t.equal(hits.get('/clean.crl'), 1, 'cached: not fetched again before the refresh interval');
    clock.t += 3_600_000;
    served.set('/clean.crl', 404);
    await s.refreshDue();
    t.equal(hits.get('/clean.crl'), 2, 'fetched again after the refresh interval');
    t.equal(s.crls([url]).length, 1, 'a failed fetch keeps the last good copy');
    t.match(log.at(-1)?.message, /clean\.crl: HTTP 404; keeping the copy from before; retrying every 60s/);
    clock.t += 1000;
    await s.refreshDue();
    t.equal(hits.get('/clean.crl'), 2, 'a failure is retried after a minute, not at every tick');
    served.set('/clean.crl', readFileSync(f('clean.crl')));
    clock.t += CRL_RETRY_MS;
    await s.refreshDue();
    t.equal(hits.get('/clean.crl'), 3);
    t.match(log.at(-1)?.message, /loaded again/);

    const slow = store(log, { t: 0 }, 300);
    slow.configure([`${base}/hang.crl`, `${base}/huge.crl`, `${base}/garbage.crl`]);
    await slow.refreshDue();
    t.same(slow.crls([`${base}/hang.crl`, `${base}/huge.crl`, `${base}/garbage.crl`]), [], 'nothing usable');
    const msgs = log.map((e) => e.message).join('\n');
    t.match(msgs, /hang\.crl: no answer within 300 ms/, 'a server that never answers times out');
    t.match(msgs, new RegExp(`huge\\.crl: larger than ${CRL_MAX_BYTES} bytes`), 'a response past the size limit is dropped');
    t.match(msgs, /garbage\.crl: .*; retrying/, 'a response that is no CRL is refused');
  });

  // gwB checks gwA's certificate; gwA's serial (0x21) is on revoked.crl.
  const run = async (level: 0 | 1 | 2, path: string): Promise<{ up: boolean; why: string }> => {
    const s = store();
    const url = `${base}${path}`;
    s.configure([url]);
    await s.refreshDue();
    const b = loadSignatureAuth(
      { kind: 'rsa-sig', certificate: f('gwB.pem'), privateKey: f('gwB.key'), ca: f('root.pem') },
      { level, sources: [url] },
      () => s.crls([url]),
    );
    if (typeof b === 'string') throw new Error(b);
    const h = new Harness({ peerA: { psk: null, signature: gatewaySignatureAuth(dir, 'gwA', 3) }, peerB: { psk: null, signature: b } });
    h.bringUp();
    return { up: h.installs.A.length > 0 && h.installs.B.length > 0, why: h.failed.B.join('; ') };
  };

  t.test('a revoked gateway certificate at each level', async (t) => {
    t.ok((await run(0, '/revoked.crl')).up, 'level 0: not checked, the tunnel comes up');
    const l1 = await run(1, '/revoked.crl');
    t.notOk(l1.up, 'level 1: refused');
    t.match(l1.why, /revoked/, l1.why);
    t.ok((await run(1, '/clean.crl')).up, 'level 1: a current CRL without it: up');
    t.ok((await run(1, '/missing.crl')).up, 'level 1: CRL unreachable: accepted (only a listed certificate fails)');
    const l2 = await run(2, '/revoked.crl');
    t.notOk(l2.up, 'level 2: refused');
    t.match(l2.why, /revoked/);
    t.ok((await run(2, '/clean.crl')).up, 'level 2: a current CRL without it: up');
    const l2missing = await run(2, '/missing.crl');
    t.notOk(l2missing.up, 'level 2: CRL unreachable: refused');
    t.match(l2missing.why, /no current, validly signed CRL/);
  });
});
