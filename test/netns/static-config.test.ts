// Configs the static-tunnel test gives both gateways: mirrored SAs, fresh keys
// of the right length (RFC 4106 section 8.1: GCM key + 4-octet salt).
import t from 'tap';
import { labStaticConfigs } from '../lib/static-tunnel.ts';

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
