// Interop with strongSwan charon using IKEv1 fragmentation (the Cisco/strongSwan
// proprietary extension, firmware/src/ike/wire/fragment.ts). RSA certificates
// with 4096-bit keys make MM5 and MM6 about 2 KB, more than the 1500-byte MTU
// of the lab links, and the NAT drops every IP fragment (an nftables rule
// ahead of conntrack's defragmentation), as a PPPoE or carrier NAT that loses
// fragments does. charon runs with `fragmentation = force`. Both directions:
// the tunnel must carry traffic, IKE fragments must have crossed both ways
// (sitelinkd's log and charon's), and not one IP fragment may have reached the
// NAT. A control with charon's fragmentation = no shows the path really breaks
// an unfragmented exchange.
import t from 'tap';
import type * as Tap from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Lab, LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON } from '../lib/strongswan.ts';
import { charonPair, checkInitiated, checkUp, type CharonPair } from '../lib/strongswan-pair.ts';
import { sitelinkdPath } from '../netns/ike-sitelinkd.ts';
import { gatewayCert, giveCharonKey, makeGatewayPki, opensslSkipReason, swanctlPubkey } from '../lib/test-pki.ts';
import { dropNatFragments, natFragmentsDropped } from '../lib/nat-fragments.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl']) ?? opensslSkipReason();

async function setUp(
  t: Tap.Test,
  sitelinkdGw: 'gwA' | 'gwB',
  fragmentation: 'force' | 'no',
  ours: boolean | undefined,
  waitMs: number,
): Promise<{ lab: Lab; pair: CharonPair }> {
  const { lab, dir } = await labForTest(t, 'ssf');
  const pki = path.join(dir, 'pki');
  makeGatewayPki(pki, 4096);
  const nft = await dropNatFragments(lab);
  t.equal(nft.code, 0, `the NAT drops IP fragments ${nft.stderr}`);
  const charonGw = sitelinkdGw === 'gwA' ? 'gwB' : 'gwA';
  const cert = gatewayCert(pki, sitelinkdGw, 'rsa-sig', 'rsa-sig');
  const pair = await charonPair(lab, dir, {
    sitelinkdOn: sitelinkdGw,
    sitelinkd: { psk: 'unused-with-certificates', cert, fragmentation: ours },
    charon: (side) => swanctlPubkey({ ...side, pki, fragmentation }),
    charonReady: async (charon) => {
      const creds = await giveCharonKey(charon, pki, charonGw, 'rsa');
      t.equal(creds.code, 0, `charon loaded its key ${creds.stderr}`);
    },
    waitMs,
  });
  t.teardown(() => pair.stop());
  return { lab, pair };
}

for (const sitelinkdGw of ['gwA', 'gwB'] as const) {
  const title =
    sitelinkdGw === 'gwA'
      ? 'sitelinkd (gwA) initiates to strongSwan (gwB), fragmented MM5/MM6'
      : 'strongSwan (gwA) initiates to sitelinkd (gwB), fragmented MM5/MM6';
  t.test(title, { skip: skip ?? false }, async (t) => {
    if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
    const { lab, pair } = await setUp(t, sitelinkdGw, 'force', undefined, 30_000);
    const { charon, daemon } = pair;
    if (sitelinkdGw === 'gwB') {
      checkInitiated(t, pair, 'swanctl --initiate succeeded against sitelinkd');
    }
    checkUp(t, pair);
    t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA (3/3)');
    t.match(await charon.listSas(), /ESTABLISHED/, 'charon lists an established ISAKMP SA');

    const log = daemon.logText();
    const sent = [...log.matchAll(/sending (\d+)-byte message as (\d+) fragments/g)];
    const got = [...log.matchAll(/reassembled (\d+) fragments into a (\d+)-byte message/g)];
    t.comment(
      `sitelinkd sent ${sent.map((m) => `${m[1]} bytes in ${m[2]}`).join(', ')}; ` +
        `reassembled ${got.map((m) => `${m[2]} bytes from ${m[1]}`).join(', ')}`,
    );
    t.ok(sent.length >= 1 && sent.every((m) => Number(m[2]) >= 2), `sitelinkd sent its ${sitelinkdGw === 'gwA' ? 'MM5' : 'MM6'} as fragments`);
    t.ok(
      got.length >= 1 && got.every((m) => Number(m[1]) >= 2 && Number(m[2]) > 1500),
      `sitelinkd reassembled charon's ${sitelinkdGw === 'gwA' ? 'MM6' : 'MM5'} (over 1500 bytes)`,
    );
    const clog = charon.log();
    t.match(clog, /splitting IKE message \(\d+ bytes\) into \d+ fragments/, 'charon fragmented its message');
    t.match(clog, /reassembled fragmented IKE message/, "charon reassembled sitelinkd's fragments");
    t.match(clog, /authentication of '\S+\.lab' with RSA\S* successful/, "charon verified sitelinkd's RSA signature");
    t.equal(await natFragmentsDropped(lab), 0, 'no IP fragment reached the NAT: the IKE fragments did the job');
    const n = await lab.counters();
    t.equal(n.leak?.packets, 0, 'no cleartext LAN packet crossed the NAT');
  });
}

// The control: the same path with charon not doing fragmentation (it then does not
// answer our vendor ID, so neither side fragments). The 2 KB MM5 is split into IP
// fragments by the kernel, the NAT drops them, and main mode never completes.
t.test('control: charon with fragmentation = no cannot come up over this path', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, pair } = await setUp(t, 'gwA', 'no', undefined, 12_000);
  t.notOk(pair.up, 'no tunnel');
  t.notMatch(pair.daemon.logText(), /as \d+ fragments/, 'sitelinkd did not fragment: the peer did not announce it');
  t.ok((await natFragmentsDropped(lab)) > 0, 'the NAT dropped IP fragments of the large MM5');
});

// The same path with charon forcing fragmentation but sitelinkd configured with
// gateway fragmentation = no: sitelinkd announces nothing and sends its large MM5
// whole, so the kernel fragments it at IP level and the NAT drops those.
t.test('control: sitelinkd with gateway fragmentation = no does not fragment', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, pair } = await setUp(t, 'gwA', 'force', false, 12_000);
  t.notOk(pair.up, 'no tunnel');
  t.notMatch(pair.daemon.logText(), /as \d+ fragments/, 'sitelinkd sent no IKE fragments');
  t.ok((await natFragmentsDropped(lab)) > 0, 'the NAT dropped IP fragments of the large MM5');
});
