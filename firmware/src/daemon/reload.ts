// Reload: peers whose settings or tunnels changed are renegotiated, the others
// keep their SAs (config/diff.ts decides what changed). Enforcement first: if
// nft refuses the new ruleset the reload fails (the control handler reports
// the error) and the old config with its table stays in force.

import { unsecuredWarningsHere } from './unsecured-check.ts';
import type { ConfigDiff } from '../config/diff.ts';
import type { SitelinkConfig } from '../config/types.ts';
import { applyRuleset } from '../policy/nft-apply.ts';
import { bypassSelectorsOf } from '../policy/bypass.ts';
import { expandConfig } from '../policy/expand.ts';
import { crlSources, type Daemon } from './daemon.ts';
import { peerAddresses } from './peer-addresses.ts';
import { peerPolicies } from './policy-from-config.ts';
import { prepareAddKe } from '../ike/v2/crypto/additional-ke.ts';

export async function reloadDaemon(d: Daemon, next: SitelinkConfig, diff: ConfigDiff): Promise<void> {
  // First, so that a failure leaves the old config in force: ML-KEM's bundle if the new config names it.
  const childAddKe = [...next.filterActions.values()].flatMap((a) => (a.kind === 'negotiate' && a.pfsAddKe ? [{ addKe: a.pfsAddKe }] : []));
  await prepareAddKe([...[...next.peers.values()].flatMap((p) => p.keyExchange.methods), ...childAddKe]);
  await applyRuleset(d.rulesetOf(next));
  d.dataplane.setBypass(bypassSelectorsOf(expandConfig(next)));
  const addrs = await peerAddresses(next);
  for (const e of await unsecuredWarningsHere(next)) d.log.log(e);
  d.crlStore.configure(crlSources(next));
  await d.crlStore.refreshDue();
  const r = peerPolicies(
    next,
    (name) => addrs.local.get(name) ?? '0.0.0.0',
    (name) => addrs.remote.get(name),
    (sources, points) => d.crlStore.crls(sources, points),
  );
  for (const p of r.problems) d.log.log({ level: 'warning', peer: p.peer, phase: 'config', step: 'RELOAD', message: p.message });
  const running = d.running;
  // Per tunnel: a changed peer (main mode settings, PSK) renegotiates everything, a
  // changed or removed rule only its own SA pairs; the other tunnels keep their SPIs.
  const reset = [...diff.peers.changed, ...diff.peers.removed];
  const changedRules = [...diff.tunnels.changed, ...diff.tunnels.removed];
  d.executor.apply(d.node.setPeers(r.peers, reset, changedRules));
  for (const p of running.peers.values()) if (!next.peers.has(p.name) || reset.includes(p.name)) p.psk?.wipe();
  const oldRemotes = new Set(d.peers.flatMap((p) => p.tunnels.map((x) => x.remote)));
  d.running = next;
  d.peers = r.peers;
  d.trap.prune(new Set(next.peers.keys()));
  d.fallback.configure(next, r.peers, reset);
  // Remote subnets of removed tunnels that no tunnel uses any more leave the TUN.
  const remotes = new Set(r.peers.flatMap((p) => p.tunnels.map((x) => x.remote)));
  for (const cidr of oldRemotes) if (!remotes.has(cidr)) await d.routes.remove(cidr);
  await d.routeTunnels();
  d.bringUp();
  // Peers that are up get their changed and added tunnels now, whatever their start
  // setting (they were negotiated before; trap only starts a peer with nothing up).
  const touched = [...diff.tunnels.changed, ...diff.tunnels.added].flatMap((name) =>
    next.rules.filter((x) => x.name === name && x.peer !== null).map((x) => x.peer!.name),
  );
  const established = new Set(d.node.status().filter((x) => x.state === 'ESTABLISHED').map((x) => x.peer));
  for (const name of new Set(touched)) if (established.has(name)) d.initiate(name);
}
