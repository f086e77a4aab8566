/**
 * Control handlers that need only configuration, policy and logs: filters, check,
 * reload, log, health, explain. The daemon mounts them and adds its own status, sas,
 * initiate, terminate and rekey handlers.
 */
import { loadConfigFileAsync, type LoadOptions } from '../config/load.ts';
import { reloadConfig, type ConfigDiff } from '../config/diff.ts';
import { formatConfigError, type SitelinkConfig } from '../config/types.ts';
import { collectHealth } from '../health/collect.ts';
import type { FailureBook } from '../log/failures.ts';
import type { NegotiationLog } from '../log/negotiation-log.ts';
import { expandConfig } from '../policy/expand.ts';
import { filterRows } from './filter-rows.ts';
import type { CheckResult, ExplainResult, FiltersResult, LogResult, ReloadResult } from './protocol.ts';
import type { ControlServer } from './server.ts';

export interface PolicyContext {
  /** The running configuration. */
  config(): SitelinkConfig;
  /** Called with a valid new config and the diff; the daemon keeps unchanged tunnels. */
  apply(config: SitelinkConfig, diff: ConfigDiff): Promise<void> | void;
  log: NegotiationLog;
  failures: FailureBook;
  /** Gateway addresses, to resolve "me" in filters. */
  localAddresses?: () => string[];
  /** Loader options (tests point the secrets file elsewhere). */
  loadOptions?: LoadOptions;
}

/** Re-reads the running config's file; an invalid one is refused and the old config kept. */
export async function reloadFromFile(ctx: PolicyContext): Promise<ReloadResult> {
  const running = ctx.config();
  const out = reloadConfig(running, await loadConfigFileAsync(running.file, ctx.loadOptions));
  if (!out.ok) {
    ctx.log.log({ level: 'error', phase: 'config', step: 'reload', message: `refused: ${out.errors.length} errors; running configuration kept` });
    return { ok: false, message: 'configuration has errors; running configuration kept', errors: out.errors.map(formatConfigError) };
  }
  await ctx.apply(out.config, out.diff);
  ctx.log.log({ phase: 'config', step: 'reload', message: 'configuration reloaded', data: { peers: out.diff.peers, tunnels: out.diff.tunnels } });
  return { ok: true, message: 'configuration reloaded', errors: [], peers: out.diff.peers, tunnels: out.diff.tunnels };
}

export function mountPolicyHandlers(server: ControlServer, ctx: PolicyContext): void {
  server.handle('filters', (): FiltersResult => {
    const opts = ctx.localAddresses ? { localAddresses: ctx.localAddresses() } : {};
    return { filters: filterRows(expandConfig(ctx.config(), opts)) };
  });

  server.handle('check', async (args): Promise<CheckResult> => {
    const file = typeof args.file === 'string' ? args.file : ctx.config().file;
    // Any path a client names: read on the thread pool, regular files up to 1 MiB only.
    const r = await loadConfigFileAsync(file, ctx.loadOptions);
    if (r.ok) for (const p of r.config.peers.values()) p.psk?.wipe();
    return { ok: r.ok, file, errors: r.ok ? [] : r.errors.map(formatConfigError), warnings: r.warnings.map(formatConfigError) };
  });

  server.handle('reload', () => reloadFromFile(ctx));

  server.handle('log', (args): LogResult => {
    const n = typeof args.n === 'number' && Number.isSafeInteger(args.n) && args.n > 0 ? args.n : 50;
    return { entries: ctx.log.recent(n) };
  });

  server.handle('health', () => collectHealth('daemon'));

  server.handle('explain', (args): ExplainResult => {
    if (typeof args.peer !== 'string') throw new Error('explain needs {"peer": NAME}');
    if (!ctx.config().peers.has(args.peer)) throw new Error(`no such peer "${args.peer}"`);
    return { record: ctx.failures.get(args.peer) };
  });
}
