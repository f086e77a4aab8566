// The in-memory two-node harness is seeded (ike-exchange-harness.ts): two runs
// with the same seed put the same bytes on the wire and install the same SAs,
// for IKEv1 and IKEv2 with PSK; another seed changes them. Every random value
// (cookies, SPIs, nonces, message IDs, IVs, DH private keys, rekey jitter) comes
// from the injected source, and certificate checks read the injected wall clock.
//
// ECDSA (IKEv1 method 9) is the one exception: its signature nonce is
// OpenSSL's (ike/crypto/ecdsa-digest.ts; OpenSSL 3.0 has no RFC 6979 mode), so
// the SIG payloads differ between runs. MM5/MM6 carry them encrypted, and IKEv1
// chains the CBC IV from the previous ciphertext block (RFC 2409 Appendix B), so
// every encrypted message from MM5 on differs too. What is compared there is
// everything the signature does not reach: MM1-MM4 byte for byte, every
// datagram's length and ISAKMP header, and the installed SAs (SPIs and keys come
// from SKEYID_d and the nonces, RFC 2409 §5.5).

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import { Harness, type HarnessOptions } from './ike-exchange-harness.ts';
import { gatewaySignatureAuth, makeGatewayPki, opensslSkipReason } from '../lib/test-pki.ts';

interface Run {
  wire: Buffer[];
  installs: string[];
  failed: string[];
}

function run(version: 1 | 2, seed: string, o: HarnessOptions = {}): Run {
  const opts = { wallClockStart: new Date(Date.parse('2026-01-01T00:00:00Z')), ...o, seed };
  const h = version === 1 ? new Harness(opts) : new Harness<Ikev2Node>(opts, (env, peers, options) => new Ikev2Node(env, peers, options));
  h.bringUp();
  // Past the soft lifetime (3600 s less up to 10 % jitter): a rekey with fresh SPIs, nonces and IVs.
  for (let i = 0; i < 8; i++) h.advance(500_000);
  const installs = [...h.installs.A, ...h.installs.B].map((s) =>
    [s.direction, s.spi, s.encKey.toString('hex'), s.authKey?.toString('hex') ?? ''].join(' '),
  );
  return { wire: h.wire.map((d) => d.data), installs, failed: [...h.failed.A, ...h.failed.B] };
}

for (const version of [1, 2] as const) {
  t.test(`IKEv${version} PSK: the same seed gives byte-identical exchanges`, async (t) => {
    const one = run(version, 'replay-seed');
    const two = run(version, 'replay-seed');
    t.same(one.failed, [], 'the exchange succeeds');
    t.ok(one.installs.length >= 4, `SAs installed, and rekeyed (${one.installs.length} installs)`);
    t.ok(one.wire.length > 6, `${one.wire.length} datagrams`);
    t.equal(two.wire.length, one.wire.length, 'as many datagrams');
    t.ok(
      one.wire.every((d, i) => d.equals(two.wire[i]!)),
      'every datagram identical',
    );
    t.same(two.installs, one.installs, 'identical SAs (SPIs and keys)');
    const other = run(version, 'another-seed');
    t.notOk(other.wire[0]!.equals(one.wire[0]!), 'another seed: another first message');
    t.notSame(other.installs, one.installs, 'another seed: other SAs');
  });
}

const skip = opensslSkipReason() ?? false;

t.test('IKEv1 ECDSA: identical except what the signature reaches', { skip }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sitelink-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  makeGatewayPki(dir, 'ec');
  // The certificates are valid from now on: start the calendar clock an hour later, the same for both runs.
  const wallClockStart = new Date(Date.now() + 3600e3);
  const o = (): HarnessOptions => ({
    wallClockStart,
    peerA: { psk: null, signature: gatewaySignatureAuth(dir, 'gwA', 9) },
    peerB: { psk: null, signature: gatewaySignatureAuth(dir, 'gwB', 9) },
  });
  const one = run(1, 'ecdsa-seed', o());
  const two = run(1, 'ecdsa-seed', o());
  t.same(one.failed, [], 'the exchange succeeds');
  t.equal(two.wire.length, one.wire.length, 'as many datagrams');
  for (let i = 0; i < 4; i++) t.ok(one.wire[i]!.equals(two.wire[i]!), `MM${i + 1} identical (before any signature)`);
  t.ok(
    one.wire.every((d, i) => d.length === two.wire[i]!.length && d.subarray(0, 28).equals(two.wire[i]!.subarray(0, 28))),
    'every datagram: same length and ISAKMP header (cookies, message ID)',
  );
  t.notOk(one.wire[4]!.equals(two.wire[4]!), 'MM5 differs: it carries the ECDSA signature, whose nonce is OpenSSL\'s');
  t.same(two.installs, one.installs, 'identical SAs (SPIs and keys)');
});
