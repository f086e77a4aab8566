// The redactor's deep copy: shared references (DAGs) are copied faithfully at every
// place they occur, only true cycles (an ancestor reached again) become "<cycle>",
// and a DAG that would unfold without end is cut at a fixed budget. Property test
// over random graphs from a seeded generator (the seed is printed on failure).

import t from 'tap';
import { CYCLE, MAX_NODES, Redactor, TRUNCATED } from '../../firmware/src/log/redact.ts';
import type { FailureRecord } from '../../firmware/src/log/failure-record.ts';

/** mulberry32: small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Built {
  live: unknown;
  expected: unknown;
}

/**
 * A random graph and what the redactor must make of it. Containers are arrays or
 * objects. A child is a primitive, a new container, a shared reference to an
 * already finished container (copied in full wherever it occurs), or a back edge to
 * an ancestor (a true cycle: "<cycle>"). Finished containers whose subtree has back
 * edges to anything but the root are not shared, so that every back edge stays a
 * cycle wherever it ends up (the root is everybody's ancestor).
 */
function graph(rand: () => number): { live: unknown; expected: unknown; shared: number; cycles: number } {
  const pool: { node: Built }[] = [];
  let shared = 0;
  let cycles = 0;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const build = (depth: number, ancestors: object[]): Built & { open: boolean } => {
    const isArray = rand() < 0.5;
    const live: unknown[] | Record<string, unknown> = isArray ? [] : {};
    const expected: unknown[] | Record<string, unknown> = isArray ? [] : {};
    const here = [...ancestors, live];
    let open = false;
    const n = 1 + Math.floor(rand() * 5);
    for (let i = 0; i < n; i++) {
      const r = rand();
      let child: Built;
      if (r < 0.2 || depth >= 4) {
        const v = pick([0, 1, -7, 2.5, true, false, null, 'x', 'hello', '']);
        child = { live: v, expected: v };
      } else if (r < 0.5) {
        const c = build(depth + 1, here);
        open ||= c.open;
        if (!c.open) pool.push({ node: c });
        child = c;
      } else if (r < 0.8 && pool.length > 0) {
        shared++;
        child = pick(pool).node;
      } else {
        cycles++;
        const target = pick(here);
        if (target !== here[0]) open = true;
        child = { live: target, expected: CYCLE };
      }
      if (Array.isArray(live) && Array.isArray(expected)) {
        live.push(child.live);
        expected.push(child.expected);
      } else if (!Array.isArray(live) && !Array.isArray(expected)) {
        live[`k${i}`] = child.live;
        expected[`k${i}`] = child.expected;
      }
    }
    return { live, expected, open };
  };
  const root = build(0, []);
  return { live: root.live, expected: root.expected, shared, cycles };
}

t.test('property: DAGs are copied faithfully, only true cycles are marked', async (t) => {
  const r = new Redactor();
  let shared = 0;
  let cycles = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const g = graph(prng(seed));
    shared += g.shared;
    cycles += g.cycles;
    const out = r.redact(g.live);
    if (JSON.stringify(out) !== JSON.stringify(g.expected)) {
      t.same(out, g.expected, `seed ${seed}`);
      return;
    }
  }
  t.ok(shared > 100, `the generator made shared references (${shared})`);
  t.ok(cycles > 100, `and cycles (${cycles})`);
});

t.test('the same array under two keys is copied at both (issue 15: offered/acceptable)', async (t) => {
  const names = ['aes128gcm16'];
  const record: FailureRecord = {
    peer: 'hq',
    time: 't',
    phase: 'quick',
    role: 'initiator',
    reason: 'timeout',
    exchange: [],
    offered: names,
    acceptable: names,
  };
  const out = new Redactor().redact(record) as FailureRecord;
  t.same(out.offered, ['aes128gcm16']);
  t.same(out.acceptable, ['aes128gcm16'], 'not "<cycle>"');
  t.not(out.offered, out.acceptable, 'independent copies');
});

t.test('true cycles: self, parent, through a Map, an array containing itself', async (t) => {
  const r = new Redactor();
  const a: Record<string, unknown> = { name: 'a' };
  a['self'] = a;
  t.same(r.redact(a), { name: 'a', self: CYCLE });
  const parent: Record<string, unknown> = { child: { up: null as unknown } };
  (parent['child'] as Record<string, unknown>)['up'] = parent;
  t.same(r.redact(parent), { child: { up: CYCLE } });
  const m = new Map<string, unknown>();
  m.set('me', m);
  m.set('n', 1);
  t.same(r.redact(m), { me: CYCLE, n: 1 });
  const arr: unknown[] = [1];
  arr.push(arr);
  t.same(r.redact(arr), [1, CYCLE]);
  const shared = { v: 1 };
  t.same(r.redact([shared, [shared, { s: shared }]]), [{ v: 1 }, [{ v: 1 }, { s: { v: 1 } }]], 'siblings and cousins sharing one object');
});

t.test('a DAG that unfolds exponentially is cut at the budget, quickly', async (t) => {
  // 40 levels of a diamond: 2^40 paths.
  let node: unknown = { leaf: true };
  for (let i = 0; i < 40; i++) node = { left: node, right: node };
  const out = JSON.stringify(new Redactor().redact(node));
  t.ok(out.includes(TRUNCATED), 'truncated');
  t.ok(out.split('"leaf"').length - 1 <= MAX_NODES, 'no more than the budget copied');
});

// The needles (each secret's text, hex and base64) are made once, not per line, and
// made again when a secret is added or wiped.
t.test('registered secrets: scrubbed on every line, cache follows add and wipe', async (t) => {
  const { Secret } = await import('../../firmware/src/base/secret.ts');
  const r = new Redactor();
  let reveals = 0;
  class Counted extends Secret {
    override reveal(): Buffer {
      reveals++;
      return super.reveal();
    }
  }
  const a = new Counted(Buffer.from('alpha-psk-123'));
  r.add(a);
  t.equal(r.redactString('psk alpha-psk-123 here'), 'psk <redacted> here', 'the first secret is cut out');
  t.equal(r.redactString(`hex ${Buffer.from('alpha-psk-123').toString('hex')}`), 'hex <redacted>', 'and its hex');
  for (let i = 0; i < 100; i++) r.redactString('a line');
  t.equal(reveals, 1, 'its bytes were read once for 102 lines');
  const b = new Counted(Buffer.from('bravo-psk-456'));
  r.add(b);
  t.equal(r.redactString('alpha-psk-123 bravo-psk-456'), '<redacted> <redacted>', 'a secret added later is cut out too');
  t.equal(reveals, 3, 'adding one made the needles again (both secrets read once more)');
  a.wipe();
  t.equal(r.redactString('x'), 'x');
  t.equal(reveals, 4, 'a wiped secret is dropped and the rest made again');
  t.equal(r.redactString('bravo-psk-456'), '<redacted>', 'the remaining secret is still cut out');
  t.equal(reveals, 4, 'no further reads');
});
