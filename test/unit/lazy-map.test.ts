// LazyMap (ike/common/lazy-map.ts): a Map's behaviour, with no table while empty.
import t from 'tap';
import { LazyMap } from '../../firmware/src/ike/common/lazy-map.ts';

t.test('behaves as a Map', async (t) => {
  const m = new LazyMap<number, string>();
  t.equal(m.size, 0);
  t.equal(m.get(1), undefined);
  t.notOk(m.has(1));
  t.same([...m.values()], [], 'empty before the first entry');
  t.notOk(m.delete(1), 'deleting from an empty map finds nothing');
  m.set(3, 'c').set(1, 'a').set(2, 'b');
  t.equal(m.size, 3);
  t.same([...m.values()], ['c', 'a', 'b'], 'insertion order');
  m.set(1, 'A');
  t.same([...m.values()], ['c', 'A', 'b'], 'replacing keeps the position');
  t.ok(m.delete(3));
  t.notOk(m.delete(3), 'a second delete finds nothing');
  t.equal(m.get(2), 'b');
  t.ok(m.has(1));
  m.clear();
  t.equal(m.size, 0);
  t.same([...m.values()], []);
});

t.test('deleting the last entry while iterating ends the iteration cleanly', async (t) => {
  const m = new LazyMap<number, number>();
  for (let i = 0; i < 4; i++) m.set(i, i);
  const seen: number[] = [];
  for (const v of m.values()) {
    seen.push(v);
    m.delete(v);
  }
  t.same(seen, [0, 1, 2, 3], 'every value visited once');
  t.equal(m.size, 0);
  m.set(9, 9);
  t.same([...m.values()], [9], 'usable again after it emptied');
});
