// IkeNodes routes a peer's initiate to the node of its IKE version (ike/ike-nodes.ts),
// by a lookup in that node's peers (hasPeer), not a copy and scan of every peer.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfigFile } from '../../firmware/src/config/load.ts';
import { peerPolicies } from '../../firmware/src/daemon/policy-from-config.ts';
import { IkeNodes } from '../../firmware/src/ike/ike-nodes.ts';
import type { Action, PeerPolicy } from '../../firmware/src/ike/exchange/types.ts';
import { writeGatewayConfig } from '../netns/ike-sitelinkd.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'sitelink-ike-nodes-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('initiate goes to the node of the peer\'s version; an unknown peer gets nothing', async (t) => {
  const files = writeGatewayConfig(dir, 'gw', {
    id: 'gw.lab', peerName: 'one', remote: '198.51.100.2', remoteId: 'peer.lab',
    local: '198.18.1.0/24', remoteNet: '198.18.2.0/24', psk: 'x', start: 'start',
  });
  const r = loadConfigFile(files.config);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  const base = peerPolicies(r.config, () => '198.51.100.1').peers[0]!;
  const peers: PeerPolicy[] = [
    { ...base, name: 'v1-peer', ikeVersion: 1, remoteAddress: '198.51.100.11' },
    { ...base, name: 'v2-peer', ikeVersion: 2, remoteAddress: '198.51.100.12' },
  ];
  const env = { now: () => 0, random: (n: number) => randomBytes(n), wallClock: () => new Date() };
  const nodes = new IkeNodes(env, peers);
  t.ok(nodes.v1.hasPeer('v1-peer') && !nodes.v1.hasPeer('v2-peer'), 'the IKEv1 node has the version 1 peer only');
  t.ok(nodes.v2.hasPeer('v2-peer') && !nodes.v2.hasPeer('v1-peer'), 'the IKEv2 node has the version 2 peer only');
  // RFC 2408 §3.1 / RFC 7296 §3.1: octet 17 holds the major version in both headers.
  const versions = (acts: Action[]): number[] => acts.flatMap((a) => (a.kind === 'send' ? [a.data[17]! >> 4] : []));
  t.same(versions(nodes.initiate('v1-peer')), [1], 'the version 1 peer: an IKEv1 main mode message');
  t.same(versions(nodes.initiate('v2-peer')), [2], 'the version 2 peer: an IKE_SA_INIT');
  t.same(nodes.initiate('nobody'), [], 'a peer neither node has: no action');
  t.same(nodes.status().map((s) => [s.peer, s.version]).sort(), [['v1-peer', 1], ['v2-peer', 2]], 'one SA on each node');
});
