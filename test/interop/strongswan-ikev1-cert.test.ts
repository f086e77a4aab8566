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
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON, Charon } from '../lib/strongswan.ts';
import { waitUntil } from '../lib/wait.ts';
import { Sitelinkd, sitelinkdPath, writeGatewayConfig } from '../netns/ike-sitelinkd.ts';
import { makeGatewayPki, opensslSkipReason, swanctlPubkey } from '../lib/test-pki.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl']) ?? opensslSkipReason();

/** charon reads private keys from its credential folders; load ours after start. */
async function giveKey(c: Charon, pki: string, gw: string, kind: 'rsa' | 'ec'): Promise<void> {
  copyFileSync(path.join(pki, `${gw}.key`), path.join(c.dir, kind === 'rsa' ? 'rsa' : 'ecdsa', `${gw}.key`));
  const r = await c.swanctl(['--load-creds', '--file', path.join(c.dir, 'swanctl.conf')]);
  if (r.code !== 0) throw new Error(`swanctl --load-creds: ${r.stderr}${r.stdout}`);
}

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
    execFileSync('mkdir', ['-p', pki]);
    makeGatewayPki(pki, c.kind === 'rsa' ? 2048 : 'ec');
    const sitelinkdGw = c.sitelinkdOn;
    const charonGw = sitelinkdGw === 'gwA' ? 'gwB' : 'gwA';
    const net = { gwA: LAB.subnetA, gwB: LAB.subnetB };
    const addr = { gwA: LAB.gwAWan, gwB: LAB.gwBWan };
    const seenAs = { gwA: LAB.natPublic, gwB: LAB.gwBWan };
    const kind = c.kind === 'rsa' ? ('rsa-sig' as const) : ('ecdsa-sig' as const);
    const cert = {
      kind,
      auth: sitelinkdGw === 'gwA' ? `${kind}, psk` : `psk, ${kind}`,
      certificate: path.join(pki, `${sitelinkdGw}.pem`),
      privateKey: path.join(pki, `${sitelinkdGw}.key`),
      ca: path.join(pki, 'root.pem'),
    };
    const files = writeGatewayConfig(dir, sitelinkdGw, {
      id: `${sitelinkdGw}.lab`, peerName: charonGw, remote: seenAs[charonGw], remoteId: `${charonGw}.lab`,
      local: net[sitelinkdGw], remoteNet: net[charonGw], psk: 'unused-with-certificates', start: sitelinkdGw === 'gwA' ? 'start' : 'none', cert,
    });
    let d: Sitelinkd | null = null;
    if (sitelinkdGw === 'gwB') {
      d = await Sitelinkd.start(lab.ns('gwB'), files);
    }
    const charon = await Charon.start(lab.ns(charonGw), path.join(dir, `charon-${charonGw}`), swanctlPubkey({
      localAddr: addr[charonGw], remoteAddr: charonGw === 'gwB' ? LAB.natPublic : LAB.gwBWan, self: charonGw, other: sitelinkdGw,
      localTs: net[charonGw], remoteTs: net[sitelinkdGw], pki,
    }));
    t.teardown(() => charon.stop());
    await giveKey(charon, pki, charonGw, c.kind);
    if (sitelinkdGw === 'gwA') d = await Sitelinkd.start(lab.ns('gwA'), files);
    const daemon = d!;
    t.teardown(() => daemon.stop());
    if (sitelinkdGw === 'gwB') {
      const init = await charon.initiate('lab');
      if (init.code !== 0) t.comment(`swanctl: ${init.stdout.slice(-3000)}\nsitelinkd log:\n${daemon.logText().slice(-5000)}`);
      t.equal(init.code, 0, 'swanctl --initiate succeeded against sitelinkd');
    }
    const up = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 25_000, 500);
    if (!up) t.comment(`sitelinkd log:\n${daemon.logText().slice(-6000)}\n${daemon.recentOutput()}\ncharon log:\n${charon.log().slice(-6000)}`);
    t.ok(up, 'the tunnel comes up');
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
