// Interop: a tunnel for one service only. sitelinkd's negotiate filter names TCP
// port 5201 on the far side; the quick mode client IDs carry protocol and port
// (RFC 2407 §4.6.2) and charon is configured with the same traffic selectors
// (198.18.2.0/24[tcp/5201]). TCP to that port crosses the tunnel; ICMP to the same
// hosts has no SA and is dropped by the engine, never sent in clear.
import t from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON, Charon, charonPskBasics, randomPskHex, swanctlConf } from '../lib/strongswan.ts';
import { tcpTransfer } from '../lib/iperf.ts';
import { waitUntil } from '../lib/wait.ts';
import { Sitelinkd, sitelinkdPath, writeGatewayConfig } from '../netns/ike-sitelinkd.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl', '/usr/bin/iperf3']);

t.test('sitelinkd negotiates a TCP/5201-only tunnel with strongSwan', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'spt');
  const psk = randomPskHex();
  const charon = await Charon.start(lab.ns('gwB'), path.join(dir, 'charon-gwB'), swanctlConf({
    ...charonPskBasics(psk),
    localAddr: LAB.gwBWan, remoteAddr: LAB.natPublic, localId: 'gwB.lab', remoteId: 'gwA.lab',
    localTs: `${LAB.subnetB}[tcp/5201]`, remoteTs: `${LAB.subnetA}[tcp]`,
  }));
  t.teardown(() => charon.stop());
  const files = writeGatewayConfig(dir, 'gwA', {
    id: 'gwA.lab', peerName: 'gwB', remote: LAB.gwBWan, remoteId: 'gwB.lab', local: LAB.subnetA, remoteNet: LAB.subnetB,
    psk: `0x${psk}`, start: 'start', filter: { protocol: 'tcp', destinationPorts: '5201' },
  });
  const d = await Sitelinkd.start(lab.ns('gwA'), files);
  t.teardown(() => d.stop());
  const up = await waitUntil(async () => (await controlRequest(d.files.socket, 'sas')).quickMode.length === 1, 25_000, 250);
  if (!up) t.comment(`sitelinkd log:\n${d.logText().slice(-5000)}\ncharon log:\n${charon.log().slice(-5000)}`);
  t.ok(up, 'the IPsec SA pair is up');
  const sas = await controlRequest(d.files.socket, 'sas');
  t.same(sas.quickMode[0]?.remoteTs, [`${LAB.subnetB}[tcp/5201]`], 'sitelinkctl sas shows the port selector');
  t.match(await charon.listSas(), /198\.18\.2\.0\/24\[tcp\/5201\]/, 'charon installed the same selector');

  const x = await tcpTransfer(lab, 'lanA', 'lanB', LAB.lanB, 2);
  t.ok(x.bytesReceived > 0, `TCP to port 5201 crossed the tunnel (${x.bytesReceived} bytes)`);
  t.notOk(await lab.ping('lanA', LAB.lanB, 2), 'ICMP to the same host is not carried: no SA for it');
  const c = await controlRequest(d.files.socket, 'counters');
  t.ok(BigInt(c.esp.drops.noSa) > 0n, `the engine dropped the ICMP as no SA (${c.esp.drops.noSa})`);
  t.equal((await lab.counters()).leak?.packets, 0, 'nothing crossed the NAT in clear');
});
