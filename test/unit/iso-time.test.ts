// isoTime (base/iso-time.ts) is Date#toISOString without V8's time zone name lookup.
import t from 'tap';
import { isoTime } from '../../firmware/src/base/iso-time.ts';
import { seededRandom } from '../lib/seeded-random.ts';

t.test('the same string as toISOString', async (t) => {
  // Milliseconds with 1, 2 and 3 digits; 0000-01-01 (-62167219200000); the last ms of 9999; before 1970.
  const fixed = [0, 1, 9, 10, 99, 100, 999, 1000, Date.UTC(2026, 11, 4, 15, 7, 22, 5), -62167219200000, 253402300799999, -1];
  const random = seededRandom('iso-time');
  const times = [...fixed, ...Array.from({ length: 2000 }, () => random(6).readUIntBE(0, 6) % 253402300800000)];
  let bad = 0;
  for (const ms of times) if (isoTime(ms) !== new Date(ms).toISOString() || isoTime(new Date(ms)) !== new Date(ms).toISOString()) bad++;
  t.equal(bad, 0, `${times.length} instants, years 0..9999`);
  t.equal(isoTime(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), '2026-01-02T03:04:05.006Z');
});

t.test('outside years 0..9999 and invalid dates: as toISOString', async (t) => {
  const far = Date.UTC(10000, 0, 1);
  t.equal(isoTime(far), new Date(far).toISOString());
  t.equal(isoTime(-62198755200000), new Date(-62198755200000).toISOString(), 'year -1');
  t.throws(() => isoTime(Number.NaN), RangeError);
});
