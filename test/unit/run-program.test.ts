// base/run-program.ts: a short-lived program with its input from a file and its error
// output into one (no pipes). Input arrives whole, error output is kept up to the
// bound, a program that hangs is killed, one that cannot start rejects, and neither
// files nor descriptors are left behind.
import t from 'tap';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runProgram } from '../../firmware/src/base/run-program.ts';

// The program's files go to the temporary directory: one of this test's own, to look into.
const dir = mkdtempSync(path.join(tmpdir(), 'sl-run-'));
const savedTmp = process.env['TMPDIR'];
process.env['TMPDIR'] = dir;
t.teardown(() => {
  if (savedTmp === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = savedTmp;
  rmSync(dir, { recursive: true, force: true });
});
const openFds = (): number => readdirSync('/proc/self/fd').length;

t.test('the input arrives whole, from its start', async (t) => {
  const text = Array.from({ length: 50_000 }, (_, i) => `line ${i}\n`).join(''); // ~600 KB, far past a pipe's 64 KiB
  const r = await runProgram('sh', ['-c', 'wc -c >&2; exit 3'], { stdin: text, timeoutMs: 10_000 });
  t.equal(r.code, 3);
  t.equal(r.timedOut, false);
  t.equal(r.stderr.trim(), String(Buffer.byteLength(text)));
});

t.test('error output is kept up to the bound, its first bytes', async (t) => {
  const r = await runProgram('sh', ['-c', 'echo first >&2; yes noise | head -c 1000000 >&2'], { timeoutMs: 10_000, maxStderr: 100 });
  t.equal(r.code, 0);
  t.equal(r.stderr.length, 100);
  t.match(r.stderr, /^first\nnoise/);
});

t.test('no input: /dev/null', async (t) => {
  const r = await runProgram('sh', ['-c', 'cat >&2'], { timeoutMs: 10_000 });
  t.same([r.code, r.stderr], [0, '']);
});

t.test('a program that does not end is killed at the limit', async (t) => {
  const started = Date.now();
  const r = await runProgram('sleep', ['30'], { timeoutMs: 200 });
  t.equal(r.timedOut, true);
  t.equal(r.signal, 'SIGKILL');
  t.ok(Date.now() - started < 10_000);
});

t.test('a program that cannot start rejects', async (t) => {
  await t.rejects(runProgram('/nonexistent/sitelink-program', [], { stdin: 'x', timeoutMs: 1000 }), { code: 'ENOENT' });
});

t.test('nothing is left behind', async (t) => {
  const before = openFds();
  for (let i = 0; i < 20; i++) await runProgram('true', [], { stdin: 'x', timeoutMs: 10_000 });
  await runProgram('/nonexistent/sitelink-program', [], { stdin: 'x', timeoutMs: 1000 }).catch(() => undefined);
  t.equal(openFds(), before, 'no descriptor left open');
  t.same(readdirSync(dir), [], 'no file left in the temporary directory');
});
