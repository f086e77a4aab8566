import t from 'tap';
import { parseIp, formatIp, parseCidr, inPrefix, isNetworkAddress } from '../../firmware/src/base/address.ts';

t.test('parse and format round trip', async (t) => {
  const cases: [string, string][] = [
    ['10.1.2.3', '10.1.2.3'], ['::1', '::1'], ['2001:db8::1', '2001:db8::1'], ['::', '::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'], ['::ffff:1.2.3.4', '::ffff:102:304'], ['fe80::', 'fe80::'],
  ];
  for (const [input, out] of cases) {
    const p = parseIp(input);
    t.ok(p, input);
    if (p) t.equal(formatIp(p), out, input);
  }
  t.equal(parseIp('10.1.2'), null);
  t.equal(parseIp('hq.example'), null);
});

t.test('prefix containment', async (t) => {
  const net = parseCidr('10.0.0.0/16');
  const a = parseIp('10.0.200.1');
  const b = parseIp('10.1.0.1');
  const v6 = parseIp('2001:db8::1');
  if (!net || !a || !b || !v6) throw new Error('parse');
  t.ok(inPrefix(a, net.addr, net.prefix));
  t.notOk(inPrefix(b, net.addr, net.prefix));
  t.notOk(inPrefix(v6, net.addr, net.prefix), 'families never match');
  t.equal(parseCidr('10.0.0.0/33'), null);
  const host = parseCidr('10.1.2.3/8');
  t.ok(host && !isNetworkAddress(host.addr, host.prefix));
  const v6net = parseCidr('2001:db8::/32');
  t.ok(v6net && inPrefix(v6, v6net.addr, v6net.prefix));
});
