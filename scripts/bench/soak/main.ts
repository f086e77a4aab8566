// npm run soak -- --minutes N [--spokes 100] [--report-minutes 5] [--restart-every 20]
//
// A long run of a sitelinkd hub with N spoke tunnels that carry traffic: the hub
// (dist/sitelinkd.cjs, its own namespace) rekeys every tunnel once a minute
// (sitelinkctl rekey, spread over the minute), the spokes (soak-spokes, one
// process, one ESP engine) send a datagram per tunnel per second to an echo
// server on the hub's LAN address and restart a random spoke every few seconds.
// Every report period one line: tunnels up, datagrams sent and lost (apart from
// those of a spoke that had just restarted), rekeys, restarts, and the hub's
// RSS, heap, file descriptors and timers with their drift since the first report.
// Not part of the test suite (it runs for as long as it is told).

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { controlRequest } from '../../../firmware/src/control/client.ts';
import type { StatusResult } from '../../../firmware/src/control/protocol.ts';
import { HUB, spokePlan, writeSpokeFile, GROUPS } from '../ike/plan.ts';
import { Topology } from '../ike/topology.ts';
import { writeSitelinkdHub } from '../ike/sitelinkd-hub.ts';
import { sample } from '../ike/proc-stats.ts';
import { sitelinkdArgv, sitelinkdEnv } from '../../../test/netns/ike-sitelinkd.ts';

interface Args { minutes: number; spokes: number; reportMinutes: number; restartEveryS: number }

function parseArgs(argv: string[]): Args {
  const a: Args = { minutes: 0, spokes: 100, reportMinutes: 5, restartEveryS: 20 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${k} needs a positive number`);
    if (k === '--minutes') a.minutes = v;
    else if (k === '--spokes') a.spokes = Math.floor(v);
    else if (k === '--report-minutes') a.reportMinutes = v;
    else if (k === '--restart-every') a.restartEveryS = v;
    else throw new Error(`unknown argument ${k}`);
  }
  if (a.minutes <= 0) throw new Error('usage: npm run soak -- --minutes N [--spokes 100] [--report-minutes 5] [--restart-every 20]');
  return a;
}

const ECHO_PORT = 7777;
const ECHO = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(${ECHO_PORT}, process.argv[1]);
`;

function inNs(ns: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
}

function lines(c: ChildProcess, on: (l: string) => void): void {
  let buf = '';
  c.stdout?.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      on(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const prefix = process.env.SOAK_PREFIX ?? `soak${process.pid}`;
  const work = process.env.SOAK_WORKDIR ?? '';
  const spokesBundle = process.env.SOAK_SPOKES ?? '';
  const repo = path.resolve(process.env.SOAK_REPO ?? '.');
  if (!work || !spokesBundle) throw new Error('run through scripts/soak');

  const spokes = spokePlan(args.spokes);
  const topo = new Topology(prefix);
  const children: ChildProcess[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await sleep(1000);
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    await topo.up(spokes, work);
    const files = writeSitelinkdHub(work, spokes, GROUPS.modp2048!, false);
    const spokeFile = path.join(work, 'spokes.txt');
    writeSpokeFile(spokeFile, spokes);

    const hub = inNs(topo.hubNs, process.execPath, sitelinkdArgv(files.config, path.join(repo, 'dist', 'sitelinkd.cjs')), sitelinkdEnv());
    children.push(hub);
    hub.stderr?.setEncoding('utf8').on('data', (d: string) => process.stderr.write(`hub: ${d}`));
    await new Promise<void>((resolve, reject) => {
      lines(hub, (l) => { if (/sitelinkd: ready/.test(l)) resolve(); });
      hub.on('exit', (c) => reject(new Error(`hub exited (${c})`)));
    });
    const echo = inNs(topo.hubNs, process.execPath, ['-e', ECHO, HUB.lanAddress]);
    children.push(echo);
    const sp = inNs(topo.spokeNs, process.execPath, [
      spokesBundle,
      spokeFile,
      HUB.address,
      HUB.id,
      HUB.subnet,
      HUB.lanAddress,
      String(ECHO_PORT),
      String(args.restartEveryS),
    ]);
    children.push(sp);
    sp.stderr?.setEncoding('utf8').on('data', (d: string) => process.stderr.write(`spokes: ${d}`));
    let spokeStats: Record<string, unknown> = {};
    lines(sp, (l) => {
      try { spokeStats = JSON.parse(l) as Record<string, unknown>; } catch { /* not a stats line */ }
    });

    const status = (): Promise<StatusResult> => controlRequest(files.socket, 'status');
    const upCount = (s: StatusResult): number => s.peers.filter((p) => p.state === 'up').length;
    const t0 = Date.now();
    while (Date.now() - t0 < 120_000 && upCount(await status()) < spokes.length) await sleep(2000);
    process.stdout.write(
      `soak: ${upCount(await status())}/${spokes.length} tunnels up after ${((Date.now() - t0) / 1000).toFixed(0)} ` +
        `s; running ${args.minutes} min, report every ${args.reportMinutes} min\n`,
    );

    // Forced rekeys: every peer once a minute, spread evenly.
    let rekeys = 0;
    let rekeyErrors = 0;
    let next = 0;
    const rekeyTimer = setInterval(() => {
      const peer = `s${(next++ % spokes.length) + 1}`;
      controlRequest(files.socket, 'rekey', { peer }).then(() => { rekeys++; }, () => { rekeyErrors++; });
    }, 60_000 / spokes.length);

    const header =
      'min  up   sent      lost  lost@restart  rekeys  restarts  hubRSS MiB (drift) ' +
        ' heap MiB (drift)  fds (drift)  timers (drift)  handles  spokes RSS MiB';
    process.stdout.write(`${header}\n`);
    const pid = hub.pid!;
    // The hub is `ip netns exec ... node`: ip execs node, so the pid is node's.
    let first: { rss: number; heap: number; fds: number; timers: number } | null = null;
    const report = async (): Promise<void> => {
      const s = await status();
      const p = s.process;
      const fds = readdirSync(`/proc/${pid}/fd`).length;
      const rss = sample(pid).rssKb / 1024;
      const heap = (p?.heapUsedBytes ?? 0) / 1048576;
      const timers = p?.timers ?? 0;
      first ??= { rss, heap, fds, timers };
      const d = (x: number, y: number, digits = 1): string => `${x.toFixed(digits)} (${x - y >= 0 ? '+' : ''}${(x - y).toFixed(digits)})`;
      const st = spokeStats as { sent?: number; lost?: number; lostAfterRestart?: number; restarts?: number; rssBytes?: number };
      process.stdout.write(
        [
          ((Date.now() - t0) / 60_000).toFixed(0).padStart(3),
          String(upCount(s)).padStart(4),
          String(st.sent ?? 0).padStart(8),
          String(st.lost ?? 0).padStart(6),
          String(st.lostAfterRestart ?? 0).padStart(12),
          String(rekeys).padStart(7),
          String(st.restarts ?? 0).padStart(8),
          d(rss, first.rss).padStart(18),
          d(heap, first.heap).padStart(17),
          d(fds, first.fds, 0).padStart(12),
          d(timers, first.timers, 0).padStart(14),
          String(p?.handles ?? 0).padStart(8),
          ((st.rssBytes ?? 0) / 1048576).toFixed(1).padStart(14),
        ].join('  ') + `${rekeyErrors > 0 ? `  (${rekeyErrors} rekey requests failed)` : ''}\n`,
      );
    };
    await report();
    const end = t0 + args.minutes * 60_000;
    while (Date.now() < end) {
      await sleep(Math.min(args.reportMinutes * 60_000, end - Date.now()));
      if (hub.exitCode !== null) throw new Error(`the hub exited (${hub.exitCode}) during the soak`);
      await report();
    }
    clearInterval(rekeyTimer);
  } finally {
    await cleanup();
    await topo.down();
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`soak: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
