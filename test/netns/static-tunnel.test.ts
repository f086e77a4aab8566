// The static-key tunnel (dist/sitelink-static.mjs) across the NAT of the netns
// lab: pings both ways and a TCP transfer through ESP-in-UDP (RFC 3948), no
// cleartext LAN packet on the NAT, and with the tunnel stopped nothing passes.
// UDP_SEGMENT trains (one send, many datagrams) arrive whole and intact: on
// Linux 6.2+ gwA's TUN hands them to the engine as super packets (USO) that
// it cuts (uso.c), and gwB may write decrypted datagrams back as trains (GRO).
// Required: when the tool is not built this test fails, it does not skip.
import t from 'tap';
import { existsSync } from 'node:fs';
import { Lab, LAB, uniquePrefix } from '../lib/lab.ts';
import { staticTool } from '../lib/paths.ts';
import { labSkipReason } from '../lib/root.ts';
import { tcpTransfer } from '../lib/iperf.ts';
import { leaksSecret, startStaticPair } from '../lib/static-tunnel.ts';
import { udpGsoTrains } from '../lib/udp.ts';
import { release } from 'node:os';
import type { StaticAlgorithm } from '../lib/static-tunnel.ts';

const skip = labSkipReason(['/usr/bin/iperf3']);
const suites: StaticAlgorithm[] = ['aes128gcm16', 'aes128-sha256'];

/** TUN USO (TUN_F_USO4/6) exists from Linux 6.2 on. */
const [kmaj = 0, kmin = 0] = release().split('.').map(Number);
const kernelHasTunUso = kmaj > 6 || (kmaj === 6 && kmin >= 2);

/** One worker counter from a sitelink-static counters line. */
function counter(line: Record<string, unknown>, key: string): number {
  const c = line['counters'];
  return typeof c === 'object' && c !== null ? Number((c as Record<string, unknown>)[key] ?? 0) : 0;
}

t.test('static tunnel tool is built', { skip: skip ?? false }, async (t) => {
  t.ok(existsSync(staticTool), `${staticTool} must exist (npm run build builds firmware/src/static/sitelink-static.ts)`);
});

for (const alg of suites) {
  t.test(`static tunnel ${alg}: gwA behind NAT <-> gwB`, { skip: skip ?? false }, async (t) => {
    if (!existsSync(staticTool)) {
      t.fail(`cannot run: ${staticTool} is not built (npm run build)`);
      return;
    }
    const lab = new Lab(uniquePrefix('st'));
    t.teardown(() => lab.down());
    await lab.up();

    const pair = await startStaticPair(lab, alg);
    t.teardown(() => pair.stop());

    t.ok(await lab.ping('lanA', LAB.lanB, 5), 'lanA pings lanB through the tunnel');
    t.ok(await lab.ping('lanB', LAB.lanA, 5), 'lanB pings lanA through the tunnel');

    const xfer = await tcpTransfer(lab, 'lanA', 'lanB', LAB.lanB, 2);
    t.ok(xfer.bytesReceived > 100_000, `TCP lanA->lanB moved ${xfer.bytesReceived} bytes through the tunnel`);
    t.comment(`${alg}: ${(xfer.bitsPerSecond / 1e6).toFixed(0)} Mbit/s, ${xfer.retransmits} retransmits (informational)`);

    // 6 trains of 20 datagrams of 1200 bytes (below the tunnel MTU).
    const a0 = await pair.gwA.counters();
    const b0 = await pair.gwB.counters();
    const gso = await udpGsoTrains(lab, 'lanA', 'lanB', LAB.lanB, 5300, 6, 20, 1200);
    const a1 = await pair.gwA.counters();
    const b1 = await pair.gwB.counters();
    t.equal(gso.got, 120, 'every datagram of the UDP_SEGMENT trains arrived');
    t.equal(gso.bad, 0, 'each with its own size and content, none twice');
    const d = (x0: Record<string, unknown>, x1: Record<string, unknown>, k: string): number => counter(x1, k) - counter(x0, k);
    const reads = d(a0, a1, 'sysTunRead'), inPkts = d(a0, a1, 'tunRxPackets');
    const writes = d(b0, b1, 'sysTunWrite'), outPkts = d(b0, b1, 'tunTxPackets');
    t.comment(`UDP trains: gwA ${inPkts} packets from ${reads} TUN reads; gwB ${outPkts} packets in ${writes} TUN writes`);
    if (kernelHasTunUso)
      t.ok(inPkts >= 120 && reads < inPkts, 'gwA read the trains from its TUN as super packets (USO) and cut them');
    else
      t.comment(`SKIP: kernel ${release()} has no TUN USO (6.2+): datagrams come one per read`);

    const c = await lab.counters();
    t.equal(c.leak?.packets, 0, 'no cleartext LAN-to-LAN packet reached the NAT');
    t.ok(c.espudp.packets > 100, `ESP-in-UDP on port 4500 crossed the NAT (${c.espudp.packets} packets)`);
    t.ok(c.espudp.bytes > xfer.bytesReceived, 'the whole TCP transfer crossed the NAT inside UDP 4500 (more bytes than it carried)');
    t.equal(c.rawesp.packets, 0, 'no raw ESP (encap is udp)');

    for (const [side, tun] of [['gwA', pair.gwA], ['gwB', pair.gwB]] as const) {
      const counters = await tun.counters();
      t.comment(`${side} counters: ${JSON.stringify(counters)}`);
      t.notOk(leaksSecret(JSON.stringify(counters), pair.secrets), `${side} counters line carries no key material`);
    }
    t.notOk(leaksSecret(pair.gwA.recentOutput() + pair.gwB.recentOutput(), pair.secrets), 'tool output carries no key material');

    await pair.stop();
    t.notOk(pair.gwA.running || pair.gwB.running, 'both tools exited on SIGTERM');
    const before = (await lab.counters()).leak?.packets ?? 0;
    t.notOk(await lab.ping('lanA', LAB.lanB, 2), 'with the tunnel stopped lanA cannot reach lanB');
    const after = (await lab.counters()).leak?.packets ?? 0;
    t.ok(after > before, `the NAT's leak guard dropped the cleartext pings (${after - before} packets)`);
  });
}
