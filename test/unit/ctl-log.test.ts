import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { NegotiationLog, formatEntry } from '../../firmware/src/log/negotiation-log.ts';
import { Redactor, REDACTED } from '../../firmware/src/log/redact.ts';
import { Secret } from '../../firmware/src/base/secret.ts';
import { priority } from '../../firmware/src/log/syslog.ts';

const PSK = 'Sup3r-Secret-PSK-value';

t.test('redactor: Secret objects, key-named fields, secret text in any form, binary', async (t) => {
  const r = new Redactor();
  const s = new Secret(Buffer.from(PSK));
  r.add(s);
  const out = JSON.stringify(r.redact({
    message: `user pasted ${PSK} here and hex ${Buffer.from(PSK).toString('hex').toUpperCase()}`,
    psk: 'anything',
    secret: s,
    skeyid_d: 'ab12',
    nonce: Buffer.alloc(16, 7),
    keymat: { in: 'x' },
    nested: [{ encKey: Buffer.from('k') }, { spi: 0x1234, b64: Buffer.from(PSK).toString('base64') }],
    count: 10n,
  }));
  t.notMatch(out, PSK);
  t.notMatch(out, Buffer.from(PSK).toString('hex'));
  t.notMatch(out.toLowerCase(), Buffer.from(PSK).toString('hex'));
  t.notMatch(out, Buffer.from(PSK).toString('base64'));
  t.notMatch(out, 'ab12');
  t.match(out, '"spi":4660');
  t.match(out, '"count":"10"');
  t.equal(out.split(REDACTED).length - 1, 9, 'nine redactions: two in the message, seven fields');
  s.wipe();
  t.equal(r.redactString('x'), 'x', 'wiped secrets are dropped');
});

t.test('negotiation log: rotates to .sav, JSON lines, redacted, level filter, ring buffer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-log-'));
  const file = join(dir, 'sub', 'negotiation.log');
  const r = new Redactor();
  r.add(new Secret(Buffer.from(PSK)));
  const first = NegotiationLog.open({ file, syslog: false, level: 'info', redactor: r });
  first.log({ peer: 'hq', phase: 'main', step: 'MM1', direction: 'out', message: 'first run' });
  await first.close();

  const log = NegotiationLog.open({ file, syslog: false, level: 'info', redactor: r, keep: 3 });
  log.log({ peer: 'hq', phase: 'main', step: 'MM1', direction: 'out', message: 'offer', data: { proposals: ['aes256-sha256-modp2048'] } });
  log.log({ peer: 'hq', phase: 'main', step: 'MM5', direction: 'out', message: `auth with ${PSK}`, data: { psk: PSK, nonce: Buffer.alloc(8) } });
  log.log({ level: 'debug', peer: 'hq', phase: 'quick', step: 'QM1', message: 'filtered out' });
  log.log({ peer: 'hq', phase: 'quick', step: 'QM1', direction: 'out', message: 'q1' });
  log.log({ peer: 'hq', phase: 'quick', step: 'QM2', direction: 'in', message: 'q2' });
  await log.close();

  t.match(readFileSync(`${file}.sav`, 'utf8'), 'first run', 'previous run kept as .sav');
  const text = readFileSync(file, 'utf8');
  t.notMatch(text, 'first run', 'new file per start');
  t.notMatch(text, PSK, 'no PSK in the file');
  t.notMatch(text, 'filtered out', 'debug below level is dropped');
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { step: string; data?: { psk?: string } });
  t.same(lines.map((l) => l.step), ['MM1', 'MM5', 'QM1', 'QM2']);
  t.equal(lines[1]?.data?.psk, REDACTED);
  t.same(log.recent(10).map((e) => e.step), ['MM5', 'QM1', 'QM2'], 'ring keeps the last 3');
  t.match(formatEntry(log.recent(1)[0]!), /^hq quick QM2 <- q2$/);
});

t.test('syslog priority values (RFC 5424 §6.2.1, facility daemon)', async (t) => {
  t.equal(priority('error'), 27);
  t.equal(priority('info'), 30);
});

const havePy = spawnSync('sh', ['-c', 'command -v python3 && command -v logger']).status === 0;
t.test('syslog datagrams reach a unix datagram socket', { skip: havePy ? false : 'python3 or logger missing' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-syslog-'));
  const sock = join(dir, 'log');
  const outFile = join(dir, 'got');
  const py = spawn('python3', ['-c', `
import socket,sys
s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.bind(${JSON.stringify(sock)}); print('ready',flush=True)
s.settimeout(5)
data=s.recv(4096)
open(${JSON.stringify(outFile)},'wb').write(data)
`], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Listen for the exit now: python may receive the datagram and exit before log.close()
  // resolves, and a 'close' listener added after that would never fire.
  const pyClosed = new Promise<void>((res) => py.once('close', () => res()));
  await new Promise<void>((res) => py.stdout.once('data', () => res()));
  const r = new Redactor();
  r.add(new Secret(Buffer.from(PSK)));
  const log = NegotiationLog.open({ file: null, syslog: true, level: 'info', redactor: r, syslogOptions: { socket: sock } });
  log.log({ peer: 'hq', phase: 'main', step: 'MM6', direction: 'in', message: `peer authenticated, psk ${PSK}` });
  await log.close();
  await pyClosed;
  t.ok(existsSync(outFile), 'a datagram arrived');
  const got = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
  t.match(got, /^<30>1 \S+ \S+ sitelink /, 'RFC 5424 header with PRI 30 (daemon.info)');
  t.match(got, 'hq main MM6 <- peer authenticated');
  t.notMatch(got, PSK);
  writeFileSync(outFile, '');
});

t.test('BusyBox logger (firmware image): one process per severity, plain lines', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-bb-'));
  const rec = join(dir, 'rec.sh');
  const sock = join(dir, 'log');
  writeFileSync(sock, '');
  // Records its arguments and stdin lines, as a stand-in for busybox logger.
  writeFileSync(rec, `#!/bin/sh\nwhile IFS= read -r l; do echo "$*|$l" >> ${join(dir, 'out')}; done\n`);
  const { chmodSync } = await import('node:fs');
  chmodSync(rec, 0o755);
  const r = new Redactor();
  r.add(new Secret(Buffer.from(PSK)));
  const log = NegotiationLog.open({
    file: null,
    syslog: true,
    level: 'info',
    redactor: r,
    syslogOptions: { socket: sock, command: rec, flavour: 'busybox' },
  });
  log.log({ peer: 'hq', phase: 'main', step: 'MM1', direction: 'out', message: 'one' });
  log.log({ level: 'error', peer: 'hq', phase: 'main', step: 'MM6', direction: 'in', message: `bad hash, psk ${PSK}` });
  log.log({ peer: 'hq', phase: 'quick', step: 'QM1', direction: 'out', message: 'two' });
  await log.close();
  const lines = readFileSync(join(dir, 'out'), 'utf8').trim().split('\n').sort();
  t.same(lines, [
    '-t sitelink -p daemon.err|hq main MM6 <- bad hash, psk <redacted>',
    '-t sitelink -p daemon.info|hq main MM1 -> one',
    '-t sitelink -p daemon.info|hq quick QM1 -> two',
  ]);
});
