// base/fs-async.ts and base/clock.ts stand in for node:fs/promises and perf_hooks in the
// daemon (issue 10: those modules' memory): the same results, errors with their codes.
import t from 'tap';
import { constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { closeAsync, fstatAsync, openAsync, readAsync, readFileAsync, statAsync } from '../../firmware/src/base/fs-async.ts';
import { monotonicMs } from '../../firmware/src/base/clock.ts';

const dir = mkdtempSync(join(tmpdir(), 'sl-fs-async-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('open, fstat, read to the end, close', async (t) => {
  const file = join(dir, 'a.conf');
  const text = 'peer hq {\n  remote = 192.0.2.1\n}\n'.repeat(300);
  writeFileSync(file, text);
  const fd = await openAsync(file, constants.O_RDONLY);
  t.equal((await fstatAsync(fd)).size, text.length);
  t.ok((await statAsync(file)).isFile());
  const buf = Buffer.alloc(text.length + 10);
  let len = 0;
  const reads: number[] = [];
  for (;;) {
    const n = await readAsync(fd, buf, len, Math.min(4096, buf.length - len));
    reads.push(n);
    if (n === 0) break;
    len += n;
  }
  await closeAsync(fd);
  t.equal(buf.subarray(0, len).toString(), text, 'the bytes, in 4 KiB reads');
  t.equal(reads.at(-1), 0, 'the end of the file reads 0');
  t.same(await readFileAsync(file), Buffer.from(text), 'readFileAsync: the whole file');
  await t.rejects(closeAsync(fd), { code: 'EBADF' }, 'a closed descriptor: EBADF');
});

t.test('errors reject with their code', async (t) => {
  await t.rejects(openAsync(join(dir, 'missing'), constants.O_RDONLY), { code: 'ENOENT' });
  await t.rejects(statAsync(join(dir, 'missing')), { code: 'ENOENT' });
  await t.rejects(readFileAsync(dir), { code: 'EISDIR' });
});

t.test('the monotonic clock counts from the process start, as performance.now()', async (t) => {
  const a = monotonicMs();
  const p = performance.now();
  t.ok(Math.abs(a - p) < 50, `within 50 ms of performance.now() (${a.toFixed(1)} vs ${p.toFixed(1)})`);
  await new Promise((r) => setTimeout(r, 30));
  const b = monotonicMs();
  t.ok(b - a >= 25 && b - a < 5000, `30 ms later it advanced ${(b - a).toFixed(1)} ms`);
});
