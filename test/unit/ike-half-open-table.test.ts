// ike/common/half-open.ts and response-limit.ts on their own: who gives way in
// a full table, and how the per-source reply budget refills and stays bounded.
import t from 'tap';
import { HalfOpenTable, halfOpenKey } from '../../firmware/src/ike/common/half-open.ts';
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

t.test('entries with a cost: the limits bound the sum, as many oldest go as the newcomer needs', async (t) => {
  const tab = new HalfOpenTable<string>({ perGroup: 10, total: 15 });
  for (const v of ['a', 'b', 'c', 'd']) tab.add(v, 'g', v, 2);
  t.equal(tab.cost('g'), 8);
  t.same(tab.victims('g', 2), [], 'room for 2 more');
  t.same(tab.victims('g', 5), ['a', 'b'], 'a cost of 5 needs the two oldest to go');
  tab.add('e', 'g', 'e', 5);
  t.equal(tab.cost('g'), 9);
  tab.add('x', 'h', 'x', 4);
  t.equal(tab.cost(), 13);
  t.same(tab.victims('h', 4), ['c'], 'the total would be 17 of 15: the largest group (g) pays, its oldest (2) is enough');
  tab.remove('e');
  t.equal(tab.cost(), 8, 'remove gives the cost back');
  tab.clear();
  t.equal(tab.cost(), 0);
});

t.test('removeOldest goes in insertion order and stops at the first it keeps; clear empties', async (t) => {
  const tab = new HalfOpenTable<{ at: number }>({ perGroup: 10, total: 10 });
  const v = [5, 1, 9, 2].map((at) => ({ at }));
  v.forEach((x, i) => tab.add(`k${i}`, i % 2 ? 'a' : 'b', x));
  t.equal(tab.removeOldest((x) => x.at < 6), 2, 'the two oldest (5, 1) go; 9 stops it');
  t.same([tab.has(v[0]!), tab.has(v[1]!), tab.has(v[2]!), tab.has(v[3]!)], [false, false, true, true], '2 stays behind 9');
  t.same([tab.count('a'), tab.count('b')], [1, 1], 'groups follow');
  tab.clear();
  t.same([tab.size, tab.count('a'), tab.get('k2')], [0, 0, undefined], 'cleared');
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
