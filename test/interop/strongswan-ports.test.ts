// Interop: a tunnel for one service only. sitelinkd's negotiate filter names TCP
// port 5201 on the far side; the quick mode client IDs carry protocol and port
// (RFC 2407 §4.6.2) and charon is configured with the same traffic selectors
// (198.18.2.0/24[tcp/5201]). TCP to that port crosses the tunnel and never leaves in
// clear. ICMP to the same hosts is covered by no rule, so as in the seeds' model (the
// most specific filter decides; issue 17) it is not routed into the tunnel: it follows
// the main table and leaves in clear, where the lab's NAT drops and counts it.
import t from 'tap';
import { LAB } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON } from '../lib/strongswan.ts';
import { charonPairForTest } from '../lib/strongswan-pair.ts';
import { tcpTransfer } from '../lib/iperf.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl', '/usr/bin/iperf3']);

t.test('sitelinkd negotiates a TCP/5201-only tunnel with strongSwan', { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 'spt', {
    sitelinkdOn: 'gwA',
    charon: { localTs: `${LAB.subnetB}[tcp/5201]`, remoteTs: `${LAB.subnetA}[tcp]` },
    sitelinkd: { filter: { protocol: 'tcp', destinationPorts: '5201' } },
    waitMs: 0,
  });
  if (!pair) return;
  const { lab, p } = pair;
  const { charon, daemon: d } = p;
  const up = await waitUntil(async () => (await controlRequest(d.files.socket, 'sas')).quickMode.length === 1, 25_000, 250);
  if (!up) t.comment(`sitelinkd log:\n${d.logText().slice(-5000)}\ncharon log:\n${charon.log().slice(-5000)}`);
  t.ok(up, 'the IPsec SA pair is up');
  const sas = await controlRequest(d.files.socket, 'sas');
  t.same(sas.quickMode[0]?.remoteTs, [`${LAB.subnetB}[tcp/5201]`], 'sitelinkctl sas shows the port selector');
  t.match(await charon.listSas(), /198\.18\.2\.0\/24\[tcp\/5201\]/, 'charon installed the same selector');

  const x = await tcpTransfer(lab, 'lanA', 'lanB', LAB.lanB, 2);
  t.ok(x.bytesReceived > 0, `TCP to port 5201 crossed the tunnel (${x.bytesReceived} bytes)`);
  const leakBefore = (await lab.counters()).leak?.packets ?? 0;
  t.equal(leakBefore, 0, 'the TCP/5201 traffic never crossed the NAT in clear');
  const outBefore = (await controlRequest(d.files.socket, 'sas')).quickMode[0]?.packetsOut;
  t.notOk(await lab.ping('lanA', LAB.lanB, 2), 'ICMP to the same host is not carried by the tunnel');
  t.equal((await controlRequest(d.files.socket, 'sas')).quickMode[0]?.packetsOut, outBefore, 'the SA sent nothing for it');
  t.ok(((await lab.counters()).leak?.packets ?? 0) > leakBefore, 'it left in clear (no rule covers it) and the NAT dropped it');
});
