// Interop with strongSwan charon using certificates (IKEv1 main mode,
// RFC 2409 §5.1 RSA signatures and RFC 4754 ECDSA P-256), PKI made with the
// openssl tool: sitelinkd initiates with RSA, charon initiates with ECDSA;
// traffic must flow through the NAT both times. sitelinkd lists two methods:
// as initiator `auth = <sig>, psk`, so it offers signature AND PSK transforms
// and charon (pubkey only) must accept that offer; as responder
// `auth = psk, <sig>`, and it must pick the signature method from charon's
// offer although psk comes first. (charon as IKEv1 responder takes the auth
// method from the first transforms only: offered `psk, rsa-sig` it picks PSK
// and then fails for want of a key, so the first method must be its own.)
import t from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON } from '../lib/strongswan.ts';
import { charonPair, checkInitiated, checkUp } from '../lib/strongswan-pair.ts';
import { sitelinkdPath } from '../netns/ike-sitelinkd.ts';
import { gatewayCert, giveCharonKey, makeGatewayPki, opensslSkipReason, swanctlPubkey } from '../lib/test-pki.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl']) ?? opensslSkipReason();

for (const c of [
  { kind: 'rsa' as const, sitelinkdOn: 'gwA' as const },
  { kind: 'ec' as const, sitelinkdOn: 'gwB' as const },
]) {
  const title =
    c.sitelinkdOn === 'gwA'
      ? `sitelinkd (gwA) initiates to strongSwan (gwB), ${c.kind.toUpperCase()} certificates`
      : `strongSwan (gwA) initiates to sitelinkd (gwB), ${c.kind.toUpperCase()} certificates`;
  t.test(title, { skip: skip ?? false }, async (t) => {
    if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
    const { lab, dir } = await labForTest(t, 'ssc');
    const pki = path.join(dir, 'pki');
    makeGatewayPki(pki, c.kind === 'rsa' ? 2048 : 'ec');
    const sitelinkdGw = c.sitelinkdOn;
    const charonGw = sitelinkdGw === 'gwA' ? 'gwB' : 'gwA';
    const kind = c.kind === 'rsa' ? ('rsa-sig' as const) : ('ecdsa-sig' as const);
    const cert = gatewayCert(pki, sitelinkdGw, kind, sitelinkdGw === 'gwA' ? `${kind}, psk` : `psk, ${kind}`);
    const p = await charonPair(lab, dir, {
      sitelinkdOn: sitelinkdGw,
      sitelinkd: { psk: 'unused-with-certificates', cert },
      charon: (side) => swanctlPubkey({ ...side, pki }),
      charonReady: async (charon) => {
        const r = await giveCharonKey(charon, pki, charonGw, c.kind);
        if (r.code !== 0) throw new Error(`swanctl --load-creds: ${r.stderr}${r.stdout}`);
      },
    });
    t.teardown(() => p.stop());
    const { charon, daemon } = p;
    if (sitelinkdGw === 'gwB') {
      checkInitiated(t, p, 'swanctl --initiate succeeded against sitelinkd');
    }
    checkUp(t, p);
    t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA (3/3)');
    const sas = await charon.listSas();
    t.match(sas, /ESTABLISHED/, 'charon lists an established ISAKMP SA');
    t.match(sas, /INSTALLED, TUNNEL-in-UDP/, 'with a UDP-encapsulated IPsec SA');
    t.match(daemon.logText(), new RegExp(`auth ${kind}`), `sitelinkd negotiated ${kind} with two methods configured`);
    t.match(
      charon.log(),
      new RegExp(`authentication of '${sitelinkdGw}\\.lab' with ${c.kind === 'rsa' ? 'RSA' : 'ECDSA'}\\S* successful`),
      `charon verified sitelinkd's ${c.kind.toUpperCase()} signature`,
    );
    const n = await lab.counters();
    t.equal(n.leak?.packets, 0, 'no cleartext LAN packet crossed the NAT');
  });
}
