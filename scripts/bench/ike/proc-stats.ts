// Memory and CPU of one process from /proc: VmRSS and VmHWM (kB) and
// utime + stime of all its threads (milliseconds).

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

export interface ProcSample {
  rssKb: number;
  hwmKb: number;
  cpuMs: number;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export function sample(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  // Fields after the parenthesised comm: state is field 3, utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11] ?? 0) + Number(rest[12] ?? 0);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), cpuMs: (ticks * 1000) / CLK_TCK };
}

/** The pid of the process in namespace `ns` whose command line contains `needle`. */
export function pidInNs(ns: string, needle: string): number | null {
  const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter((l) => l !== '');
  for (const p of pids) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle)) return Number(p);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** BENCH_HUB_SMAPS=DIR: the hub's /proc status, smaps and thread names at the sample
 * with all tunnels up, into DIR/<label>-<pid>.proc, for a breakdown of its RSS by mapping
 * (malloc arenas, V8 spaces, libnode/libcrypto pages, thread stacks; issue 10). */
export function dumpProc(pid: number, dir: string, label: string): void {
  const read = (f: string): string => {
    try {
      return readFileSync(`/proc/${pid}/${f}`, 'utf8');
    } catch (e) {
      return `(${f}: ${e instanceof Error ? e.message : String(e)})\n`;
    }
  };
  mkdirSync(dir, { recursive: true });
  const threads = readdirSync(`/proc/${pid}/task`).map((t) => `${t} ${read(`task/${t}/comm`).trim()}`);
  writeFileSync(
    path.join(dir, `${label}-${pid}.proc`),
    `== status\n${read('status')}== threads\n${threads.join('\n')}\n== smaps\n${read('smaps')}`,
  );
}
