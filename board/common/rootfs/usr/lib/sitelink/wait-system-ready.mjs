// Loaded by /usr/sbin/sitelinkd (node --import) before sitelinkd's bundle. At
// boot /etc/init.d/rcS launches sitelinkd as soon as Node's files are unpacked,
// while it still loads modules, applies the firewall and brings the network
// up: Node's own start (seconds of one CPU under QEMU) overlaps those steps,
// and sitelinkd's code, which needs them, runs once rcS has made
// /run/sitelink-system-ready. Any later start finds it there and waits for
// nothing. Should the boot never get there, sitelinkd starts after five
// minutes anyway (and reports what is missing itself).
import { existsSync } from 'node:fs';

const READY = '/run/sitelink-system-ready';
const LIMIT_MS = 300_000;
if (!existsSync(READY)) {
  const until = Date.now() + LIMIT_MS;
  while (!existsSync(READY) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
  if (!existsSync(READY)) process.stderr.write(`sitelinkd: ${READY} missing after ${LIMIT_MS / 1000} s, starting anyway\n`);
}
