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
}

export function runNft(text: string, opts: NftRunOptions = {}): Promise<void> {
  const argv = [...(opts.prefix ?? []), opts.nft ?? 'nft', '-f', '-'];
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd ?? 'nft', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nft failed (${code}): ${err.trim()}`))));
    child.stdin.end(text);
  });
}

export const applyRuleset = runNft;

export function removeRuleset(opts: NftRunOptions = {}): Promise<void> {
  return runNft(deleteRuleset(), opts);
}
