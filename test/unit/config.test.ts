import t from 'tap';
import { RETRANSMIT_BASE_MS, RETRANSMIT_TRIES } from '../../firmware/src/ike/exchange/types.ts';
import { chmodSync, chownSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { loadConfigFile, loadConfigText } from '../../firmware/src/config/load.ts';
import { formatConfigError, type LoadResult } from '../../firmware/src/config/types.ts';
import { Secret } from '../../firmware/src/base/secret.ts';
import { parseConf } from '../../firmware/src/config/parse.ts';
import { parseSecrets } from '../../firmware/src/config/secrets.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const example = join(repo, 'board', 'common', 'sitelink.conf.example');
const PSK = 'correct horse battery staple 42';

function tmpSecrets(text: string, mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'sl-cfg-'));
  const f = join(dir, 'secrets.conf');
  writeFileSync(f, text);
  chmodSync(f, mode);
  return f;
}

function errorsOf(r: LoadResult): string[] {
  return r.ok ? [] : r.errors.map(formatConfigError);
}

t.test('the shipped example validates', async (t) => {
  const r = loadConfigFile(example, { secrets: false });
  t.same(errorsOf(r), [], 'no errors');
  t.ok(r.ok);
  if (!r.ok) return;
  const hq = r.config.peers.get('hq');
  t.equal(hq?.remoteAddress, '198.51.100.2');
  t.equal(hq?.natTraversal, 'auto');
  t.equal(hq?.dpd?.delaySeconds, 30);
  t.equal(hq?.ikeVersion, 2, 'new peers speak IKEv2');
  t.same(hq?.keyExchange.methods[0], { encryption: 'aes256gcm16', integrity: 'sha256', dhGroup: 19 });
  t.equal(hq?.keyExchange.lifetimeSeconds, 480 * 60);
  const rule = r.config.rules.find((x) => x.name === 'to-hq');
  t.equal(rule?.action.kind, 'negotiate');
  if (rule?.action.kind === 'negotiate') {
    t.same(rule.action.securityMethods.map((m) => m.esp), ['aes128gcm16', 'aes256gcm16']);
    t.equal(rule.action.securityMethods[0]?.lifetimeSeconds, 3600);
    t.equal(rule.action.securityMethods[0]?.lifetimeKilobytes, 100000);
    t.equal(rule.action.pfsGroup, 19);
  }
  t.equal(rule?.peer, hq, 'rule resolves its peer');
});

t.test('example with a 0600 secrets file attaches the PSK', async (t) => {
  const f = tmpSecrets(`psk {\n  hq.example.net = "${PSK}"\n}\n`, 0o600);
  const r = loadConfigFile(example, { secretsFile: f });
  t.same(errorsOf(r), []);
  if (!r.ok) return;
  const psk = r.config.peers.get('hq')?.psk;
  t.ok(psk);
  t.equal(psk?.reveal().toString(), PSK);
  t.notMatch(JSON.stringify({ peers: [...r.config.peers.values()] }), PSK, 'JSON of the config hides the PSK');
  t.notMatch(inspect(r.config, { depth: 10 }), PSK, 'inspect of the config hides the PSK');
});

t.test('secrets file readable by others is refused', async (t) => {
  const f = tmpSecrets(`psk {\n  hq.example.net = "${PSK}"\n}\n`, 0o644);
  const r = loadConfigFile(example, { secretsFile: f });
  t.notOk(r.ok);
  const text = errorsOf(r).join('\n');
  t.match(text, /mode 0644; expected 0600/);
  t.notMatch(text, PSK);
});

t.test('missing PSK for a psk peer is an error naming the identity', async (t) => {
  const f = tmpSecrets('psk {\n  other.example = 0x00112233\n}\n', 0o600);
  const r = loadConfigFile(example, { secretsFile: f });
  t.match(errorsOf(r).join('\n'), /peers\.hq\.auth: psk needs a secret for "hq\.example\.net"/);
});

t.test('secret syntax errors never echo the secret', async (t) => {
  const f = tmpSecrets(`psk {\n  hq.example.net = "${PSK}\n}\n`, 0o600);
  const r = loadConfigFile(example, { secretsFile: f });
  t.notOk(r.ok);
  t.notMatch(errorsOf(r).join('\n'), 'horse');
});

const BAD = `gateway {
  id = branch.lab
}
peers {
  hq {
    remote = 198.51.100.2
    proposals = aes128-md5-modp2048, aes256-sha256-modp2048
    mode = aggressive
    dpd-delay = soon
    colour = blue
  }
}
filter-lists {
  l { f { source = 10.1.0.0/24
          destination = 10.0.0.1/16
          destination-ports = 25 } }
}
filter-actions {
  sec { action = negotiate
        security-methods = aes128gcm16, rot13 }
}
rules {
  r1 { filters = l
       action = sec
       peer = nowhere }
}
`;

t.test('all errors are collected, each naming file, line and field', async (t) => {
  const r = loadConfigText('/etc/sitelink/sitelink.conf', BAD, { secrets: false });
  const errs = errorsOf(r);
  t.ok(errs.length >= 7, `got ${errs.length} errors`);
  t.ok(errs.includes('sitelink.conf:7: peers.hq.proposals: "aes128-md5-modp2048" uses MD5, refused unless allow-weak = yes'), 'the MD5 message');
  const want: RegExp[] = [
    /^sitelink\.conf:8: peers\.hq\.mode: aggressive mode .* refused unless allow-weak = yes$/,
    /^sitelink\.conf:9: peers\.hq\.dpd-delay: expected a duration/,
    /^sitelink\.conf:10: peers\.hq\.colour: unknown key; expected one of: /,
    /^sitelink\.conf:15: filter-lists\.l\.f\.destination: expected a subnet with zero host bits, got "10\.0\.0\.1\/16"/,
    /^sitelink\.conf:16: filter-lists\.l\.f\.protocol: ports need protocol = tcp, udp or sctp$/,
    /^sitelink\.conf:20: filter-actions\.sec\.security-methods: expected an ESP algorithm .*got "rot13"/,
    /^sitelink\.conf:25: rules\.r1\.peer: "nowhere" is not a peer in peers; expected one of: hq$/,
  ];
  for (const re of want) t.ok(errs.some((e) => re.test(e)), `has ${re}`);
});

t.test('allow-weak = yes admits MD5; aggressive mode is then refused as not implemented', async (t) => {
  const text = BAD.replace('mode = aggressive', 'mode = aggressive\n    allow-weak = yes');
  const errs = errorsOf(loadConfigText('sitelink.conf', text, { secrets: false }));
  t.notOk(errs.some((e) => /MD5|refused unless allow-weak/.test(e)), 'weak errors gone');
  t.ok(
    errs.includes(
      'sitelink.conf:8: peers.hq.mode: expected main: sitelink does not implement aggressive mode ' +
        '(for several branches with dynamic addresses use remote = %any with certificates)',
    ),
    'aggressive mode: a clear refusal, not a silent skip',
  );
  t.ok(errs.some((e) => /dpd-delay/.test(e)), 'other errors remain');
});

t.test('syntax errors carry line numbers', async (t) => {
  const r = parseConf('peers {\n  hq {\n    remote 1.2.3.4\n  }\n');
  t.same(r.errors.map((e) => e.line), [3, 1]);
  const ok = parseConf('a { b = "x # y", z\n c { d = 1 } }\n');
  t.same(ok.errors, []);
  const a = ok.root.entries[0];
  if (a?.type === 'section') {
    const b = a.entries[0];
    t.same(b?.type === 'value' ? b.items : null, ['x # y', 'z']);
    t.equal(a.entries[1]?.type, 'section');
  } else t.fail('no section');
});

t.test('duplicate keys are reported', async (t) => {
  const errs = errorsOf(loadConfigText('s.conf', 'rules {\n r { filters = a\n filters = b } }\n', { secrets: false }));
  t.ok(errs.some((e) => /s\.conf:3: rules\.r\.filters: given twice \(first at line 2\)/.test(e)), errs.join('\n'));
});

t.test('Secret never prints its value and wipes', async (t) => {
  const s = new Secret(Buffer.from(PSK));
  t.equal(String(s), '<redacted>');
  t.equal(`${s}`, '<redacted>');
  t.equal(JSON.stringify({ s }), '{"s":"<redacted>"}');
  t.equal(inspect(s), '<redacted>');
  t.ok(s.equals(new Secret(Buffer.from(PSK))));
  t.notOk(s.equals(new Secret(Buffer.from('other'))));
  s.wipe();
  t.throws(() => s.reveal());
});

t.test('secrets file owned by another user is refused', { skip: process.getuid?.() === 0 ? false : 'needs root to chown' }, async (t) => {
  const f = tmpSecrets(`psk {\n  hq.example.net = "${PSK}"\n}\n`, 0o600);
  chownSync(f, 12345, 12345);
  const r = loadConfigFile(example, { secretsFile: f });
  t.match(errorsOf(r).join('\n'), /owned by uid 12345; expected root or uid 0/);
});

t.test('security methods may carry their own lifetimes', async (t) => {
  const r = loadConfigText('s.conf', `
peers { hq { remote = 198.51.100.2
             local-id = a.lab } }
filter-lists { l { f { source = 10.1.0.0/24
                       destination = 10.0.0.0/16 } } }
filter-actions { sec { action = negotiate
                       lifetime = 2h
                       security-methods = aes256gcm16:8h:200000kb, aes128gcm16, aes128-sha256::50mb, aes128gcm16:1s } }
rules { r { filters = l
            action = sec
            peer = hq } }
`, { secrets: false });
  t.match(
    errorsOf(r).join('\n'),
    's.conf:8: filter-actions.sec.security-methods: expected lifetimes of at least 60s and 1024 KB in "aes128gcm16:1s"',
  );
  const ok = loadConfigText('s.conf', `
peers { hq { remote = 198.51.100.2
             local-id = a.lab } }
filter-lists { l { f { source = 10.1.0.0/24
                       destination = 10.0.0.0/16 } } }
filter-actions { sec { action = negotiate
                       lifetime = 2h
                       security-methods = aes256gcm16:8h:200000kb, aes128gcm16, aes128-sha256::50mb } }
rules { r { filters = l
            action = sec
            peer = hq } }
`, { secrets: false });
  t.ok(ok.ok);
  if (ok.ok) {
    const a = ok.config.filterActions.get('sec');
    t.same(a?.kind === 'negotiate' ? a.securityMethods : null, [
      { esp: 'aes256gcm16', lifetimeSeconds: 28800, lifetimeKilobytes: 200000 },
      { esp: 'aes128gcm16', lifetimeSeconds: 7200, lifetimeKilobytes: 100000 },
      { esp: 'aes128-sha256', lifetimeSeconds: 7200, lifetimeKilobytes: 51200 },
    ]);
  }
});

/** A peer with certificate files gw.pem, gw.key, ca.pem (relative to the config) and `auth`; auth is on line 3, private-key on line 6. */
const certConf = (auth: string): string => `
peers { hq { remote = 198.51.100.2
             auth = ${auth}
             local-id = a.lab
             certificate = gw.pem
             private-key = gw.key
             ca = ca.pem } }
filter-lists { l { f { source = 10.1.0.0/24
                       destination = 10.0.0.0/16 } } }
filter-actions { sec { action = negotiate } }
rules { r { filters = l
            action = sec
            peer = hq } }
`;

t.test('certificate authentication needs existing PEM files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-cert-'));
  writeFileSync(join(dir, 'gw.pem'), 'x');
  writeFileSync(join(dir, 'ca.pem'), 'x');
  const text = certConf('ecdsa-sig, psk');
  const r = loadConfigText(join(dir, 'sitelink.conf'), text, { secrets: false });
  const errs = errorsOf(r);
  t.equal(errs.length, 1, errs.join('\n'));
  t.match(errs[0], /sitelink\.conf:6: peers\.hq\.private-key: expected an existing PEM file, ".*gw\.key" does not exist/);
  writeFileSync(join(dir, 'gw.key'), 'x');
  const ok = loadConfigText(join(dir, 'sitelink.conf'), text, { secrets: false });
  t.ok(ok.ok);
  if (ok.ok) {
    const auth = ok.config.peers.get('hq')?.auth;
    t.same(auth?.map((a) => a.kind), ['ecdsa-sig', 'psk'], 'order of precedence kept');
    t.same(auth?.[0], { kind: 'ecdsa-sig', certificate: join(dir, 'gw.pem'), privateKey: join(dir, 'gw.key'), ca: join(dir, 'ca.pem') });
  }
});

t.test('auth: each method once, and rsa-sig or ecdsa-sig (one certificate per peer)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-auth-'));
  for (const f of ['gw.pem', 'gw.key', 'ca.pem']) writeFileSync(join(dir, f), 'x');
  const both = errorsOf(loadConfigText(join(dir, 'sitelink.conf'), certConf('rsa-sig, ecdsa-sig'), { secrets: false }));
  t.match(both.join('\n'), /sitelink\.conf:3: peers\.hq\.auth: expected rsa-sig or ecdsa-sig, not both/);
  const twice = errorsOf(loadConfigText(join(dir, 'sitelink.conf'), certConf('psk, rsa-sig, psk'), { secrets: false }));
  t.match(twice.join('\n'), /sitelink\.conf:3: peers\.hq\.auth: expected each method at most once/);
  t.same(errorsOf(loadConfigText(join(dir, 'sitelink.conf'), certConf('rsa-sig, psk'), { secrets: false })), [], 'rsa-sig, psk is fine');
});

t.test('remote = %any: a branch with a dynamic address, answered only', async (t) => {
  const conf = (peerExtra: string, actionExtra = '', second = ''): string => `
gateway { id = hq.lab }
peers { branch { remote = %any
                 remote-id = branch.lab
${peerExtra} }
${second} }
filter-lists { l { f { source = 10.0.0.0/16
                       destination = 10.1.0.0/24 } } }
filter-actions { sec { action = negotiate
${actionExtra} } }
rules { r { filters = l
            action = sec
            peer = branch } }
`;
  const good = loadConfigText('/etc/sitelink/sitelink.conf', conf('                 local = 198.51.100.2'), { secrets: false });
  t.same(errorsOf(good), []);
  if (good.ok) {
    const p = good.config.peers.get('branch');
    t.equal(p?.remoteAddress, '%any');
    t.equal(p?.start, 'none', 'start defaults to none');
    t.equal(p?.dpd?.action, 'clear', 'dpd-action defaults to clear');
  }
  const errs = (peerExtra: string, actionExtra = '', second = ''): string =>
    errorsOf(loadConfigText('/etc/sitelink/sitelink.conf', conf(peerExtra, actionExtra, second), { secrets: false })).join('\n');
  t.match(errs(''), /sitelink\.conf:3: peers\.branch\.local: expected this gateway's IP address/);
  t.match(errs('                 local = 198.51.100.2\n                 start = trap'), /sitelink\.conf:6: peers\.branch\.start: expected none/);
  t.match(errs('                 local = 198.51.100.2\n                 dpd-action = restart'), /sitelink\.conf:6: peers\.branch\.dpd-action: expected clear or hold/);
  t.match(errs('                 local = 198.51.100.2', 'fallback-to-clear = yes'), /filter-actions\.sec\.fallback-to-clear: expected no: rule r uses peer branch with remote = %any/);
  const twoPsk = errs('                 local = 198.51.100.2', '', 'other { remote = %any\n local = 198.51.100.2\n remote-id = other.lab }');
  t.match(twoPsk, /peers\.branch\.auth: expected rsa-sig or ecdsa-sig only: 2 peers have remote = %any/, 'two %any peers cannot use a PSK');
  t.match(twoPsk, /peers\.other\.auth: expected rsa-sig or ecdsa-sig only/);
  const noId = conf('                 local = 198.51.100.2').replace('                 remote-id = branch.lab\n', '');
  t.match(errorsOf(loadConfigText('/etc/sitelink/sitelink.conf', noId, { secrets: false })).join('\n'), /peers\.branch\.remote-id: missing; expected an identity \(required when remote is %any\)/);
});

t.test('secrets syntax errors never echo the line, quoted or not', async (t) => {
  const r = parseSecrets('secrets.conf', 'psk {\n  hq.example.net unquoted-s3cret-value\n  x = "also-s3cret\n}\n');
  t.notOk(r.ok);
  if (!r.ok) {
    const text = r.errors.map(formatConfigError).join('\n');
    t.match(text, 'secrets.conf:2: syntax: expected');
    t.notMatch(text, 's3cret');
  }
});

t.test('wiping unattached keys leaves the attached PSK usable; refusal with secrets loaded', async (t) => {
  const f = tmpSecrets(`psk {\n  hq.example.net = "${PSK}"\n  unused.example = "another-secret-value"\n}\n`, 0o600);
  const ok = loadConfigFile(example, { secretsFile: f });
  t.ok(ok.ok);
  if (ok.ok) t.notOk(ok.config.peers.get('hq')?.psk?.wiped, 'attached PSK kept');
  const { readFileSync } = await import('node:fs');
  const broken = readFileSync(example, 'utf8').replace('dpd-delay = 30s', 'dpd-delay = soon');
  const dir = mkdtempSync(join(tmpdir(), 'sl-wipe-'));
  writeFileSync(join(dir, 'sitelink.conf'), broken);
  const bad = loadConfigFile(join(dir, 'sitelink.conf'), { secretsFile: f });
  t.notOk(bad.ok);
});

t.test('gateway fragmentation: yes by default, no turns it off, anything else is an error', async (t) => {
  const base = readFileSync(example, 'utf8');
  const def = loadConfigText('/etc/sitelink/sitelink.conf', base, { secrets: false });
  t.equal(def.ok && def.config.gateway.fragmentation, true, 'default yes');
  const off = loadConfigText('/etc/sitelink/sitelink.conf', base.replace(/^gateway \{\n/m, 'gateway {\n  fragmentation = no\n'), { secrets: false });
  t.same(errorsOf(off), []);
  t.equal(off.ok && off.config.gateway.fragmentation, false, 'fragmentation = no');
  const bad = loadConfigText('/etc/sitelink/sitelink.conf', base.replace(/^gateway \{\n/m, 'gateway {\n  fragmentation = sometimes\n'), { secrets: false });
  const line = base.split('\n').findIndex((l) => l.startsWith('gateway {')) + 2;
  t.match(errorsOf(bad).join('\n'), new RegExp(`^sitelink\\.conf:${line}: gateway\\.fragmentation: expected`, 'm'), 'names file, line and field');
});

t.test('gateway retransmit-timeout/-tries: the exchanges\' default, settable, bounded', async (t) => {
  const base = readFileSync(example, 'utf8');
  const def = loadConfigText('/etc/sitelink/sitelink.conf', base, { secrets: false });
  t.equal(def.ok && def.config.gateway.retransmitTimeoutSeconds * 1000, RETRANSMIT_BASE_MS, 'default = the exchanges\' schedule');
  t.equal(def.ok && def.config.gateway.retransmitTries, RETRANSMIT_TRIES);
  const set = loadConfigText('/etc/sitelink/sitelink.conf', base.replace(/^gateway \{\n/m, 'gateway {\n  retransmit-timeout = 1s\n  retransmit-tries = 2\n'), { secrets: false });
  t.same(errorsOf(set), []);
  t.equal(set.ok && set.config.gateway.retransmitTimeoutSeconds, 1);
  t.equal(set.ok && set.config.gateway.retransmitTries, 2);
  const line = base.split('\n').findIndex((l) => l.startsWith('gateway {')) + 2;
  for (const [k, v] of [
    ['retransmit-timeout', '0s'],
    ['retransmit-timeout', '2m'],
    ['retransmit-timeout', 'soon'],
    ['retransmit-tries', '0'],
    ['retransmit-tries', '11'],
  ] as const) {
    const bad = loadConfigText('/etc/sitelink/sitelink.conf', base.replace(/^gateway \{\n/m, `gateway {\n  ${k} = ${v}\n`), {
      secrets: false,
    });
    t.match(
      errorsOf(bad).join('\n'),
      new RegExp(`^sitelink\\.conf:${line}: gateway\\.${k}: expected`, 'm'),
      `${k} = ${v} refused with file, line and field`,
    );
  }
});

t.test('several remote = %any peers: certificates, shared main mode settings, distinct identities', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-roam-'));
  for (const f of ['gw.pem', 'gw.key', 'ca.pem']) writeFileSync(join(dir, f), 'x');
  const branch = (name: string, extra = ''): string => `  ${name} { remote = %any
    local = 198.51.100.2
    remote-id = ${name}.lab
    auth = ecdsa-sig
    certificate = gw.pem
    private-key = gw.key
    ca = ca.pem${extra} }
`;
  const conf = (peers: string): string => `gateway { id = hq.lab }
peers {
${peers}}
filter-lists { l { f { source = 10.0.0.0/16
                       destination = 10.1.0.0/24 } } }
filter-actions { sec { action = negotiate } }
rules { r { filters = l
            action = sec
            peer = b1 } }
`;
  const load = (peers: string): string[] => errorsOf(loadConfigText(join(dir, 'sitelink.conf'), conf(peers), { secrets: false }));
  t.same(load(branch('b1') + branch('b2') + branch('b3')), [], 'three branches with certificates');
  const proposals = load(branch('b1') + branch('b2', '\n    proposals = aes128-sha1-modp2048'));
  t.match(proposals.join('\n'), /sitelink\.conf:10: peers\.b2\.proposals: expected the same proposals as b1/, 'differing main mode proposals are refused');
  const local = load(branch('b1') + branch('b2').replace('local = 198.51.100.2', 'local = 198.51.100.3'));
  t.match(local.join('\n'), /peers\.b2\.local: expected the same local as b1/);
  const twin = load(branch('b1') + branch('b2').replace('remote-id = b2.lab', 'remote-id = b1.lab'));
  t.match(twin.join('\n'), /peers\.b2\.remote-id: expected a different identity: b1 \(also remote = %any\) has it/);
});
