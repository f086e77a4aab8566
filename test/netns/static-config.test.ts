// Configs the static-tunnel test gives both gateways: mirrored SAs, fresh keys
// of the right length (RFC 4106 section 8.1: GCM key + 4-octet salt).
import t from 'tap';
import { labStaticConfigs, leaksSecret } from '../lib/static-tunnel.ts';

t.test('gwA and gwB configs mirror each other', async (t) => {
  const { gwA, gwB } = labStaticConfigs('aes128gcm16');
  const a = gwA.tunnels[0];
  const b = gwB.tunnels[0];
  if (!a || !b) throw new Error('one tunnel each');
  t.same(a.out, b.in, "gwA's outbound SA is gwB's inbound SA");
  t.same(a.in, b.out, "gwA's inbound SA is gwB's outbound SA");
  t.not(a.out.spi, a.in.spi);
  t.not(a.out.encKey, a.in.encKey, 'directions use different keys');
  t.equal(a.out.encKey.length, 40, 'AES-128-GCM: 16-byte key + 4-byte salt');
  t.equal(a.out.authKey, undefined, 'no auth key for GCM');
  t.same(a.remote, { address: '198.51.100.2', port: 4500 }, 'gwA sends to gwB');
  t.same(b.remote, { address: '198.51.100.1', port: 4500 }, "gwB sends to the NAT's public address");
  t.same(a.localSubnets, b.remoteSubnets);
  t.same(a.remoteSubnets, b.localSubnets);
});

t.test('CBC suites get an HMAC key; every run gets fresh keys', async (t) => {
  const one = labStaticConfigs('aes128-sha256').gwA.tunnels[0];
  const two = labStaticConfigs('aes128-sha256').gwA.tunnels[0];
  t.equal(one?.out.encKey.length, 32, 'AES-128 key');
  t.equal(one?.out.authKey?.length, 64, 'HMAC-SHA-256 key, 32 bytes (RFC 4868)');
  t.not(one?.out.encKey, two?.out.encKey, 'keys differ between runs');
});

t.test('leaksSecret finds a key or a piece of one in output', async (t) => {
  const key = '00112233445566778899aabbccddeeff01234567';
  t.ok(leaksSecret(`key=${key}`, [key]));
  t.ok(leaksSecret(`partial 8899AABBCCDDEEFF here`, [key]), 'a 16-digit piece, any case');
  t.notOk(leaksSecret('{"rx":12,"spi":"0x00001001"}', [key]));
});
