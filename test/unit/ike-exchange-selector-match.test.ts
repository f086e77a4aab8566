// Containment of quick mode client IDs (RFC 2407 §4.6.2) in a tunnel's subnets,
// for the default response rule: contained, equal, wider, partial overlap,
// IPv4/IPv6 mix, host IDs, ranges, protocol/port.

import t from 'tap';
import { IdType, PayloadType, trafficSelector, type IdPayload, type Identity } from '../../firmware/src/ike/wire/index.ts';
import { cidrPrefix, formatPrefix, idPrefix, matchDefaultResponse, prefixContains } from '../../firmware/src/ike/exchange/selector-match.ts';

const id = (i: Identity, protocol = 0, port = 0): IdPayload => ({ type: PayloadType.ID, protocol, port, id: i });
const p = (cidr: string) => {
  const r = cidrPrefix(cidr);
  if (!r) throw new Error(cidr);
  return r;
};

t.test('cidrPrefix and formatPrefix', async (t) => {
  t.equal(formatPrefix(p('198.18.1.0/24')), '198.18.1.0/24');
  t.equal(formatPrefix(p('198.18.1.7')), '198.18.1.7/32', 'a bare address is a host');
  t.equal(formatPrefix(p('2001:db8::/32')), '2001:db8::/32');
  t.equal(formatPrefix(p('2001:db8::1')), '2001:db8::1/128');
  t.equal(cidrPrefix('198.18.1.1/24'), null, 'host bits set');
  t.equal(cidrPrefix('198.18.1.0/33'), null);
  t.equal(cidrPrefix('nonsense/8'), null);
});

t.test('idPrefix over the address ID types', async (t) => {
  t.equal(formatPrefix(idPrefix(id({ idType: IdType.IPV4_ADDR, address: '10.1.2.3' }))!), '10.1.2.3/32');
  t.equal(formatPrefix(idPrefix(id({ idType: IdType.IPV6_ADDR, address: '2001:db8::5' }))!), '2001:db8::5/128');
  t.equal(formatPrefix(idPrefix(trafficSelector('10.1.0.0/16'))!), '10.1.0.0/16');
  t.equal(formatPrefix(idPrefix(trafficSelector('2001:db8:1::/48'))!), '2001:db8:1::/48');
  t.equal(formatPrefix(idPrefix(trafficSelector('0.0.0.0/0'))!), '0.0.0.0/0');
  t.equal(idPrefix(id({ idType: IdType.IPV4_ADDR_SUBNET, address: '10.1.0.0', mask: '255.0.255.0' })), null, 'non-contiguous mask');
  t.equal(idPrefix(id({ idType: IdType.IPV4_ADDR_SUBNET, address: '10.1.0.1', mask: '255.255.0.0' })), null, 'host bits set');
  t.equal(
    formatPrefix(idPrefix(id({ idType: IdType.IPV4_ADDR_RANGE, start: '10.1.2.0', end: '10.1.2.255' }))!),
    '10.1.2.0/24',
    'a range that is one CIDR block',
  );
  t.equal(formatPrefix(idPrefix(id({ idType: IdType.IPV4_ADDR_RANGE, start: '10.1.2.9', end: '10.1.2.9' }))!), '10.1.2.9/32');
  t.equal(formatPrefix(idPrefix(id({ idType: IdType.IPV6_ADDR_RANGE, start: '2001:db8::', end: '2001:db8::ffff' }))!), '2001:db8::/112');
  t.equal(idPrefix(id({ idType: IdType.IPV4_ADDR_RANGE, start: '10.1.2.1', end: '10.1.2.254' })), null, 'not a CIDR block');
  t.equal(idPrefix(id({ idType: IdType.IPV4_ADDR_RANGE, start: '10.1.2.128', end: '10.1.3.127' })), null, 'aligned size, misaligned start');
  t.equal(idPrefix(id({ idType: IdType.IPV4_ADDR_RANGE, start: '10.1.2.255', end: '10.1.2.0' })), null, 'reversed');
  t.equal(idPrefix(id({ idType: IdType.FQDN, name: 'gw.example' })), null, 'names select no traffic');
});

t.test('prefixContains', async (t) => {
  t.ok(prefixContains(p('198.18.1.0/24'), p('198.18.1.7/32')), 'host inside');
  t.ok(prefixContains(p('198.18.1.0/24'), p('198.18.1.128/25')), 'subnet inside');
  t.ok(prefixContains(p('198.18.1.0/24'), p('198.18.1.0/24')), 'equal');
  t.ok(prefixContains(p('0.0.0.0/0'), p('203.0.113.0/24')));
  t.ok(prefixContains(p('198.18.0.0/15'), p('198.19.255.0/24')), 'non-octet boundary');
  t.notOk(prefixContains(p('198.18.0.0/15'), p('198.20.0.0/24')));
  t.notOk(prefixContains(p('198.18.1.0/24'), p('198.18.0.0/16')), 'wider');
  t.notOk(prefixContains(p('198.18.1.0/24'), p('198.18.2.7/32')), 'outside');
  t.notOk(prefixContains(p('198.18.1.128/25'), p('198.18.1.0/24')), 'partial overlap (wider, same start)');
  t.notOk(prefixContains(p('198.18.1.0/24'), p('::ffff:198.18.1.7/128')), 'v4 vs v6');
  t.notOk(prefixContains(p('::/0'), p('198.18.1.7/32')), 'v6 any does not cover v4');
  t.ok(prefixContains(p('2001:db8::/32'), p('2001:db8:5::1/128')));
  t.notOk(prefixContains(p('2001:db8::/32'), p('2001:db9::/48')));
});

t.test('matchDefaultResponse', async (t) => {
  const ours = { name: 'lan', local: '198.18.2.0/24', remote: '198.18.1.0/24', defaultResponse: true };
  const host = trafficSelector('198.18.1.7/32');
  const lan = trafficSelector('198.18.2.0/24');
  const m = matchDefaultResponse([ours], host, lan);
  t.equal(m?.tunnel, ours);
  t.equal(m && formatPrefix(m.remote), '198.18.1.7/32', 'IDci is our remote, narrowed');
  t.equal(m && formatPrefix(m.local), '198.18.2.0/24', 'IDcr is our local');
  t.equal(matchDefaultResponse([{ ...ours, defaultResponse: false }], host, lan), null, 'only with defaultResponse');
  t.equal(matchDefaultResponse([ours], lan, host), null, 'IDs the wrong way round');
  t.equal(matchDefaultResponse([ours], trafficSelector('198.18.0.0/16'), lan), null, 'wider IDci');
  t.equal(matchDefaultResponse([ours], host, trafficSelector('198.18.2.0/23')), null, 'wider IDcr');
  t.equal(matchDefaultResponse([ours], trafficSelector('198.18.1.128/25'), trafficSelector('198.18.3.0/24')), null, 'IDcr outside');
  t.equal(matchDefaultResponse([ours], trafficSelector('2001:db8::1'), lan), null, 'address family mix');
  t.equal(matchDefaultResponse([ours], trafficSelector('198.18.1.7/32', 6, 0), lan), null, 'a protocol-narrowed ID cannot be keyed by a subnet SA');
  t.equal(matchDefaultResponse([ours], host, trafficSelector('198.18.2.0/24', 0, 443)), null, 'a port-narrowed ID neither');
  const v6 = { name: 'v6', local: '2001:db8:2::/48', remote: '2001:db8:1::/48', defaultResponse: true };
  t.equal(matchDefaultResponse([ours, v6], trafficSelector('2001:db8:1:5::/64'), trafficSelector('2001:db8:2::9'))?.tunnel, v6, 'IPv6');
  const wide = { ...ours, name: 'wide', remote: '198.18.0.0/16' };
  const narrow = { ...ours, name: 'narrow', remote: '198.18.1.0/25' };
  t.equal(matchDefaultResponse([wide, narrow, ours], host, lan)?.tunnel, narrow, 'the most specific tunnel');
  t.equal(matchDefaultResponse([wide, ours], host, lan)?.tunnel, ours);
  t.equal(matchDefaultResponse([wide, narrow], trafficSelector('198.18.1.200/32'), lan)?.tunnel, wide, 'outside the narrow one: the wide one');
});
