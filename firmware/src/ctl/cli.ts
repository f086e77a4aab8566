/**
 * sitelinkctl: the operator's command line. Talks to sitelinkd over the control socket
 * (control/client.ts); `check` runs the validator locally and `health` falls back to
 * local collection, so both work without a daemon.
 *
 * Exit codes: 0 ok, 1 failure (errors, daemon unreachable), 2 usage.
 */
import { controlRequest, ControlError } from '../control/client.ts';
import { DEFAULT_SOCKET, type CheckResult, type Command, type Json, type ResultOf } from '../control/protocol.ts';
import { loadConfigFile } from '../config/load.ts';
import { formatConfigError } from '../config/types.ts';
import { collectHealth } from '../health/collect.ts';
import { redactor } from '../log/redact.ts';
import { bugStack, isBug } from '../log/bug.ts';
import {
  renderAction, renderCheck, renderCounters, renderFilters, renderHealth, renderLog, renderReload, renderSas, renderStatus,
} from './render.ts';
import { renderExplain } from './render-explain.ts';
import { renderHistory } from './render-config.ts';
import { parseDuration } from '../config/values.ts';
import { matchRow, MatchUsageError } from './match-row.ts';
import { filterRows } from '../control/filter-rows.ts';
import { expandConfig } from '../policy/expand.ts';
import type { FilterRow } from '../control/protocol.ts';
import { commitWhenHealthy, renderSystem, runUpgrade, systemStatus } from '../upgrade/upgrade.ts';
import { BOARD_ENV } from '../upgrade/system.ts';
import { existsSync } from 'node:fs';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env?: Record<string, string | undefined>;
}

export const DEFAULT_CONFIG = '/etc/sitelink/sitelink.conf';

export const USAGE = `usage: sitelinkctl [--socket PATH] [--json] COMMAND [ARGS]

commands:
  status                 daemon and peer overview, then the system slots (A/B)
  sas                    main mode and quick mode SAs (algorithms, lifetimes, bytes, SPIs, NAT, crypto)
  counters               packets and drops by reason (ESP engine), IKE drops, failures and fragments
  filters [SRC DST [PROTO [DPORT]]]
                         specific filters with weights, most specific first; with a packet,
                         only the filter that decides it [--config FILE: from a file, no daemon]
  initiate PEER          start negotiating with PEER
  terminate PEER         delete PEER's SAs
  rekey PEER [--ike]     renegotiate PEER's SAs now (--ike: its IKEv2 IKE SA instead)
  reload [--confirm T]   re-read the configuration (invalid files are refused, old config kept);
                         with --confirm (e.g. 120s, 5m) the previous config comes back by
                         itself after T unless "sitelinkctl confirm" arrives first
  confirm                keep the configuration applied with --confirm
  config history         the configurations kept in the config store (0 = running)
  config rollback N      put configuration N of the history back into force [--confirm T]
  check [FILE]           validate a configuration without a daemon (default ${DEFAULT_CONFIG})
                         [--secrets FILE | --no-secrets]
  log [-n N]             last N negotiation log entries (default 50)
  health                 CPU load, memory, temperatures, interfaces, uptime [--local]
  explain PEER           why the last negotiation with PEER failed, and how to fix it
  upgrade BUNDLE         verify BUNDLE (signature, sha256), write it to the slot not booted and
                         reboot into it once; it becomes permanent only when sitelinkd and every
                         start = start tunnel are up within T (default: board profile), else the
                         old slot comes back by itself [--commit-timeout T] [--no-reboot]
  slots                  both system slots, which one is booted, what the next boot takes

options:
  --socket PATH          control socket (default $SITELINK_SOCKET or ${DEFAULT_SOCKET})
  --json                 machine-readable output, versioned (schemaVersion; docs/json-schema.md)`;

/** Version of the --json output schema (docs/json-schema.md): bumped only on incompatible change. */
export const JSON_SCHEMA_VERSION = 1;

interface Parsed {
  socket: string;
  json: boolean;
  command: string;
  positional: string[];
  flags: Map<string, string | true>;
}

class UsageError extends Error {}

const VALUE_FLAGS = new Set(['--socket', '-n', '--secrets', '--config', '--confirm', '--commit-timeout']);

function parseArgs(argv: string[], env: Record<string, string | undefined>): Parsed {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      if (eq > 0) flags.set(a.slice(0, eq), a.slice(eq + 1));
      else if (VALUE_FLAGS.has(a)) {
        const v = argv[++i];
        if (v === undefined) throw new UsageError(`${a} needs a value`);
        flags.set(a, v);
      } else flags.set(a, true);
    } else positional.push(a);
  }
  const command = positional.shift();
  if (command === undefined || flags.has('--help') || flags.has('-h')) throw new UsageError('');
  const socket = flags.get('--socket');
  return {
    socket: typeof socket === 'string' ? socket : env.SITELINK_SOCKET ?? DEFAULT_SOCKET,
    json: flags.has('--json'),
    command,
    positional,
    flags,
  };
}

const KNOWN_FLAGS: Record<string, string[]> = {
  check: ['--secrets', '--no-secrets'],
  log: ['-n'],
  health: ['--local'],
  filters: ['--config'],
  reload: ['--confirm'],
  config: ['--confirm'],
  rekey: ['--ike'],
  upgrade: ['--commit-timeout', '--no-reboot'],
  // --commit-when-healthy: run once at boot by /etc/init.d/upgrade-commit.
  slots: ['--commit-when-healthy', '--config'],
};

/** --confirm 120s / 5m / 90 -> seconds (the same durations as the config file). */
function confirmSeconds(p: Parsed): number | null {
  const v = p.flags.get('--confirm');
  if (v === undefined) return null;
  const d = typeof v === 'string' ? parseDuration(v) : null;
  if (!d || !d.ok) throw new UsageError(`--confirm needs a duration such as 120s or 5m${d && !d.ok ? `: ${d.expected}` : ''}`);
  return d.value;
}

function emit<T extends object>(io: CliIo, json: boolean, value: T, human: (v: T) => string): void {
  // The daemon already redacted; redact again so local paths (check, health) are covered too.
  const safe = redactor.redact(value) as T;
  io.out(json ? JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...safe }, null, 2) : human(safe));
}

function needPeer(p: Parsed): string {
  const peer = p.positional[0];
  if (!peer) throw new UsageError(`${p.command} needs a peer name`);
  return peer;
}

function localCheck(p: Parsed): CheckResult {
  const file = p.positional[0] ?? DEFAULT_CONFIG;
  const secretsFlag = p.flags.get('--secrets');
  const r = loadConfigFile(file, {
    secrets: !p.flags.has('--no-secrets'),
    ...(typeof secretsFlag === 'string' ? { secretsFile: secretsFlag } : {}),
  });
  return {
    ok: r.ok,
    file,
    errors: r.ok ? [] : r.errors.map(formatConfigError),
    warnings: r.warnings.map(formatConfigError),
  };
}

async function ask<C extends Command>(p: Parsed, command: C, args: { [k: string]: Json } = {}): Promise<ResultOf[C]> {
  return controlRequest(p.socket, command, args);
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let p: Parsed;
  try {
    p = parseArgs(argv, io.env ?? process.env);
    const allowed = new Set(['--socket', '--json', ...(KNOWN_FLAGS[p.command] ?? [])]);
    for (const f of p.flags.keys()) if (!allowed.has(f)) throw new UsageError(`unknown option ${f} for ${p.command}`);
  } catch (e) {
    const msg = (e as Error).message;
    io.err(msg ? `sitelinkctl: ${msg}\n${USAGE}` : USAGE);
    return 2;
  }
  try {
    switch (p.command) {
      case 'status': {
        // The slots only on a sitelink image (board.env); a host gateway has none.
        const system = existsSync(BOARD_ENV) ? systemStatus() : undefined;
        let st;
        try {
          st = await ask(p, 'status');
        } catch (e) {
          if (!p.json && system !== undefined) io.out(renderSystem(system));
          throw e;
        }
        if (system === undefined) emit(io, p.json, st, renderStatus);
        else emit(io, p.json, { ...st, system }, (v) => `${renderStatus(v)}\n${renderSystem(system)}`);
        return 0;
      }
      case 'slots': {
        if (p.flags.has('--commit-when-healthy')) {
          const cfg = p.flags.get('--config');
          const r = await commitWhenHealthy({
            configFile: typeof cfg === 'string' ? cfg : DEFAULT_CONFIG, socket: p.socket, log: (l) => io.out(`upgrade: ${l}`),
          });
          return r === 'rolled-back' ? 1 : 0;
        }
        const system = systemStatus();
        emit(io, p.json, { system }, (v) => renderSystem(v.system));
        return typeof system === 'string' ? 1 : 0;
      }
      case 'upgrade': {
        const bundle = p.positional[0];
        if (!bundle) throw new UsageError('upgrade needs a bundle file (scripts/flash bundle --sign)');
        const t = p.flags.get('--commit-timeout');
        let waitSeconds: number | undefined;
        if (t !== undefined) {
          const d = typeof t === 'string' ? parseDuration(t) : null;
          if (!d || !d.ok || d.value < 10 || d.value > 86_400) throw new UsageError('--commit-timeout needs a duration from 10s to 24h');
          waitSeconds = d.value;
        }
        runUpgrade({ bundle, reboot: !p.flags.has('--no-reboot'), log: (l) => io.out(`upgrade: ${l}`), ...(waitSeconds ? { waitSeconds } : {}) });
        return 0;
      }
      case 'sas':
        emit(io, p.json, await ask(p, 'sas'), renderSas);
        return 0;
      case 'counters':
        emit(io, p.json, await ask(p, 'counters'), renderCounters);
        return 0;
      case 'filters': {
        const cfg = p.flags.get('--config');
        let rows: FilterRow[];
        if (typeof cfg === 'string') {
          const r = loadConfigFile(cfg, { secrets: false });
          if (!r.ok) {
            io.err(r.errors.map(formatConfigError).join('\n'));
            return 1;
          }
          rows = filterRows(expandConfig(r.config));
        } else rows = (await ask(p, 'filters')).filters;
        if (p.positional.length > 0) {
          const hit = matchRow(rows, p.positional);
          emit(io, p.json, { filters: hit ? [hit] : [] }, (v) =>
            v.filters.length ? renderFilters(v) : 'no filter matches: traffic passes untouched',
          );
          return 0;
        }
        emit(io, p.json, { filters: rows }, renderFilters);
        return 0;
      }
      case 'initiate':
      case 'terminate':
      case 'rekey': {
        const peer = needPeer(p);
        const args: { [k: string]: Json } = p.command === 'rekey' && p.flags.has('--ike') ? { peer, ike: true } : { peer };
        emit(io, p.json, await ask(p, p.command, args), renderAction);
        return 0;
      }
      case 'reload': {
        const secs = confirmSeconds(p);
        const r = await ask(p, 'reload', secs === null ? {} : { confirmSeconds: secs });
        emit(io, p.json, r, renderReload);
        return r.ok ? 0 : 1;
      }
      case 'confirm':
        emit(io, p.json, await ask(p, 'confirm'), renderAction);
        return 0;
      case 'config': {
        const sub = p.positional[0];
        if (sub === 'history') {
          emit(io, p.json, await ask(p, 'history'), renderHistory);
          return 0;
        }
        if (sub === 'rollback') {
          const n = Number(p.positional[1]);
          if (p.positional[1] === undefined || !Number.isSafeInteger(n) || n < 0)
            throw new UsageError('config rollback needs N (see sitelinkctl config history)');
          const secs = confirmSeconds(p);
          const r = await ask(p, 'rollback', secs === null ? { index: n } : { index: n, confirmSeconds: secs });
          emit(io, p.json, r, renderReload);
          return r.ok ? 0 : 1;
        }
        throw new UsageError('config needs "history" or "rollback N"');
      }
      case 'check': {
        const r = localCheck(p);
        emit(io, p.json, r, renderCheck);
        return r.ok ? 0 : 1;
      }
      case 'log': {
        const nFlag = p.flags.get('-n');
        const n = typeof nFlag === 'string' ? Number(nFlag) : 50;
        if (!Number.isSafeInteger(n) || n < 1) throw new UsageError('-n needs a positive number');
        emit(io, p.json, await ask(p, 'log', { n }), renderLog);
        return 0;
      }
      case 'health': {
        let h: ResultOf['health'];
        if (p.flags.has('--local')) h = await collectHealth('local');
        else {
          try {
            h = await ask(p, 'health');
          } catch (e) {
            if (!(e instanceof ControlError) || !/cannot connect/.test(e.message)) throw e;
            h = await collectHealth('local');
          }
        }
        emit(io, p.json, h, renderHealth);
        return 0;
      }
      case 'explain': {
        const peer = needPeer(p);
        const r = await ask(p, 'explain', { peer });
        emit(io, p.json, r, (v) => renderExplain(peer, v.record));
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${p.command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof MatchUsageError) {
      io.err(`sitelinkctl: ${e.message}\n${USAGE}`);
      return 2;
    }
    // A bug in sitelinkctl (log/bug.ts) prints its stack: where it happened.
    io.err(`sitelinkctl: ${isBug(e) ? bugStack(e) : redactor.redactString(e instanceof Error ? e.message : String(e))}`);
    return 1;
  }
}
