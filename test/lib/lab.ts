// The netns lab from tests. One implementation: scripts/lab/netns does the work
// (the benchmark uses it too); this wraps it and reads its counters.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { labScript } from './paths.ts';
import { run, runIn, runOk } from './proc.ts';
import type { RunOptions, RunResult } from './proc.ts';

export type LabNode = 'lanA' | 'gwA' | 'nat' | 'gwB' | 'lanB';

/** Addresses of the lab (documentation/benchmark ranges, same as the shared pcaps). */
export const LAB = {
  lanA: '198.18.1.10',
  gwALan: '198.18.1.1',
  gwAWan: '100.64.0.2',
  natInside: '100.64.0.1',
  natPublic: '198.51.100.1',
  gwBWan: '198.51.100.2',
  gwBLan: '198.18.2.1',
  lanB: '198.18.2.10',
  subnetA: '198.18.1.0/24',
  subnetB: '198.18.2.0/24',
} as const;

/** IPv6 addresses of a lab after `v6()` (no NAT: gwB reaches gwA's own address). */
export const LAB6 = {
  lanA: '2001:db8:a::10',
  gwALan: '2001:db8:a::1',
  gwAWan: '2001:db8:f0::2',
  gwBWan: '2001:db8:f1::2',
  gwBLan: '2001:db8:b::1',
  lanB: '2001:db8:b::10',
  subnetA: '2001:db8:a::/64',
  subnetB: '2001:db8:b::/64',
} as const;

export interface Counter {
  packets: number;
  bytes: number;
}

/** Counters on the NAT; `leak` is null while the leak guard is off; `v6` is null in a
 * lab without IPv6 (its `leak` null while the guard is off). */
export interface LabCounters {
  ike500: Counter;
  espudp: Counter;
  rawesp: Counter;
  leak: Counter | null;
  v6: { ike500: Counter; espudp: Counter; rawesp: Counter; leak: Counter | null } | null;
}

/** A prefix unique to this run, so parallel tests never share namespaces. */
export function uniquePrefix(tag: string): string {
  return `sl${tag}${process.pid.toString(36)}${randomBytes(2).toString('hex')}`.slice(0, 24);
}

export class Lab {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  ns(node: LabNode): string {
    return `${this.prefix}-${node}`;
  }

  async up(): Promise<void> {
    await runOk('bash', [labScript, 'up', this.prefix]);
  }

  /** Removes everything, even after a crash; safe to call twice. */
  async down(): Promise<void> {
    await run('bash', [labScript, 'down', this.prefix]);
  }

  /** Plain routing for a baseline: gwB routes back to lanA, leak guard off. */
  async plain(on: boolean): Promise<void> {
    await runOk('bash', [labScript, 'plain', on ? 'on' : 'off', this.prefix]);
  }

  /** Leak guards on (rebuilt, so their counters start at zero) or off. */
  async leakguard(on: boolean): Promise<void> {
    await runOk('bash', [labScript, 'leakguard', on ? 'on' : 'off', this.prefix]);
  }

  /** Adds IPv6 on every link (addresses in LAB6), its counters and leak guard. */
  async v6(): Promise<void> {
    await runOk('bash', [labScript, 'v6', this.prefix]);
  }

  /** The NAT gives gwA a new public UDP port (40000-40999); the old mapping stops working. */
  async rebind(): Promise<void> {
    await runOk('bash', [labScript, 'rebind', this.prefix]);
  }

  async counters(): Promise<LabCounters> {
    const r = await runOk('bash', [labScript, 'counters', this.prefix]);
    return parseCounters(r.stdout);
  }

  exec(node: LabNode, cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return runIn(this.ns(node), cmd, args, opts);
  }

  /** True when `count` echo requests from `node` to `dst` (IPv4 or IPv6) all come back. */
  async ping(node: LabNode, dst: string, count = 3, waitS = 1): Promise<boolean> {
    const fam = dst.includes(':') ? ['-6'] : [];
    const r = await this.exec(node, 'ping', [...fam, '-n', '-q', '-c', String(count), '-i', '0.2', '-W', String(waitS), dst], {
      timeoutMs: (count * (waitS + 1) + 5) * 1000,
    });
    return r.code === 0 && new RegExp(`\\b${count} received`).test(r.stdout);
  }
}

export function parseCounters(text: string): LabCounters {
  const found = new Map<string, Counter>();
  for (const line of text.split('\n')) {
    const m = /^(\w+) (\d+) (\d+)$/.exec(line.trim());
    if (m && m[1] !== undefined && m[2] !== undefined && m[3] !== undefined) {
      found.set(m[1], { packets: Number(m[2]), bytes: Number(m[3]) });
    }
  }
  const get = (name: string): Counter => {
    const c = found.get(name);
    if (!c) throw new Error(`lab counters: "${name}" missing in:\n${text}`);
    return c;
  };
  const v6 = found.has('ike500_6')
    ? { ike500: get('ike500_6'), espudp: get('espudp6'), rawesp: get('rawesp6'), leak: found.get('leak6') ?? null }
    : null;
  return { ike500: get('ike500'), espudp: get('espudp'), rawesp: get('rawesp'), leak: found.get('leak') ?? null, v6 };
}

/**
 * A lab for one tap test, up, with a private temp folder beside it; both are removed
 * when the test ends (teardown), whatever happened.
 */
export async function labForTest(t: Test, tag: string): Promise<{ lab: Lab; dir: string }> {
  const lab = new Lab(uniquePrefix(tag));
  const dir = mkdtempSync(path.join(tmpdir(), `sl-${tag}-`));
  t.teardown(async () => {
    await lab.down();
    rmSync(dir, { recursive: true, force: true });
  });
  await lab.up();
  return { lab, dir };
}
