// IPv6 end to end, sitelinkd <-> sitelinkd in one netns lab with both families
// (scripts/lab/netns v6): the namespaces come up once and three tunnels run in
// turn, each with a fresh pair of daemons:
//
//   v6-in-v4  IKEv2, gateways over IPv4 across the NAT (ESP-in-UDP, RFC 3948),
//             IPv6 LANs inside (ESP next header 41, RFC 4303 §2.6; IKEv2
//             TS_IPV6_ADDR_RANGE, RFC 7296 §3.13.1); an IPv6 packet over the
//             TUN MTU gets a Packet Too Big (RFC 8201) from gwA
//   v4-in-v6  IKEv2, gateways over IPv6 (no NAT, so raw ESP: IP protocol 50 over
//             IPv6), IPv4 LANs inside; NAT-D hashes over IPv6 addresses; the
//             gateways' IPv6 addresses are their identities (ID_IPV6_ADDR)
//   v6-in-v6  IKEv1 over IPv6 with nat-traversal = force (IKE on 4500 and
//             ESP-in-UDP over IPv6), IPv6 LANs: quick mode IDs
//             ID_IPV6_ADDR_SUBNET (RFC 2407 §4.6.2)
//   charon    v6-in-v6 against strongSwan's charon (kernel-libipsec) on gwB,
//             IKEv2 with ESP-in-UDP over IPv6 (skipped when charon is missing)
//
// Each case pings both ways through the tunnel, checks the NAT's counters (the
// outer family and encapsulation it expects, and no cleartext LAN packet of
// either family: the leak guards drop and count them) and what sitelinkctl sas
// says about encapsulation and the peer's address.
import t, { type Test } from 'tap';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { LAB, LAB6, labForTest, type Counter, type Lab, type LabCounters } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { CHARON } from '../lib/strongswan.ts';
import { charonPair } from '../lib/strongswan-pair.ts';
import { sitelinkdPath, labGatewayPair, startLabPair, type GatewayConfig } from './ike-sitelinkd.ts';

const skip = labSkipReason();
const noCharon = labSkipReason([CHARON, '/usr/sbin/swanctl']);

interface Case {
  name: string;
  a: Partial<GatewayConfig>;
  b: Partial<GatewayConfig>;
  /** The LAN addresses pinged (lanA's to lanB's and back). */
  lanA: string;
  lanB: string;
  /** Where the ESP packets must show on the NAT. */
  outer: (c: LabCounters) => Counter | undefined;
  encap: 'udp' | 'none';
  /** gwB's view of gwA's address in `sas` (IKE SA remote, without the port). */
  gwASeenAs: string;
  /** Check the TUN MTU (1400) towards lanA's IPv6 host: Packet Too Big above it, through below. */
  mtu?: boolean;
}

const v6Lans = { a: { local: LAB6.subnetA, remoteNet: LAB6.subnetB }, b: { local: LAB6.subnetB, remoteNet: LAB6.subnetA } };
const v6Gateways = { a: { remote: LAB6.gwBWan }, b: { remote: LAB6.gwAWan } };

const CASES: Case[] = [
  {
    name: 'v6-in-v4 (IKEv2, across the NAT, ESP-in-UDP over IPv4)',
    a: { version: 2, ...v6Lans.a },
    b: { version: 2, ...v6Lans.b },
    lanA: LAB6.lanA,
    lanB: LAB6.lanB,
    outer: (c) => c.espudp,
    encap: 'udp',
    gwASeenAs: LAB.natPublic,
    mtu: true,
  },
  {
    name: 'v4-in-v6 (IKEv2, raw ESP over IPv6, ID_IPV6_ADDR identities)',
    // The gateways' IPv6 addresses as their identities (RFC 7296 §3.5 ID_IPV6_ADDR).
    a: { version: 2, ...v6Gateways.a, id: LAB6.gwAWan, remoteId: LAB6.gwBWan },
    b: { version: 2, ...v6Gateways.b, id: LAB6.gwBWan, remoteId: LAB6.gwAWan },
    lanA: LAB.lanA,
    lanB: LAB.lanB,
    outer: (c) => c.v6?.rawesp,
    encap: 'none',
    gwASeenAs: `[${LAB6.gwAWan}]`,
  },
  {
    name: 'v6-in-v6 (IKEv1, nat-traversal = force: ESP-in-UDP over IPv6)',
    a: { ...v6Gateways.a, ...v6Lans.a, peerLines: ['nat-traversal = force'] },
    b: { ...v6Gateways.b, ...v6Lans.b, peerLines: ['nat-traversal = force'] },
    lanA: LAB6.lanA,
    lanB: LAB6.lanB,
    outer: (c) => c.v6?.espudp,
    encap: 'udp',
    gwASeenAs: `[${LAB6.gwAWan}]`,
  },
];

async function runCase(t: Test, lab: Lab, dir: string, c: Case, index: number): Promise<void> {
  const caseDir = path.join(dir, `case${index}`);
  mkdirSync(caseDir, { recursive: true });
  const psk = `lab-psk-${Math.random().toString(36).slice(2)}`;
  // Both daemons stop at the end of this case (teardown), before the next one starts.
  const { a, b } = await startLabPair(t, lab, labGatewayPair(caseDir, psk, { a: c.a, b: c.b }));
  const before = await lab.counters();
  const up = await waitUntil(() => lab.ping('lanA', c.lanB, 1), 20_000, 300);
  if (!up) t.comment(`gwA log:\n${a.logText()}\ngwB log:\n${b.logText()}\n${a.recentOutput()}\n${b.recentOutput()}`);
  t.ok(up, 'lanA reaches lanB once the tunnel is up');
  t.ok(await lab.ping('lanA', c.lanB, 3), `lanA pings ${c.lanB} through the tunnel (3/3)`);
  t.ok(await lab.ping('lanB', c.lanA, 3), `lanB pings ${c.lanA} through the tunnel (3/3)`);
  const after = await lab.counters();
  t.equal(after.leak?.packets, 0, 'no cleartext IPv4 LAN packet reached the NAT');
  t.equal(after.v6?.leak?.packets, 0, 'no cleartext IPv6 LAN packet reached the NAT');
  const outerBefore = c.outer(before)?.packets ?? 0;
  const outerAfter = c.outer(after)?.packets ?? 0;
  t.ok(outerAfter - outerBefore >= 12, `the ESP packets crossed the NAT as expected (${outerAfter - outerBefore})`);
  if (c.mtu) {
    // 1452 + 48 = 1500 bytes: fits lanA's link, not gwA's TUN (1400). gwA answers Packet
    // Too Big (its own ICMPv6, exempt from the filters) and lanA's ping reports the MTU.
    const big = await lab.exec('lanA', 'ping', ['-6', '-n', '-c', '2', '-i', '0.3', '-W', '1', '-s', '1452', '-M', 'do', c.lanB]);
    t.match(big.stdout + big.stderr, /mtu[=:]? ?1400/i, 'a 1500-byte IPv6 packet gets Packet Too Big with the TUN MTU');
    const fits = await lab.exec('lanA', 'ping', ['-6', '-n', '-q', '-c', '2', '-i', '0.3', '-W', '1', '-s', '1300', '-M', 'do', c.lanB]);
    t.match(fits.stdout, /\b2 received/, 'a 1348-byte IPv6 packet crosses the tunnel unfragmented');
  }
  const sas = await controlRequest(b.files.socket, 'sas');
  t.equal(sas.quickMode.length, 1, 'gwB has one SA pair');
  t.equal(sas.quickMode[0]?.encap, c.encap, `encapsulation ${c.encap}`);
  t.ok(BigInt(sas.quickMode[0]?.packetsIn ?? '0') >= 6n, 'the SA pair carried the pings');
  t.ok((sas.mainMode[0]?.remote ?? '').startsWith(`${c.gwASeenAs}:`), `gwB's IKE SA is with ${c.gwASeenAs} (${sas.mainMode[0]?.remote})`);
  t.notOk((a.logText() + b.logText()).includes(psk), 'the PSK appears in no log');
}

t.test('IPv6: v6-in-v4, v4-in-v6, v6-in-v6 between two sitelinkd', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'v6');
  await lab.v6();
  // The lab itself: IPv6 is routed end to end, and the leak guard stops cleartext LAN traffic.
  // (The first exchange waits for neighbour discovery on each link.)
  t.ok(await waitUntil(() => lab.ping('gwA', LAB6.gwBWan, 1), 5000, 100), 'gwA reaches gwB over IPv6 (no NAT)');
  t.notOk(await lab.ping('lanA', LAB6.lanB, 1), 'without a tunnel lanA does not reach lanB over IPv6');
  t.ok(((await lab.counters()).v6?.leak?.packets ?? 0) > 0, 'the IPv6 leak guard counted that cleartext attempt');
  await lab.leakguard(true); // fresh guards: counters back to zero
  for (const [i, c] of CASES.entries()) await t.test(c.name, (t) => runCase(t, lab, dir, c, i));
  await t.test('v6-in-v6 against strongSwan charon on gwB (IKEv2, ESP-in-UDP over IPv6)', { skip: noCharon ?? false }, async (t) => {
    // The shared sitelinkd + charon set-up, moved to the IPv6 addresses and subnets.
    const pair = await charonPair(lab, dir, {
      sitelinkdOn: 'gwA',
      version: 2,
      name: 'v6charon',
      waitMs: 0, // it would wait for IPv4 traffic; the IPv6 wait is below
      charon: { localAddr: LAB6.gwBWan, remoteAddr: LAB6.gwAWan, localTs: LAB6.subnetB, remoteTs: LAB6.subnetA },
      sitelinkd: { remote: LAB6.gwBWan, local: LAB6.subnetA, remoteNet: LAB6.subnetB },
    });
    t.teardown(() => pair.stop());
    const charon = pair.charon;
    const before = await lab.counters();
    const up = await waitUntil(() => lab.ping('lanA', LAB6.lanB, 1), 25_000, 300);
    if (!up) t.comment(pair.logs());
    t.ok(up, 'the tunnel comes up');
    t.ok(await lab.ping('lanA', LAB6.lanB, 3), 'lanA pings lanB over IPv6 (3/3)');
    t.ok(await lab.ping('lanB', LAB6.lanA, 3), 'lanB pings lanA over IPv6 (3/3)');
    const sas = await charon.listSas();
    t.match(sas, /ESTABLISHED, IKEv2/, 'charon lists an established IKEv2 SA');
    t.match(sas, /2001:db8:f0::2/, "with gwA's IPv6 address");
    t.match(sas, /INSTALLED, TUNNEL-in-UDP/, 'and a UDP-encapsulated tunnel-mode child SA');
    const after = await lab.counters();
    t.equal(after.v6?.leak?.packets, 0, 'no cleartext IPv6 LAN packet reached the NAT');
    const esp = (after.v6?.espudp.packets ?? 0) - (before.v6?.espudp.packets ?? 0);
    t.ok(esp >= 12, `ESP-in-UDP over IPv6 crossed the NAT (${esp} packets)`);
  });
});
