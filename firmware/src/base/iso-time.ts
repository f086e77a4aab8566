/**
 * Date#toISOString() for the daemon's timestamps, from the UTC getters. Node 20's
 * V8 (ToDateString in builtins-date.cc) looks up the local time zone's display
 * name on every toISOString/toUTCString/toJSON, even though the ISO form never
 * prints it; the first lookup loads ICU's time zone name data and code (~1 MB of
 * sitelinkd's RSS on this host's Node, issue 10). Same output as toISOString for
 * years 0..9999; other years and invalid dates go to toISOString (RangeError).
 */
export function isoTime(at: Date | number): string {
  const d = typeof at === 'number' ? new Date(at) : at;
  const y = d.getUTCFullYear();
  if (!(y >= 0 && y <= 9999)) return d.toISOString();
  const p2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
  const ms = d.getUTCMilliseconds();
  return (
    `${String(y).padStart(4, '0')}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}` +
    `T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}.${ms < 100 ? (ms < 10 ? '00' : '0') : ''}${ms}Z`
  );
}
