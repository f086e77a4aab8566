// The floor under sitelinkd's one-tunnel RSS (issue 10): this Node with nothing of
// sitelinkd but the built-ins a gateway uses, each used once (crypto with an EC key
// pair and a hash, a bound UDP socket, a listening Unix socket, a spawned program, a
// file read, os), the ESP engine's addon loaded, and the start's memory released the
// way sitelinkd releases it (addon releaseMemory: V8's low-memory collection and
// malloc_trim). Prints VmRSS and VmHWM in MiB, as bench:ike does for the hub.
// Usage: node $(cat board/common/rootfs/usr/lib/sitelink/sitelinkd.node-flags) \
//          scripts/bench/ike/node-floor.mjs   (after npm run build; as bench:ike runs
//        sitelinkd: without NODE_OPTIONS and NODE_EXTRA_CA_CERTS in the environment)
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const addon = createRequire(import.meta.url)(path.join(repo, 'native', 'build', 'Release', 'sitelink_native.node'));
const udp = dgram.createSocket('udp4');
await new Promise((resolve) => udp.bind(0, '127.0.0.1', resolve));
const sock = path.join(os.tmpdir(), `node-floor-${process.pid}.sock`);
const server = net.createServer().listen(sock);
crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
crypto.createHash('sha256').update('x').digest();
spawnSync('true');
readFileSync('/proc/self/status', 'utf8');
os.cpus();
const mib = (field) => {
  const kib = Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  return (kib / 1024).toFixed(1);
};
setTimeout(() => {
  addon.releaseMemory?.();
  setTimeout(() => {
    console.log(`node-floor: VmRSS ${mib('VmRSS')} MiB, VmHWM ${mib('VmHWM')} MiB (${process.version})`);
    server.close();
    udp.close();
    rmSync(sock, { force: true });
  }, 1500);
}, 1500);
