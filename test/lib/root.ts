// Lab tests need root (namespaces, nftables, TUN) and a few host tools.
// Returns why a test cannot run here, or null when it can.
import { existsSync } from 'node:fs';

const TOOLS = ['/usr/sbin/ip', '/usr/sbin/nft', '/usr/bin/ping'];

export function labSkipReason(extraTools: readonly string[] = []): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return 'SKIPPED: needs root (network namespaces, nftables, TUN); run as root';
  }
  for (const tool of [...TOOLS, ...extraTools]) {
    if (!existsSync(tool)) return `SKIPPED: ${tool} is missing (bash scripts/setup installs it)`;
  }
  return null;
}
