// Negotiate filters with a protocol and ports: the quick mode client IDs carry them
// (RFC 2407 §4.6.2: protocol and one port per ID, 0 = any), the responder accepts
// only the same, and the outbound SA's selector in the engine has them too.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfigFile } from '../../firmware/src/config/load.ts';
import { peerPolicies } from '../../firmware/src/daemon/policy-from-config.ts';
import { saSpecOf } from '../../firmware/src/daemon/sa-spec.ts';
import { writeGatewayConfig } from '../netns/ike-sitelinkd.ts';
import { Harness } from './ike-exchange-harness.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'sitelink-ike-ports-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function tunnelsFor(name: string, filter: { protocol: string; sourcePorts?: string; destinationPorts?: string }) {
  const files = writeGatewayConfig(dir, name, {
    id: 'gwA.lab',
    peerName: 'gwB',
    remote: '198.51.100.2',
    remoteId: 'gwB.lab',
    local: '198.18.1.0/24',
    remoteNet: '198.18.2.0/24',
    psk: 'p',
    start: 'start',
    filter,
  });
  const r = loadConfigFile(files.config);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return peerPolicies(r.config, () => '100.64.0.2');
}

t.test('config: protocol and single ports become the tunnel ports; ranges fall back to the protocol', async (t) => {
  const one = tunnelsFor('p1', { protocol: 'tcp', destinationPorts: '5201' });
  t.same(one.problems, []);
  t.same(one.peers[0]!.tunnels.map((x) => x.ports), [{ protocol: 6, localPort: 0, remotePort: 5201 }]);
  const two = tunnelsFor('p2', { protocol: 'tcp', destinationPorts: '25, 587' });
  t.same(two.peers[0]!.tunnels.map((x) => [x.name, x.ports?.remotePort]), [['site#1', 25], ['site#2', 587]], 'one tunnel per port');
  const proto = tunnelsFor('p3', { protocol: 'gre' });
  t.same(proto.peers[0]!.tunnels[0]!.ports, { protocol: 47, localPort: 0, remotePort: 0 }, 'a protocol alone');
  const range = tunnelsFor('p4', { protocol: 'udp', destinationPorts: '5000-5010' });
  t.match(range.problems[0]?.message, /a port range cannot be negotiated in IKEv1/);
  t.same(range.peers[0]!.tunnels[0]!.ports, { protocol: 17, localPort: 0, remotePort: 0 }, 'the range is negotiated as the whole protocol');
});

t.test('matching protocol and ports: the pair is installed with them, the engine selector too', async (t) => {
  const h = new Harness({
    tunnelA: { ports: { protocol: 6, localPort: 0, remotePort: 5201 } },
    tunnelB: { ports: { protocol: 6, localPort: 5201, remotePort: 0 } },
  });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  const aOut = h.installs.A.find((s) => s.direction === 'out')!;
  t.same(aOut.ports, { protocol: 6, localPort: 0, remotePort: 5201 });
  t.same(saSpecOf(aOut, 'openssl').selectors, [{ local: '198.18.1.0/24', remote: '198.18.2.0/24', protocol: 6, remotePorts: [5201, 5201] }]);
  const bOut = h.installs.B.find((s) => s.direction === 'out')!;
  t.same(saSpecOf(bOut, 'openssl').selectors, [{ local: '198.18.2.0/24', remote: '198.18.1.0/24', protocol: 6, localPorts: [5201, 5201] }]);
});

t.test('a different port, or none, is refused with INVALID-ID-INFORMATION', async (t) => {
  for (const b of [{ protocol: 6, localPort: 80, remotePort: 0 }, undefined]) {
    const h = new Harness({ tunnelA: { ports: { protocol: 6, localPort: 0, remotePort: 5201 } }, tunnelB: b ? { ports: b } : {} });
    h.bringUp();
    t.equal(h.installs.B.length, 0, `B (${b ? 'port 80' : 'whole subnets'}) installed nothing`);
    t.equal(h.failures.B[0]?.code, 'ts-mismatch');
  }
});
