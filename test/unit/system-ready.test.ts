// sitelinkd --wait-ready (daemon/system-ready.ts): the start waits for the file rcS
// makes, and goes on after the limit without it.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForFile } from '../../firmware/src/daemon/system-ready.ts';

const dir = mkdtempSync(join(tmpdir(), 'sl-ready-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('a file already there: no wait', async (t) => {
  const f = join(dir, 'there');
  writeFileSync(f, '');
  const w = await waitForFile(f, 1000, 10);
  t.ok(w.found);
  t.ok(w.waitedMs < 1000, `waited ${w.waitedMs} ms`);
});

t.test('a file made later: found once it exists, not before', async (t) => {
  const f = join(dir, 'later');
  const made = Date.now() + 200;
  setTimeout(() => writeFileSync(f, ''), 200);
  const w = await waitForFile(f, 10_000, 10);
  t.ok(w.found);
  t.ok(Date.now() >= made, 'resolved after the file was made');
});

t.test('a file never made: gives up at the limit', async (t) => {
  const w = await waitForFile(join(dir, 'never'), 150, 10);
  t.notOk(w.found);
  t.ok(w.waitedMs >= 150, `waited ${w.waitedMs} ms`);
});
