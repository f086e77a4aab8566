// The soak's spoke side, run inside the spoke namespace: N IKEv1 spokes (the
// project's own IkeNode, one per spoke address, UDP 500) sharing one ESP engine
// (raw ESP, one TUN) that installs what they negotiate, so their tunnels carry
// real traffic. Every spoke sends one UDP datagram a second from its LAN address
// to the hub's echo server and counts the answers; every RESTART_EVERY_S one
// random spoke "restarts": its SAs vanish without Deletes and a fresh IkeNode
// negotiates again (INITIAL-CONTACT). A JSON line of totals goes to stdout every
// 10 s.
//
// Usage: node soak-spokes.mjs SPOKES_FILE HUB_ADDRESS HUB_ID HUB_SUBNET ECHO_ADDRESS ECHO_PORT RESTART_EVERY_S

import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { Dataplane } from '../../../firmware/src/dataplane/dataplane.ts';
import { saSpecOf } from '../../../firmware/src/daemon/sa-spec.ts';
import { IkeNode } from '../../../firmware/src/ike/exchange/ike-node.ts';
import { systemEnv } from '../../../firmware/src/ike/system-env.ts';
import type { Action } from '../../../firmware/src/ike/exchange/types.ts';
import { spokePolicy, type HubTarget } from '../../../firmware/src/tools/loadgen/spoke-policy.ts';
import { readSpokes, type Spoke } from '../../../firmware/src/tools/loadgen/spokes.ts';

const [spokesFile, hubAddress, hubId, hubSubnet, echoAddress, echoPortArg, restartArg] = process.argv.slice(2);
if (restartArg === undefined) {
  process.stderr.write('usage: soak-spokes SPOKES HUB_ADDRESS HUB_ID HUB_SUBNET ECHO_ADDRESS ECHO_PORT RESTART_EVERY_S\n');
  process.exit(2);
}
const echoPort = Number(echoPortArg);
const restartEveryMs = Number(restartArg) * 1000;
/** A datagram unanswered this long is lost. */
const LOSS_AFTER_MS = 5000;
/** Losses of a spoke this soon after its restart are the restart's, not the data plane's. */
const RESTART_GRACE_MS = 15_000;

const hub: HubTarget = { address: hubAddress!, id: hubId!, subnet: hubSubnet!, group: 14, pfsGroup: null };
const env = systemEnv;
const spokes = readSpokes(spokesFile!);

const dp = new Dataplane();
// No NAT between spokes and hub: IKE stays on 500, ESP is raw (IP proto 50). The
// engine's UDP socket is only needed for NAT-T, so it sits on loopback.
dp.open({ tun: 'sl0', listen: { address: '127.0.0.1', port: 4500 }, rawEsp: true, mtu: 1400 });
await dp.addRoute(hubSubnet!);

interface SpokeState {
  spoke: Spoke;
  node: IkeNode;
  ike: Socket;
  echo: Socket;
  /** SPIs this spoke's node installed, for a restart to remove them. */
  sas: Set<string>;
  restartedAt: number;
  pending: Map<number, number>;
  seq: number;
}

const totals = { sent: 0, answered: 0, lost: 0, lostAfterRestart: 0, restarts: 0, installs: 0, deletes: 0, failures: 0 };

function bind(s: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => {
      s.off('error', reject);
      resolve();
    });
  });
}

function apply(st: SpokeState, actions: Action[]): void {
  for (const a of actions) {
    try {
      if (a.kind === 'send') st.ike.send(a.data, a.to.port, a.to.address);
      else if (a.kind === 'install') {
        try {
          dp.addSa(saSpecOf(a.sa, 'openssl'));
          st.sas.add(`${a.sa.direction}:${a.sa.spi}`);
          totals.installs++;
        } finally {
          a.sa.encKey.fill(0);
          a.sa.authKey?.fill(0);
        }
      } else if (a.kind === 'delete') {
        dp.deleteSa(a.spi, a.direction);
        st.sas.delete(`${a.direction}:${a.spi}`);
        totals.deletes++;
      } else if (a.kind === 'failed') totals.failures++;
    } catch (e) {
      process.stderr.write(`soak-spokes ${st.spoke.id}: ${a.kind}: ${String(e)}\n`);
    }
  }
}

const states: SpokeState[] = [];
for (const s of spokes) {
  const ike = createSocket({ type: 'udp4' });
  await bind(ike, 500, s.address);
  const echo = createSocket({ type: 'udp4' });
  await bind(echo, 0, s.subnet.replace(/\.0\/24$/, '.1'));
  const st: SpokeState = {
    spoke: s,
    node: new IkeNode(env, [spokePolicy(s, hub)]),
    ike,
    echo,
    sas: new Set(),
    restartedAt: -Infinity,
    pending: new Map(),
    seq: 0,
  };
  ike.on('message', (m, r) => apply(st, st.node.receive(m, { address: r.address, port: r.port }, 500)));
  echo.on('message', (m) => {
    const seq = m.length >= 4 ? m.readUInt32BE(0) : -1;
    if (st.pending.delete(seq)) totals.answered++;
  });
  states.push(st);
}

// Bring everything up, a few at a time.
for (let i = 0; i < states.length; i++) {
  const st = states[i]!;
  apply(st, st.node.initiate(st.spoke.id));
  if (i % 10 === 9) await new Promise((r) => setTimeout(r, 200));
}

function restart(st: SpokeState): void {
  // A crash: no Deletes, the engine loses the spoke's SAs, a new node starts from scratch.
  for (const key of st.sas) {
    const [dir, spi] = key.split(':');
    dp.deleteSa(Number(spi), dir === 'in' ? 'in' : 'out');
  }
  st.sas.clear();
  st.node = new IkeNode(env, [spokePolicy(st.spoke, hub)]);
  st.restartedAt = performance.now();
  totals.restarts++;
  apply(st, st.node.initiate(st.spoke.id));
}

const tick = setInterval(() => {
  const now = performance.now();
  for (const st of states) {
    apply(st, st.node.tick());
    // Retry a spoke whose negotiation failed or timed out.
    if (st.node.status().length === 0) apply(st, st.node.initiate(st.spoke.id));
    const seq = st.seq++ >>> 0;
    const b = Buffer.alloc(64);
    b.writeUInt32BE(seq, 0);
    st.pending.set(seq, now);
    totals.sent++;
    st.echo.send(b, echoPort, echoAddress!);
    for (const [k, at] of st.pending) {
      if (now - at < LOSS_AFTER_MS) break;
      st.pending.delete(k);
      if (at - st.restartedAt < RESTART_GRACE_MS) totals.lostAfterRestart++;
      else totals.lost++;
    }
  }
}, 1000);

const restarts = setInterval(() => restart(states[Math.floor(Math.random() * states.length)]!), restartEveryMs);
const report = setInterval(() => {
  const c = dp.counters();
  const engine = { dropsNoSa: String(c.dropsNoSa), dropsBadSpi: String(c.dropsBadSpi) };
  process.stdout.write(`${JSON.stringify({ ...totals, rssBytes: process.memoryUsage().rss, engine })}\n`);
}, 10_000);

const stop = (): void => {
  clearInterval(tick);
  clearInterval(restarts);
  clearInterval(report);
  for (const st of states) {
    st.ike.close();
    st.echo.close();
  }
  dp.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
