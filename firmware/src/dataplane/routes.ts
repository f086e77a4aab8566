/**
 * Routing into the engine's TUN device, done with iproute2 (the board's busybox
 * `ip` understands every command used here: tables, fwmark rules, preferences).
 *
 * The filters' weights decide a packet, not only the longest route prefix
 * (policy/route-marks.ts classifies in nftables, most specific filter first):
 *
 *   pref 5300  fwmark MARK_CLEAR  lookup main   permit/block filters more specific than
 *                                               a negotiate filter: never into the TUN
 *   pref 5301  fwmark MARK_TUN    lookup 153    negotiate filters with a protocol or
 *                                               ports: table 153 = default dev TUN
 *   pref 5302                     lookup 152    whole remote subnets of negotiate rules
 *                                               (addRoute): fail closed for the rest
 *
 * Table numbers stay below 256: the board's busybox `ip` refuses larger table IDs
 * ("invalid argument '5301' to 'table ID'"), though the kernel and iproute2 take them.
 *
 * Remote subnets live in table 152 rather than main so that main stays the clear
 * path that MARK_CLEAR traffic takes (strongSwan keeps its routes apart in table 220
 * for the same reason). The TUN's removal drops its routes from both tables;
 * removePolicyRouting() drops the rules.
 */
import { ipFamily } from '../base/ip-text.ts';
import { failureText, runProgram } from '../base/run-program.ts';
import { IpBatch } from './ip-batch.ts';
import { checkCidr } from './validate.ts';

export const ROUTE_TABLE = 152;
export const MARK_TABLE = 153;
export const MARK_CLEAR = 0x53c1;
export const MARK_TUN = 0x53c2;
const PREF = { clear: 5300, tun: 5301, table: 5302 } as const;

/** Route changes of all tunnels share batched `ip` processes (ip-batch.ts). */
export const routeBatch = new IpBatch();

function family(cidr: string): string {
  return ipFamily(cidr.split('/')[0] ?? '') === 6 ? '-6' : '-4';
}

export async function addRoute(cidr: string, dev: string): Promise<void> {
  checkCidr(cidr, 'route');
  await routeBatch.run({ options: [family(cidr)], args: ['route', 'replace', cidr, 'dev', dev, 'table', String(ROUTE_TABLE)] });
}

export async function deleteRoute(cidr: string, dev: string): Promise<void> {
  checkCidr(cidr, 'route');
  try {
    await routeBatch.run({ options: [family(cidr)], args: ['route', 'del', cidr, 'dev', dev, 'table', String(ROUTE_TABLE)] });
  } catch (e) {
    if (!/No such process|Cannot find device/.test((e as Error).message)) throw e;
  }
}

/** `a` quoted for sh (single quotes; a quote inside closes, escapes and reopens). */
const shQuote = (a: string): string => `'${a.replaceAll("'", "'\\''")}'`;

/**
 * Runs `script` in one `sh`, rejecting with its stderr when it exits non-zero. The
 * policy-routing commands below are a dozen `ip` runs: the board's busybox `ip` has
 * no -batch (ip-batch.ts), and each process Node spawns costs ~0.1 s on the emulated
 * board (a fork of the whole daemon), each `ip` a shell starts ~0.06 s; they sat
 * between main() and the first IKE_SA_INIT, one after the other.
 */
async function sh(script: string): Promise<void> {
  // No pipes for its output (base/run-program.ts): they cost the main thread as much as the fork.
  const r = await runProgram('sh', ['-c', script], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(r.stderr.trim() || `sh: ${failureText(r, 10_000)}`);
}

const PREFS = Object.values(PREF);

/**
 * Shell: deletes our rules of family $1 (-4/-6), any number of copies (at most 8
 * each: a crashed run may have left them). One `ip rule show` first: at boot there
 * are none, and a failing `del` per preference cost as much as a listing each.
 */
const removeFamily =
  `rm_fam() { case "$(ip $1 rule show 2>/dev/null)" in *${PREFS.map((p) => `"${p}:"*`).join('|*')}) ` +
  `for p in ${PREFS.join(' ')}; do n=0; while [ $n -lt 8 ] && ip $1 rule del pref $p 2>/dev/null; do n=$((n + 1)); done; done ;; esac; }\n`;

/** Deletes our rules, both families at once. */
export async function removePolicyRouting(): Promise<void> {
  await sh(`${removeFamily}rm_fam -4 & rm_fam -6; wait\n`);
}

/** Installs the rules above and table 153's default route into `dev`; idempotent. */
export async function installPolicyRouting(dev: string): Promise<void> {
  const add = [
    ['rule', 'add', 'pref', String(PREF.clear), 'fwmark', `0x${MARK_CLEAR.toString(16)}`, 'lookup', 'main'],
    ['rule', 'add', 'pref', String(PREF.tun), 'fwmark', `0x${MARK_TUN.toString(16)}`, 'lookup', String(MARK_TABLE)],
    ['rule', 'add', 'pref', String(PREF.table), 'lookup', String(ROUTE_TABLE)],
    ['route', 'replace', 'default', 'dev', dev, 'table', String(MARK_TABLE)],
  ]
    // Each command names itself in its failure: the first that fails stops its family.
    .map((c) => `{ ip $1 ${c.map(shQuote).join(' ')} || { echo "ip $1 "${shQuote(`${c.join(' ')}: failed`)} >&2; false; }; }`)
    .join(' && ');
  // The two families side by side (both CPUs of the board). A kernel without IPv6
  // has no IPv6 rules to install; IPv4 must work. The batch probe runs meanwhile:
  // the tunnels' routes (addRoute) come right after.
  void routeBatch.probe();
  await sh(`${removeFamily}fam() { rm_fam $1; ${add}; }\n{ fam -6; } 2>/dev/null &\nfam -4; rc=$?; wait; exit $rc\n`);
}
