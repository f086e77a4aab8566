// accept-unsecured on an Internet-facing gateway (issue 17): the validator warns when
// a filter action accepts unsecured traffic on every interface; at start and reload
// the daemon also warns when one of the interfaces it is limited to carries a default
// route, i.e. faces the Internet, where anyone can send from the remote subnet's
// addresses.

import { execFile } from 'node:child_process';
import type { NegotiateAction, SitelinkConfig } from '../config/types.ts';
import type { LogEvent } from '../log/negotiation-log.ts';

/** Interface names of the default routes in `ip -j route show default` output (IPv4 or IPv6). */
export function defaultRouteInterfaces(ipJson: string): string[] {
  let routes: unknown;
  try {
    routes = JSON.parse(ipJson);
  } catch {
    return [];
  }
  if (!Array.isArray(routes)) return [];
  const out = new Set<string>();
  for (const r of routes as unknown[]) {
    if (typeof r !== 'object' || r === null) continue;
    const dev = (r as { dev?: unknown }).dev;
    if (typeof dev === 'string') out.add(dev);
  }
  return [...out];
}

/** The negotiate actions that accept unsecured traffic on listed interfaces only: what is checked here. */
function limitedUnsecured(config: SitelinkConfig): NegotiateAction[] {
  return [...config.filterActions.values()].flatMap((a) =>
    a.kind === 'negotiate' && a.acceptUnsecured && a.acceptUnsecuredInterfaces.length > 0 ? [a] : [],
  );
}

/** Warnings for filter actions that accept unsecured traffic on an Internet-facing interface. */
export function unsecuredWarnings(config: SitelinkConfig, internetFacing: readonly string[]): LogEvent[] {
  const out: LogEvent[] = [];
  for (const a of limitedUnsecured(config)) {
    const facing = a.acceptUnsecuredInterfaces.filter((i) => internetFacing.includes(i));
    if (facing.length === 0) continue;
    out.push({
      level: 'warning',
      phase: 'config',
      step: 'LOAD',
      message:
        `filter-actions.${a.name}.accept-unsecured-interfaces: ${facing.join(', ')} carries a default route (Internet-facing): ` +
        'unprotected traffic claiming the remote subnet is accepted there',
    });
  }
  return out;
}

/** Runs `ip -j route show default` for both families; [] when ip fails. */
export async function internetFacingInterfaces(): Promise<string[]> {
  const run = (fam: string): Promise<string> =>
    new Promise((resolve) => execFile('ip', ['-j', fam, 'route', 'show', 'default'], { timeout: 5000 }, (e, stdout) => resolve(e ? '[]' : stdout)));
  const [v4, v6] = await Promise.all([run('-4'), run('-6')]);
  return [...new Set([...defaultRouteInterfaces(v4), ...defaultRouteInterfaces(v6)])];
}

/**
 * unsecuredWarnings against this system's default routes. The routes are looked up
 * only when a filter action limits accept-unsecured to interfaces, the one case with
 * something to check: each `ip` is a fork of the daemon, ~0.1 s of its thread on a
 * small board, in the start's way to the first tunnel.
 */
export async function unsecuredWarningsHere(config: SitelinkConfig): Promise<LogEvent[]> {
  return limitedUnsecured(config).length > 0 ? unsecuredWarnings(config, await internetFacingInterfaces()) : [];
}
