/**
 * Runs `nft -f -` with generated ruleset text. `prefix` lets tests run it inside a
 * network namespace (["ip", "netns", "exec", NAME]).
 */
import { runProgram } from '../base/run-program.ts';
import { deleteRuleset } from './nft.ts';

export interface NftRunOptions {
  /** Command prefix, e.g. ["ip", "netns", "exec", "slpol-a"]. */
  prefix?: string[];
  nft?: string;
  /** Default NFT_TIMEOUT_MS. */
  timeoutMs?: number;
}

/**
 * How long one `nft -f` may take before it is killed and counted as failed. A large
 * ruleset takes seconds on a small board; one that never ends would hold the start
 * (and the SAs it holds back, daemon/action-executor.ts) for good.
 */
export const NFT_TIMEOUT_MS = 30_000;

/**
 * The ruleset goes to nft as a file on its standard input (base/run-program.ts: no
 * pipes to build on the main thread, and an nft that stops reading early cannot
 * fail a write); its error output is kept up to 16 KiB.
 */
export async function runNft(text: string, opts: NftRunOptions = {}): Promise<void> {
  const [cmd, ...args] = [...(opts.prefix ?? []), opts.nft ?? 'nft', '-f', '-'];
  const limitMs = opts.timeoutMs ?? NFT_TIMEOUT_MS;
  const r = await runProgram(cmd ?? 'nft', args, { stdin: text, timeoutMs: limitMs });
  if (r.code === 0) return;
  if (r.timedOut) throw new Error(`nft did not finish in ${limitMs / 1000} s: killed`);
  throw new Error(`nft failed (${r.code ?? r.signal}): ${r.stderr.trim()}`);
}

export const applyRuleset = runNft;

export function removeRuleset(opts: NftRunOptions = {}): Promise<void> {
  return runNft(deleteRuleset(), opts);
}
