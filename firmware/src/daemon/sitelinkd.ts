// sitelinkd: the IKE daemon. Loads the config, opens the log and starts the
// Daemon (daemon.ts: the ESP engine, which owns UDP 4500 (RFC 3948), UDP 500,
// the exchanges of ike/, the control socket). SIGTERM/SIGINT: Deletes to
// every peer, SAs removed (keys wiped by the engine), clean exit.
//
// Usage: sitelinkd [-c /etc/sitelink/sitelink.conf] [--secrets FILE] [--wait-config FILE] [--wait-ready FILE] [--foreground]

import { monotonicMs } from '../base/clock.ts';
import { loadConfigFile } from '../config/load.ts';
import { formatConfigError } from '../config/types.ts';
import { NegotiationLog } from '../log/negotiation-log.ts';
import { bugStack } from '../log/bug.ts';
import { recoverUnconfirmed } from './commit-confirm.ts';
import { Daemon, StartError, type DaemonArgs } from './daemon.ts';
import { collectStartGarbage, trimHeap } from './heap-trim.ts';
import { READY_LIMIT_MS, bootStamp, waitForFile } from './system-ready.ts';

interface StartArgs {
  args: DaemonArgs;
  /** Files to wait for (system-ready.ts): before reading the config, before touching the system. */
  waitConfig?: string;
  waitReady?: string;
}

function parseArgs(argv: string[]): StartArgs {
  let config = '/etc/sitelink/sitelink.conf';
  let secrets: string | undefined;
  let waitConfig: string | undefined;
  let waitReady: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-c' || a === '--config') config = argv[++i] ?? config;
    else if (a === '--secrets') secrets = argv[++i];
    else if (a === '--wait-config') waitConfig = argv[++i];
    else if (a === '--wait-ready') waitReady = argv[++i];
    else if (a === '--foreground') continue;
    else {
      const usage = 'sitelinkd [-c FILE] [--secrets FILE] [--wait-config FILE] [--wait-ready FILE]';
      process.stderr.write(`sitelinkd: unknown argument ${a}\nusage: ${usage}\n`);
      process.exit(2);
    }
  }
  return {
    args: secrets === undefined ? { config } : { config, secrets },
    ...(waitConfig !== undefined ? { waitConfig } : {}),
    ...(waitReady !== undefined ? { waitReady } : {}),
  };
}

/** Waits for `file` (system-ready.ts); the boot timeline gets `step` once it is there. */
async function waitFor(file: string, step: string): Promise<void> {
  const w = await waitForFile(file);
  if (!w.found) process.stderr.write(`sitelinkd: ${file} missing after ${READY_LIMIT_MS / 1000} s, starting anyway\n`);
  bootStamp(`sitelinkd: ${step} (waited ${(w.waitedMs / 1000).toFixed(1)} s)`);
}

async function main(): Promise<void> {
  const mainAt = monotonicMs();
  const { args, waitConfig, waitReady } = parseArgs(process.argv.slice(2));
  // At boot, Node and the bundle load while rcS mounts the config store.
  if (waitConfig !== undefined) await waitFor(waitConfig, 'config store there');
  // A reload --confirm window still open when the daemon stopped is not trusted.
  const recovered = recoverUnconfirmed(args.config);
  const loaded = loadConfigFile(args.config, args.secrets !== undefined ? { secretsFile: args.secrets } : {});
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`${formatConfigError(e)}\n`);
    process.exit(1);
  }
  const config = loaded.config;
  const g = config.gateway;
  // Syslog's loggers (processes) start when the start is over (Daemon.releaseStart).
  const log = NegotiationLog.open({
    file: g.log.file, syslog: g.log.syslog, syslogOptions: { hold: true }, level: g.log.level, maxBytes: g.log.maxKilobytes * 1024,
  });
  if (recovered !== null) log.log({ level: 'warning', phase: 'config', step: 'CONFIRM', message: recovered });
  // Everything above only reads the config store and opens the log; the start below
  // needs the system rcS is still bringing up at boot (system-ready.ts).
  if (waitReady !== undefined) await waitFor(waitReady, 'config loaded, system ready');
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(args, config, log, waitReady !== undefined ? bootStamp : undefined);
  } catch (e) {
    if (!(e instanceof StartError)) throw e;
    process.stderr.write(`sitelinkd: ${e.message}\n`);
    await log.close().catch(() => undefined);
    process.exit(1);
  }
  // What the start freed (config parsing, the bundle's compilation) goes back now,
  // not 30 s later at the tick's first trim (heap-trim.ts). With no start = start
  // tunnel to wait for (a hub), the start is over: V8's low-memory collection and a
  // trim. Otherwise a plain collection (V8's garbage first, so that the malloc
  // memory it held is free for the trim) and the release once the tunnels are up.
  if (daemon.startTunnelsUp()) daemon.releaseStart();
  else {
    collectStartGarbage();
    trimHeap();
  }
  process.stdout.write(`sitelinkd: ready (${daemon.peers.length} peer(s))\n`);
  // For the board's boot timeline (test/qemu/ike-tunnel.test.ts): the start's
  // milestones on the monotonic clock (Linux: seconds since boot, as the kernel
  // log's stamps), and the wall clock at the same moment for the negotiation log's.
  const now = monotonicMs(), mono = Number(process.hrtime.bigint()) / 1e9;
  const at = (ms: number): string => (mono - (now - ms) / 1000).toFixed(2);
  process.stdout.write(`sitelinkd: start at monotonic ${at(0)} s, main ${at(mainAt)} s, ready ${at(now)} s (wall ${Date.now()} ms)\n`);
  const stop = (): void => void daemon.shutdown().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// Anything that reaches here is a bug, not a refused start (StartError is handled above):
// print its stack (redacted, log/bug.ts), the only record of where it happened. With the message alone the
// board's log once said just "sitelinkd: Date is not a constructor" (issue 10) and the
// origin could never be found.
main().catch((e: unknown) => {
  process.stderr.write(`sitelinkd: ${e instanceof Error ? bugStack(e) : String(e)}\n`);
  process.exit(1);
});
