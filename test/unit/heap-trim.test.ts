// The daemon gives freed malloc memory back to the kernel from its tick (issue 10:
// RSS per gateway): once start-up has settled, then every few minutes.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { FIRST_TRIM_S, TRIM_EVERY_S, collectStartGarbage, trimDue, trimHeap } from '../../firmware/src/daemon/heap-trim.ts';
import { startTunnelsUp } from '../../firmware/src/daemon/daemon.ts';
import { loadNative } from '../../firmware/src/dataplane/native.ts';

t.test('when the tick trims', async (t) => {
  const due = Array.from({ length: FIRST_TRIM_S + 2 * TRIM_EVERY_S + 1 }, (_, i) => i).filter(trimDue);
  t.same(due, [FIRST_TRIM_S, FIRST_TRIM_S + TRIM_EVERY_S, FIRST_TRIM_S + 2 * TRIM_EVERY_S]);
});

t.test('malloc_trim through the addon gives freed pages back', async (t) => {
  const addon = loadNative();
  t.type(addon.trimHeap, 'function', 'the addon exports trimHeap');
  const anonKb = (): number => Number(/RssAnon:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
  // Freed chunks in the middle of malloc's heap (every other one of many small
  // allocations: no free chunk reaches the top, so free() itself trims nothing).
  const keep: Buffer[] = [];
  let drop: Buffer[] = [];
  for (let i = 0; i < 20_000; i++) {
    drop.push(Buffer.allocUnsafeSlow(4000));
    keep.push(Buffer.allocUnsafeSlow(64));
  }
  for (const b of drop) b.fill(1);
  drop = [];
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  // Backing stores may be freed by V8's concurrent sweeper after the collection.
  await new Promise((r) => setTimeout(r, 200));
  const before = anonKb();
  const released = trimHeap();
  const after = anonKb();
  t.comment(`RssAnon ${before} -> ${after} kB (malloc_trim released: ${released})`);
  t.ok(released, 'malloc_trim released memory');
  t.ok(after < before - 20_000, `RssAnon fell by more than 20 MB of the 80 MB freed (${before} -> ${after} kB)`);
  t.equal(keep.length, 20_000);
});

t.test("the start's garbage: a full collection only where the launcher exposed gc", async (t) => {
  const g = globalThis as { gc?: () => void };
  const saved = g.gc;
  try {
    delete g.gc;
    t.equal(collectStartGarbage(), false, 'without --expose-gc: nothing to call, no error');
    let calls = 0;
    g.gc = () => { calls++; };
    t.equal(collectStartGarbage(), true, 'with it: collected');
    t.equal(calls, 1, 'exactly one collection');
  } finally {
    if (saved) g.gc = saved;
    else delete g.gc;
  }
  const flags = readFileSync(new URL('../../board/common/rootfs/usr/lib/sitelink/sitelinkd.node-flags', import.meta.url), 'utf8');
  t.match(flags, /--expose-gc/, "the board's launcher flags expose it");
});

t.test("the start's release: V8's low-memory collection compacts what a full collection leaves", async (t) => {
  const addon = loadNative();
  t.type(addon.releaseMemory, 'function', 'the addon exports releaseMemory');
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const physical = (): number => v8.getHeapStatistics().total_physical_size;
  // Old space fragmented the way a start leaves it: many objects, one in 16 still live,
  // so every page keeps some and a full collection that does not compact frees none.
  const keep: object[] = [];
  {
    let all: object[] | null = [];
    for (let i = 0; i < 400_000; i++) {
      const o = { a: i, b: `x${i}`, c: [i] };
      all.push(o);
      if (i % 16 === 0) keep.push(o);
    }
    all = null;
  }
  gc();
  gc();
  const afterGc = physical();
  addon.releaseMemory!();
  const afterRelease = physical();
  const mb = (b: number): string => (b / 1e6).toFixed(1);
  t.comment(`V8 heap physical: ${mb(afterGc)} MB after two full collections, ${mb(afterRelease)} MB after releaseMemory`);
  t.ok(afterRelease < afterGc - 15e6, 'the low-memory collection gave back more than 15 MB that full collections kept');
  t.equal(keep.length, 25_000, 'and kept every live object');
});

t.test("the start's release drops the bytecode of functions that ran once, and they still run", async (t) => {
  const addon = loadNative();
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const bytecode = (): number => v8.getHeapCodeStatistics().bytecode_and_metadata_size;
  // Functions like the start's: compiled, run once, still referenced (as a module's
  // functions are), never run again.
  const body = Array.from({ length: 400 }, (_, i) => `s = (s * 31 + ${i} + (x[${i % 7}] ?? 0)) % 1000003;`).join('\n');
  const fns = Array.from({ length: 40 }, (_, k) => new Function('x', `let s = ${k};\n${body}\nreturn s;`) as (x: number[]) => number);
  const input = [3, 1, 4, 1, 5, 9, 2];
  const first = fns.map((f) => f(input));
  gc();
  gc();
  const afterGc = bytecode();
  addon.releaseMemory!();
  const afterRelease = bytecode();
  t.comment(`bytecode and metadata: ${afterGc} bytes after two full collections, ${afterRelease} after releaseMemory`);
  t.ok(afterRelease < afterGc - 200_000, 'more than 200 KB of bytecode dropped that full collections kept');
  t.same(fns.map((f) => f(input)), first, 'every function compiles again and gives the same result');
  t.ok(bytecode() > afterRelease + 200_000, 'their bytecode is back once they run');
  gc();
  gc();
  t.ok(bytecode() > afterRelease + 200_000, 'and later full collections keep it (the flag was for the release only)');
});

t.test('the start is over once every start = start peer has a child SA', async (t) => {
  const sa = (peer: string, children: number): { peer: string; children: unknown[] } => ({ peer, children: Array.from({ length: children }) });
  t.equal(startTunnelsUp([], []), true, 'no start peer (a hub): over at once');
  t.equal(startTunnelsUp(['hq'], []), false, 'no IKE SA yet');
  t.equal(startTunnelsUp(['hq'], [sa('hq', 0)]), false, 'an IKE SA without its child SA');
  t.equal(startTunnelsUp(['hq', 'dc2'], [sa('hq', 1), sa('dc2', 0)]), false, 'one of two up');
  t.equal(startTunnelsUp(['hq', 'dc2'], [sa('hq', 1), sa('dc2', 0), sa('dc2', 2)]), true, 'both up (a rekeyed IKE SA beside)');
  t.equal(startTunnelsUp(['hq'], [sa('other', 1)]), false, "another peer's tunnel does not count");
});
