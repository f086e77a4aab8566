// sitelinkd's view of a config file: the generated lab config (the one the
// netns and interop tests run) becomes the expected PeerPolicy, and the
// policy drives a full in-memory negotiation between the two gateways.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfigFile } from '../../firmware/src/config/load.ts';
import { peerPolicies } from '../../firmware/src/daemon/policy-from-config.ts';
import { IkeNode } from '../../firmware/src/ike/exchange/ike-node.ts';
import type { Action } from '../../firmware/src/ike/exchange/types.ts';
import { IdType } from '../../firmware/src/ike/wire/index.ts';
import { writeGatewayConfig } from '../netns/ike-sitelinkd.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'sitelink-ike-conf-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function load(name: string, g: Parameters<typeof writeGatewayConfig>[2]) {
  const files = writeGatewayConfig(dir, name, g);
  const r = loadConfigFile(files.config);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.config;
}

t.test('config -> peer policy', async (t) => {
  const cfg = load('gwA', {
    id: 'gwA.lab',
    peerName: 'gwB',
    remote: '198.51.100.2',
    remoteId: 'gwB.lab',
    local: '198.18.1.0/24',
    remoteNet: '198.18.2.0/24',
    psk: 'secret-A',
    start: 'start',
    pfs: 'modp2048',
    esp: 'aes128gcm16, aes256-sha256',
  });
  const { peers, problems } = peerPolicies(cfg, () => '100.64.0.2');
  t.same(problems, []);
  const p = peers[0]!;
  t.equal(p.name, 'gwB');
  t.equal(p.localAddress, '100.64.0.2', 'local address from routing when local = %any');
  t.same(p.localId, { idType: IdType.FQDN, name: 'gwA.lab' });
  t.same(p.remoteId, { idType: IdType.FQDN, name: 'gwB.lab' });
  t.equal(p.psk?.reveal().toString(), 'secret-A', 'PSK from the secrets file, by remote-id');
  t.same(p.ikeMethods, [{ encryption: 'aes128', integrity: 'sha256', dhGroup: 14 }]);
  t.equal(p.tunnels.length, 1);
  t.same(
    {
      local: p.tunnels[0]!.local,
      remote: p.tunnels[0]!.remote,
      pfs: p.tunnels[0]!.pfsGroup,
      esp: p.tunnels[0]!.methods.map((m) => m.esp),
      action: p.tunnels[0]!.action,
    },
    { local: '198.18.1.0/24', remote: '198.18.2.0/24', pfs: 14, esp: ['aes128gcm16', 'aes256-sha256'], action: 'secure' },
  );
  t.equal(p.tunnels[0]!.methods[0]!.lifetimeSeconds, 3600, 'default lifetime 3600 s');
  t.equal(p.tunnels[0]!.methods[0]!.lifetimeKilobytes, 100000, 'default 100000 KB');
  t.equal(p.keepaliveSeconds, 20);
  t.equal(p.natTraversal, 'auto');
});

t.test('two configured gateways negotiate in memory', async (t) => {
  const a = load('gA', {
    id: 'gwA.lab',
    peerName: 'gwB',
    remote: '198.51.100.2',
    remoteId: 'gwB.lab',
    local: '198.18.1.0/24',
    remoteNet: '198.18.2.0/24',
    psk: 'same',
    start: 'start',
  });
  const b = load('gB', {
    id: 'gwB.lab',
    peerName: 'gwA',
    remote: '198.51.100.1',
    remoteId: 'gwA.lab',
    local: '198.18.2.0/24',
    remoteNet: '198.18.1.0/24',
    psk: 'same',
    start: 'none',
  });
  const env = { now: () => 0, random: (n: number) => randomBytes(n), wallClock: () => new Date() };
  const na = new IkeNode(env, peerPolicies(a, () => '198.51.100.1').peers);
  const nb = new IkeNode(env, peerPolicies(b, () => '198.51.100.2').peers);
  const installs: string[] = [];
  const queue: { to: 'A' | 'B'; data: Buffer; port: number }[] = [];
  const run = (side: 'A' | 'B', acts: Action[]): void => {
    for (const x of acts) {
      if (x.kind === 'send') queue.push({ to: side === 'A' ? 'B' : 'A', data: x.data, port: x.to.port });
      if (x.kind === 'install') installs.push(`${side}:${x.sa.direction}:${x.sa.spi}`);
    }
  };
  run('A', na.initiate('gwB'));
  for (let i = 0; i < 50 && queue.length; i++) {
    const m = queue.shift()!;
    if (m.to === 'B') run('B', nb.receive(m.data, { address: '198.51.100.1', port: 500 }, m.port));
    else run('A', na.receive(m.data, { address: '198.51.100.2', port: 500 }, m.port));
  }
  t.equal(installs.length, 4, 'both gateways installed an inbound and an outbound SA');
});
