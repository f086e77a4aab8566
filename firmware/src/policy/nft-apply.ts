/**
 * Runs `nft -f -` with generated ruleset text. `prefix` lets tests run it inside a
 * network namespace (["ip", "netns", "exec", NAME]).
 */
import { spawn } from 'node:child_process';
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

export function runNft(text: string, opts: NftRunOptions = {}): Promise<void> {
  const argv = [...(opts.prefix ?? []), opts.nft ?? 'nft', '-f', '-'];
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd ?? 'nft', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    let timedOut = false;
    const limitMs = opts.timeoutMs ?? NFT_TIMEOUT_MS;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else if (timedOut) reject(new Error(`nft did not finish in ${limitMs / 1000} s: killed`));
      else reject(new Error(`nft failed (${code ?? signal}): ${err.trim()}`));
    });
    // nft may exit (or be killed) before it has read the whole ruleset: the write's
    // EPIPE is that same failure, reported by 'close' above, not a crash of the daemon.
    child.stdin.on('error', () => undefined);
    child.stdin.end(text);
  });
}

export const applyRuleset = runNft;

export function removeRuleset(opts: NftRunOptions = {}): Promise<void> {
  return runNft(deleteRuleset(), opts);
}
