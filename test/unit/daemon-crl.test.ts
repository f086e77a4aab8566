// Certificate revocation (issue 17): peers.NAME.crl-check and crl in the config, the
// CRL store (files and distribution points fetched over HTTP from a server on
// loopback: cache, refresh, timeout, size limit, last good copy kept), and main mode
// between two in-memory nodes where gwA's certificate is revoked, at each level; then
// the same with the CRL found through the cRLDistributionPoints of gwA's certificate
// (learnt at the check) or of gwB's own (fetched before), IKEv1 and IKEv2.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfigText } from '../../firmware/src/config/load.ts';
import { formatConfigError } from '../../firmware/src/config/types.ts';
import { CrlStore, CRL_MAX_BYTES, CRL_MAX_CONCURRENT, CRL_RETRY_MS } from '../../firmware/src/daemon/crl-store.ts';
import { loadSignatureAuth, ownDistributionPoints } from '../../firmware/src/daemon/signature-auth.ts';
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import type { SignatureAuth } from '../../firmware/src/ike/exchange/types.ts';
import type { LogEvent } from '../../firmware/src/log/negotiation-log.ts';
import { Harness, type HarnessOptions } from './ike-exchange-harness.ts';
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
    t.equal(s.crls([url, f('revoked.crl')]).crls.length, 2, 'the URL and the file');
    t.equal(hits.get('/clean.crl'), 1);
    await s.refreshDue();
    clock.t += 60_000;
    await s.refreshDue();
    t.equal(hits.get('/clean.crl'), 1, 'cached: not fetched again before the refresh interval');
    clock.t += 3_600_000;
    served.set('/clean.crl', 404);
    await s.refreshDue();
    t.equal(hits.get('/clean.crl'), 2, 'fetched again after the refresh interval');
    t.equal(s.crls([url]).crls.length, 1, 'a failed fetch keeps the last good copy');
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
    t.same(slow.crls([`${base}/hang.crl`, `${base}/huge.crl`, `${base}/garbage.crl`]).crls, [], 'nothing usable');
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

  // gwA's certificate again (same key, same serial 0x21, so revoked.crl lists it), now
  // naming a distribution point on the loopback server; gwB's own names another.
  const withCdp = (name: string, key: string, serial: string, section: string, url: string): void => {
    writeFileSync(
      f(`${name}.cnf`),
      `[${section}]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n` +
        `subjectAltName = DNS:${section}.lab\ncrlDistributionPoints = URI:${url}\n`,
    );
    const o = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    o('req', '-new', '-key', f(`${key}.key`), '-subj', `/O=sitelink lab/CN=${section}.lab`, '-out', f(`${name}.csr`));
    o('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('root.pem'), '-CAkey', f('root.key'), '-set_serial', serial, '-days', '30', '-sha256',
      '-extfile', f(`${name}.cnf`), '-extensions', section, '-out', f(`${name}.pem`));
  };

  t.test('distribution points in the certificates (cRLDistributionPoints)', async (t) => {
    const cdp = `${base}/cdp/lab.crl`;
    withCdp('gwA-cdp', 'gwA', '0x21', 'gwA', cdp);
    withCdp('gwB-cdp', 'gwB', '0x22', 'gwB', cdp);
    const gwACert = Buffer.from(new X509Certificate(readFileSync(f('gwA-cdp.pem'))).raw);
    const gwA: SignatureAuth = { ...gatewaySignatureAuth(dir, 'gwA', 3), certificates: [gwACert] };
    const gwBAuth = { kind: 'rsa-sig', certificate: f('gwB-cdp.pem'), privateKey: f('gwB.key'), ca: f('root.pem') } as const;
    /** One negotiation, gwB checking gwA with the store `s` (no configured sources). */
    const negotiate = (s: CrlStore, level: 1 | 2, ikev2 = false): { up: boolean; why: string } => {
      const b = loadSignatureAuth(gwBAuth, { level, sources: [] }, (points) => s.crls([], points));
      if (typeof b === 'string') throw new Error(b);
      const o: HarnessOptions = ikev2
        ? { peerA: { auth: [{ kind: 'signature', signature: gwA }] }, peerB: { auth: [{ kind: 'signature', signature: b }] } }
        : { peerA: { psk: null, signature: gwA }, peerB: { psk: null, signature: b } };
      const h = ikev2 ? new Harness<Ikev2Node>(o, (env, peers, opts) => new Ikev2Node(env, peers, opts)) : new Harness(o);
      h.bringUp();
      return { up: h.installs.A.length > 0 && h.installs.B.length > 0, why: h.failed.B.join('; ') };
    };
    const fetched = async (s: CrlStore, ok: boolean): Promise<void> => {
      for (let i = 0; i < 200 && (ok ? s.fetches(cdp) === 0 : s.crls([], [cdp]).pending.length > 0); i++) await new Promise((r) => setTimeout(r, 10));
    };

    for (const ikev2 of [false, true]) {
      const v = ikev2 ? 'IKEv2' : 'IKEv1';
      served.set('/cdp/lab.crl', readFileSync(f('revoked.crl')));
      hits.delete('/cdp/lab.crl');
      const s = store();
      const first = negotiate(s, 1, ikev2);
      t.notOk(first.up, `${v} level 1, point learnt at the check: not accepted while its CRL is on the way`);
      t.match(first.why, /CRL at http:\/\/127\.0\.0\.1:\d+\/cdp\/lab\.crl not fetched yet/, first.why);
      await fetched(s, true);
      const second = negotiate(s, 1, ikev2);
      t.notOk(second.up, `${v} level 1: then refused`);
      t.match(second.why, /certificate 21 is revoked/, second.why);
      t.equal(hits.get('/cdp/lab.crl'), 1, `${v}: fetched once, then served from the cache`);
    }

    served.set('/cdp/lab.crl', readFileSync(f('clean.crl')));
    const clean = store();
    t.notOk(negotiate(clean, 2).up, 'level 2, clean CRL at the point: the first check waits for it');
    await fetched(clean, true);
    t.ok(negotiate(clean, 2).up, 'level 2: up once it is here');

    served.set('/cdp/lab.crl', 404);
    for (const level of [1, 2] as const) {
      const gone = store();
      negotiate(gone, level);
      await fetched(gone, false);
      const r = negotiate(gone, level);
      if (level === 1) t.ok(r.up, 'level 1, point unreachable: accepted once the fetch failed (only a listed certificate fails)');
      else t.match(r.why, /no current, validly signed CRL/, 'level 2, point unreachable: refused');
    }

    // Our own certificate names the same point: fetched before the first negotiation
    // (what the daemon does at start and reload, crlSources()), so even the first check
    // of gwA's certificate sees the revocation.
    served.set('/cdp/lab.crl', readFileSync(f('revoked.crl')));
    t.same(ownDistributionPoints(gwBAuth), [cdp], 'the point of our own certificate');
    // So level 2 has a CRL source without a `crl` entry: the validator accepts it (and
    // still refuses level 2 when neither the certificate nor the CA names a point, above).
    const level2 = loadConfigText(
      f('s.conf'),
      `peers { hq { remote = 198.51.100.2\n local-id = gwB.lab\n remote-id = gwA.lab\n auth = rsa-sig\n` +
        ` certificate = ${f('gwB-cdp.pem')}\n private-key = ${f('gwB.key')}\n ca = ${f('root.pem')}\n crl-check = 2 } }\n` +
        `filter-lists { l { f { source = 10.1.0.0/24\n destination = 10.2.0.0/24 } } }\n` +
        `filter-actions { s { action = negotiate } }\nrules { r { filters = l\n action = s\n peer = hq } }\n`,
      { secrets: false },
    );
    const level2Why = level2.ok
      ? 'crl-check = 2 without crl: valid, our certificate names a distribution point'
      : level2.errors.map(formatConfigError).join('\n');
    t.ok(level2.ok, level2Why);
    if (level2.ok) t.same(level2.config.peers.get('hq')?.crl, { level: 2, sources: [] });
    const pre = store();
    pre.configure(ownDistributionPoints(gwBAuth));
    await pre.refreshDue();
    const r = negotiate(pre, 1);
    t.notOk(r.up);
    t.match(r.why, /certificate 21 is revoked/, 'prefetched: the first check refuses the revoked certificate');

    // Bounds: points a certificate names are fetched at most CRL_MAX_CONCURRENT at once.
    const slow = store([], { t: 0 }, 500);
    const urls = Array.from({ length: 10 }, (_, i) => `${base}/slow/${i}.crl`);
    for (const u of urls) served.set(new URL(u).pathname, 'hang');
    const before = hanging.length;
    slow.crls([], urls);
    await new Promise((r) => setTimeout(r, 250));
    t.equal(hanging.length - before, CRL_MAX_CONCURRENT, `${CRL_MAX_CONCURRENT} fetches at once, the rest wait`);
  });
});
