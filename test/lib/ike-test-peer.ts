// Starts a sitelink IKE node as a test peer in a lab namespace (the program is
// ike-test-peer-main.ts, bundled with esbuild into the test's temp folder so that it
// runs with plain node under `ip netns exec`). Not a test file itself.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface TestPeerConfig {
  /** Our address (bound) and the peer's as we see it. */
  local: string;
  remote: string;
  localId: string;
  remoteId: string;
  psk: string;
  /** Our subnet and the peer's. */
  localNet: string;
  remoteNet: string;
  /** Quick mode PFS group we require (null: none). */
  pfsGroup: number | null;
  refusal: 'normal' | 'spi-less';
}

/** Bundle the test peer into `dir` and start it in namespace `ns`. */
export async function startTestPeer(ns: string, dir: string, c: TestPeerConfig): Promise<{ child: ChildProcess; output: () => string }> {
  const out = path.join(dir, 'ike-test-peer.mjs');
  await build({
    entryPoints: [path.join(path.dirname(fileURLToPath(import.meta.url)), 'ike-test-peer-main.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    external: ['*.node'],
    logLevel: 'warning',
    banner: { js: "import { createRequire as __slCreateRequire } from 'node:module'; const require = __slCreateRequire(import.meta.url);" },
  });
  const cfg = path.join(dir, 'ike-test-peer.json');
  writeFileSync(cfg, JSON.stringify(c), { mode: 0o600 });
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, out, cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return { child, output: () => text };
}

