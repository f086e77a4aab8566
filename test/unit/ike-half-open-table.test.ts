// ike/common/half-open.ts and response-limit.ts on their own: who gives way in
// a full table, and how the per-source reply budget refills and stays bounded.
import t from 'tap';
import { EvictedRecords, HalfOpenTable, halfOpenKey } from '../../firmware/src/ike/common/half-open.ts';
import { RepeatAnswers, SourceRateLimit } from '../../firmware/src/ike/common/response-limit.ts';

t.test('a full group gives way oldest unproven first, proven last', async (t) => {
  const tab = new HalfOpenTable<string>({ perGroup: 3, total: 100 });
  for (const v of ['a', 'b', 'c']) tab.add(`k${v}`, 'g', v);
  tab.prove('a');
  t.same(tab.victims('g'), ['b'], 'b: oldest unproven');
  tab.add('kd', 'g', 'd');
  t.notOk(tab.has('b'), 'b gone');
  t.same(tab.victims('other'), [], 'another group is not affected');
  tab.prove('c');
  tab.prove('d');
  t.same(tab.victims('g'), ['a'], 'all proven: the oldest');
  t.equal(tab.count('g'), 3);
});

t.test('the total cap evicts across groups, unproven first', async (t) => {
  const tab = new HalfOpenTable<number>({ perGroup: 10, total: 4 });
  tab.add('1', 'x', 1);
  tab.add('2', 'y', 2);
  tab.add('3', 'y', 3);
  tab.add('4', 'z', 4);
  tab.prove(1);
  tab.add('5', 'w', 5);
  t.equal(tab.size, 4, 'still 4');
  t.notOk(tab.has(2), 'the oldest unproven (2) gave way');
  t.ok(tab.has(1), 'the proven one stayed');
  tab.remove(5);
  t.equal(tab.size, 3);
  t.equal(tab.count('w'), 0);
});

t.test('keys are per (address, port, cookie)', async (t) => {
  const c = Buffer.from('0102030405060708', 'hex');
  t.not(halfOpenKey('192.0.2.1', 500, c), halfOpenKey('192.0.2.1', 4500, c));
  t.not(halfOpenKey('192.0.2.1', 500, c), halfOpenKey('192.0.2.2', 500, c));
  t.equal(halfOpenKey('192.0.2.1', 500, c), '192.0.2.1|500|0102030405060708');
});

t.test('repeat answers: a few per request, a new request starts over', async (t) => {
  const r = new RepeatAnswers<object>(2);
  const owner = {};
  const req = Buffer.from('a');
  t.same([r.allow(owner, req), r.allow(owner, req), r.allow(owner, req)], [true, true, false]);
  t.ok(r.allow(owner, Buffer.from('a')), 'a new request object (the exchange moved on) is counted afresh');
});

t.test('source rate: burst, refill, bounded table', async (t) => {
  let now = 0;
  const lim = new SourceRateLimit(() => now, { perSecond: 10, burst: 5, sources: 3 });
  let ok = 0;
  for (let i = 0; i < 50; i++) if (lim.allow('s')) ok++;
  t.equal(ok, 5, 'burst');
  now += 500;
  ok = 0;
  for (let i = 0; i < 50; i++) if (lim.allow('s')) ok++;
  t.equal(ok, 5, 'half a second refills 5 (capped at the burst)');
  for (const s of ['a', 'b', 'c']) lim.allow(s);
  // 's' was forgotten (least recently seen) when 'c' came: it starts with a full bucket.
  ok = 0;
  for (let i = 0; i < 50; i++) if (lim.allow('s')) ok++;
  t.equal(ok, 5, 'the table holds 3 sources; a forgotten one starts full');
});

t.test('evicted records: bounded, taken once, only when they match', async (t) => {
  const r = new EvictedRecords<number>(2);
  r.put('a', 1);
  r.put('b', 2);
  r.put('c', 3);
  t.equal(r.size, 2, 'bounded');
  t.equal(r.take('a', () => true), undefined, 'the oldest went');
  t.equal(r.take('b', (v) => v === 99), undefined, 'no match: not taken');
  t.equal(r.take('b', (v) => v === 2), 2, 'match: taken');
  t.equal(r.take('b', () => true), undefined, 'once');
});
