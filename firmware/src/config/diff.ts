/**
 * Reload: compare the running config with a newly loaded one, so the daemon keeps
 * unchanged tunnels (and their SPIs) and touches only what changed. Pure functions.
 *
 * A tunnel is a negotiate rule. It is "changed" when its filters, its filter action or
 * its peer changed (a peer change forces new main mode, hence new quick modes too).
 */
import type { ConfigError, FilterAction, FilterList, LoadResult, Peer, SitelinkConfig } from './types.ts';

export interface SetDiff {
  unchanged: string[];
  changed: string[];
  added: string[];
  removed: string[];
}

export interface ConfigDiff {
  peers: SetDiff;
  tunnels: SetDiff;
  /** permit/block enforcement must be regenerated (nft ruleset differs). */
  filtersChanged: boolean;
  /** gateway.* keys that differ; most need a daemon restart to take effect. */
  gatewayChanged: string[];
}

export type ReloadOutcome =
  | { ok: true; config: SitelinkConfig; diff: ConfigDiff; warnings: ConfigError[] }
  /** The new file is invalid: keep running on the old config. */
  | { ok: false; config: SitelinkConfig; errors: ConfigError[] };

/** JSON without source positions (moving a block in the file is not a change). */
function canonical(v: unknown): string {
  return JSON.stringify(v, (key, value: unknown) => {
    if (key === 'at' || key === 'psk' || key === 'ppkKey') return undefined;
    if (value instanceof Map) return [...value.entries()];
    return value;
  });
}

function peerKey(p: Peer): string {
  return canonical(p);
}

function pskEqual(a: Peer, b: Peer): boolean {
  const same = (x: Peer['psk'], y: Peer['psk']): boolean => (x === null || y === null ? x === y : x.equals(y));
  return same(a.psk, b.psk) && same(a.ppkKey ?? null, b.ppkKey ?? null);
}

function diffMaps<T>(a: Map<string, T>, b: Map<string, T>, same: (x: T, y: T) => boolean): SetDiff {
  const d: SetDiff = { unchanged: [], changed: [], added: [], removed: [] };
  for (const [name, x] of a) {
    const y = b.get(name);
    if (y === undefined) d.removed.push(name);
    else if (same(x, y)) d.unchanged.push(name);
    else d.changed.push(name);
  }
  for (const name of b.keys()) if (!a.has(name)) d.added.push(name);
  return d;
}

interface TunnelDef {
  filters: FilterList;
  action: FilterAction;
  peer: string;
}

function tunnels(c: SitelinkConfig): Map<string, TunnelDef> {
  const m = new Map<string, TunnelDef>();
  for (const r of c.rules) {
    if (r.action.kind === 'negotiate' && r.peer) m.set(r.name, { filters: r.filterList, action: r.action, peer: r.peer.name });
  }
  return m;
}

function clearRules(c: SitelinkConfig): string {
  return canonical(c.rules.filter((r) => r.action.kind !== 'negotiate').map((r) => ({ name: r.name, f: r.filterList.filters, a: r.action.kind })));
}

export function diffConfig(oldC: SitelinkConfig, newC: SitelinkConfig): ConfigDiff {
  const peers = diffMaps(oldC.peers, newC.peers, (a, b) => peerKey(a) === peerKey(b) && pskEqual(a, b));
  const changedPeers = new Set(peers.changed);
  const tun = diffMaps(tunnels(oldC), tunnels(newC), (a, b) => canonical(a) === canonical(b) && !changedPeers.has(b.peer));
  const gatewayChanged: string[] = [];
  for (const key of Object.keys(newC.gateway) as (keyof typeof newC.gateway)[]) {
    if (canonical(oldC.gateway[key]) !== canonical(newC.gateway[key])) gatewayChanged.push(key);
  }
  // Negotiate filters also appear in the nft ruleset (clear-text side), so a tunnel
  // change means regenerating it too.
  const filtersChanged = clearRules(oldC) !== clearRules(newC) || tun.changed.length + tun.added.length + tun.removed.length > 0;
  return { peers, tunnels: tun, filtersChanged, gatewayChanged };
}

/** Apply a freshly loaded result to the running config: new config + diff, or old config + errors. */
export function reloadConfig(running: SitelinkConfig, loaded: LoadResult): ReloadOutcome {
  if (!loaded.ok) return { ok: false, config: running, errors: loaded.errors };
  return { ok: true, config: loaded.config, diff: diffConfig(running, loaded.config), warnings: loaded.warnings };
}
