// Configuration files nobody should feed the loader, fed to it: a 20 MB single
// line, /dev/zero, a FIFO, binary and escape-laden files, an empty file. Each is
// refused with one clear error that is safe to print on a terminal.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, loadConfigFileAsync, loadConfigText } from '../../firmware/src/config/load.ts';
import { MAX_CONFIG_BYTES, readTextFile } from '../../firmware/src/config/read-file.ts';
import { formatConfigError, type LoadResult } from '../../firmware/src/config/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'sl-hostile-'));

function errorsOf(r: LoadResult): string[] {
  return r.ok ? [] : r.errors.map(formatConfigError);
}

// Any C0/C1 control character (ESC, BEL, CSI...) or bidi override in an error would reach the terminal.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

t.test('a 20 MB single-line config is refused by its size, before it is read', async (t) => {
  const f = join(dir, 'huge.conf');
  writeFileSync(f, `gateway { id = ${'a'.repeat(20 * 1024 * 1024)} }\n`);
  const errs = errorsOf(loadConfigFile(f, { secrets: false }));
  t.equal(errs.length, 1, 'one error');
  t.match(errs[0], new RegExp(`larger than ${MAX_CONFIG_BYTES} bytes`), errs[0]?.slice(0, 200) ?? '');
  t.ok(errs[0]!.length < 300, 'the error does not quote the file');
});

t.test('devices and FIFOs are not read', async (t) => {
  const zero = errorsOf(loadConfigFile('/dev/zero', { secrets: false }));
  t.match(zero, [/\/dev\/zero: not a regular file \(a device\)/], 'sync: /dev/zero refused');
  const zeroAsync = errorsOf(await loadConfigFileAsync('/dev/zero', { secrets: false }));
  t.match(zeroAsync, [/not a regular file \(a device\)/], 'async: /dev/zero refused');
  const fifo = join(dir, 'fifo.conf');
  execFileSync('mkfifo', [fifo]);
  // Without O_NONBLOCK opening a FIFO with no writer blocks forever; the test would time out.
  t.match(await readTextFile(fifo), { ok: false, message: /not a regular file \(a FIFO\)/ }, 'async: FIFO refused without blocking');
  t.match(errorsOf(loadConfigFile(fifo, { secrets: false })), [/a FIFO/], 'sync: FIFO refused without blocking');
  t.match(errorsOf(loadConfigFile(dir, { secrets: false })), [/a directory/], 'a directory');
});

t.test('binary files: one error, and nothing raw reaches the terminal', async (t) => {
  const bin = join(dir, 'bin.conf');
  writeFileSync(bin, Buffer.concat([Buffer.from('gateway {\n'), Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0x00, 0xff, 0x07]), Buffer.from('\n}\n')]));
  const e1 = errorsOf(loadConfigFile(bin, { secrets: false }));
  t.match(e1, [/a binary file, not text \(NUL byte on line 2\)/], 'NUL: called a binary file');
  const latin = join(dir, 'latin1.conf');
  writeFileSync(latin, Buffer.from('gateway {\n  id = caf\xe9\n}\n', 'latin1'));
  t.match(errorsOf(loadConfigFile(latin, { secrets: false })), [/not UTF-8 text \(invalid byte sequence on line 2\)/], 'invalid UTF-8 named with its line');

  // Text, but full of terminal escapes: every quoted fragment comes back escaped.
  const esc = join(dir, 'escapes.conf');
  writeFileSync(esc, 'gateway {\n  \x1b[31mred = 1\n  \x1b]52;c;aGk=\x07 {\n  id = \u202egw\x9b\n}\n\x1b[2J\n');
  const errs = errorsOf(loadConfigFile(esc, { secrets: false }));
  t.ok(errs.length > 0, `errors reported (${errs.length})`);
  for (const e of errs) t.notOk(UNSAFE.test(e), `printable: ${JSON.stringify(e)}`);
  t.ok(errs.some((e) => e.includes('\\x1b[31mred')), 'the offending key is shown escaped');
});

t.test('garbage text stops after a bounded number of errors', async (t) => {
  const r = loadConfigText('noise.conf', 'zz {{ } } = = \n'.repeat(50_000), { secrets: false });
  const errs = errorsOf(r);
  t.ok(errs.length > 1 && errs.length <= 102, `at most ~100 errors reported (${errs.length})`);
  t.match(errs[errs.length - 1], /not reading further|more/, 'says it stopped');
});

t.test('an empty config reports that it is empty, not the default secrets file', async (t) => {
  const f = join(dir, 'empty.conf');
  for (const text of ['', '\n\n', '# only a comment\n   \n']) {
    writeFileSync(f, text);
    // Secrets enabled: the default file (/etc/sitelink/secrets.conf) is absent here.
    const errs = errorsOf(loadConfigFile(f));
    t.equal(errs.length, 1, `${JSON.stringify(text)}: one error (${errs.join(' | ')})`);
    t.match(errs[0], /empty/, 'about the emptiness');
    t.notMatch(errs[0], /secrets/, 'not about secrets');
  }
});

t.test('the thread-pool loader reads the secrets file the same way (mode checked, PSK attached)', async (t) => {
  const repo = join(import.meta.dirname ?? '.', '..', '..');
  const example = join(repo, 'board', 'common', 'sitelink.conf.example');
  const f = join(dir, 'secrets.conf');
  writeFileSync(f, 'psk {\n  hq.example.net = "async-psk-123456"\n}\n', { mode: 0o644 });
  const loose = await loadConfigFileAsync(example, { secretsFile: f });
  t.match(errorsOf(loose), [/mode 0644; expected 0600/], 'a readable-by-all secrets file is refused');
  execFileSync('chmod', ['600', f]);
  const r = await loadConfigFileAsync(example, { secretsFile: f });
  t.same(errorsOf(r), [], 'accepted');
  t.equal(r.ok ? r.config.peers.get('hq')?.psk?.reveal().toString() : '', 'async-psk-123456', 'the PSK is attached');
  t.match(errorsOf(await loadConfigFileAsync(example, { secretsFile: '/dev/zero' })), [/not a regular file/], 'a device as secrets file is refused');
});
