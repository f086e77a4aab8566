// Two IkeNode instances wired together in memory, with an optional
// masquerading NAT in front of A (as in the netns lab: A 100.64.0.2 behind
// 198.51.100.1, B 198.51.100.2), a fake clock, and hooks to drop or alter
// datagrams. Not a test file itself (no .test.ts suffix).
//
// Every random value the nodes draw (cookies, SPIs, nonces, DH private keys, IVs)
// comes from a seeded generator: a file's run seed is $IKE_HARNESS_SEED or a fresh
// one printed when the file fails, and each harness takes `<run seed>/<its number>`,
// so `IKE_HARNESS_SEED=<printed> npx tap <file>` replays a flaky run byte for byte.
// (The ECDSA signature nonce alone is OpenSSL's: see ike/crypto/ecdsa-digest.ts.)

import { randomBytes } from 'node:crypto';
import { seededRandom } from '../lib/seeded-random.ts';
import { Secret } from '../../firmware/src/base/secret.ts';
import { IkeNode } from '../../firmware/src/ike/exchange/ike-node.ts';
import type { ReplyBudgetLimits } from '../../firmware/src/ike/common/reply-budget.ts';
import type {
  Action,
  ChildSaInstall,
  Endpoint,
  ExchangeEnv,
  FailureDetail,
  PeerPolicy,
  TunnelPolicy,
} from '../../firmware/src/ike/exchange/types.ts';
import { IdType } from '../../firmware/src/ike/wire/index.ts';

export const A_PRIVATE = '100.64.0.2';
export const NAT_PUBLIC = '198.51.100.1';
export const B_ADDR = '198.51.100.2';

const RUN_SEED = process.env['IKE_HARNESS_SEED'] ?? randomBytes(8).toString('hex');
let harnesses = 0;

function nextSeed(): string {
  if (harnesses === 0) {
    process.once('exit', (code) => {
      if (code !== 0) process.stderr.write(`ike-exchange-harness: replay this run with IKE_HARNESS_SEED=${RUN_SEED}\n`);
    });
  }
  return `${RUN_SEED}/${harnesses++}`;
}

export class FakeClock {
  t = 1_000_000;
  now = (): number => this.t;
}

export interface Datagram {
  from: 'A' | 'B';
  data: Buffer;
  src: Endpoint;
  dst: Endpoint;
}

export interface HarnessOptions {
  nat?: boolean;
  pskA?: string;
  pskB?: string;
  tunnelA?: Partial<TunnelPolicy>;
  tunnelB?: Partial<TunnelPolicy>;
  peerA?: Partial<PeerPolicy>;
  peerB?: Partial<PeerPolicy>;
  /** IkeNode option: announce and use IKEv1 fragmentation (default true). */
  fragmentationA?: boolean;
  fragmentationB?: boolean;
  /** IkeNode option of B: the MM1 reply budget (default MM1_BUDGET; null: none). */
  mm1BudgetB?: ReplyBudgetLimits | null;
  /** Path MTU that loses IP fragments: datagrams whose IPv4 packet (UDP payload + 20 IP
   * + 8 UDP, + 4 non-ESP marker on port 4500) is larger are dropped. */
  maxDatagram?: number;
  /** Seed of the nodes' random source (default: the run seed and this harness's number). */
  seed?: string;
  /** Calendar time when the fake clock starts (default: now); certificate checks read it. */
  wallClockStart?: Date;
  /** Milliseconds the clock moves for each datagram delivered (default 0: all at once).
   * With 0, SAs made in one exchange burst share a creation time, which no real
   * network gives; tests of orderings by age set 1. */
  latencyMs?: number;
}

export function tunnel(local: string, remote: string, over: Partial<TunnelPolicy> = {}): TunnelPolicy {
  return {
    name: 'lan',
    action: 'secure',
    local,
    remote,
    methods: [{ esp: 'aes128gcm16', lifetimeSeconds: 3600, lifetimeKilobytes: 100000 }],
    pfsGroup: null,
    ...over,
  };
}

function peer(
  name: string,
  localAddress: string,
  remoteAddress: string,
  localName: string,
  remoteName: string,
  psk: string,
  t: TunnelPolicy,
  over: Partial<PeerPolicy> = {},
): PeerPolicy {
  return {
    name,
    remoteAddress,
    localAddress,
    localId: { idType: IdType.FQDN, name: localName },
    remoteId: { idType: IdType.FQDN, name: remoteName },
    psk: new Secret(Buffer.from(psk)),
    ikeMethods: [
      { encryption: 'aes256', integrity: 'sha256', dhGroup: 14 },
      { encryption: 'aes128', integrity: 'sha1', dhGroup: 14 },
    ],
    ikeLifetimeSeconds: 28800,
    allowWeak: false,
    natTraversal: 'auto',
    keepaliveSeconds: 20,
    dpd: { delaySeconds: 30, timeoutSeconds: 120, action: 'clear' },
    tunnels: [t],
    ...over,
  };
}

/** What the harness drives: the IKEv1 node, or the IKEv2 node (same calls). */
export interface NodeLike {
  initiate(peer: string): Action[];
  receive(data: Buffer, from: Endpoint, localPort: number): Action[];
  tick(): Action[];
}

export type NodeFactory<N extends NodeLike> = (
  env: ExchangeEnv,
  peers: PeerPolicy[],
  options: { fragmentation?: boolean; mm1Budget?: ReplyBudgetLimits | null },
) => N;

const ikeV1: NodeFactory<IkeNode> = (env, peers, options) => new IkeNode(env, peers, options);

export class Harness<N extends NodeLike = IkeNode> {
  readonly clock = new FakeClock();
  readonly seed: string;
  readonly a: N;
  readonly b: N;
  readonly nat: boolean;
  /** Every datagram put on the wire, in order. */
  readonly wire: Datagram[] = [];
  readonly installs: { A: ChildSaInstall[]; B: ChildSaInstall[] } = { A: [], B: [] };
  readonly deletes: { A: number[]; B: number[] } = { A: [], B: [] };
  readonly failed: { A: string[]; B: string[] } = { A: [], B: [] };
  readonly failures: { A: FailureDetail[]; B: FailureDetail[] } = { A: [], B: [] };
  readonly logs: { A: string[]; B: string[] } = { A: [], B: [] };
  readonly keepalives: { A: number[]; B: number[] } = { A: [], B: [] };
  /** Every batch of actions one call of a node returned, in order (what happened in one step). */
  readonly steps: { side: 'A' | 'B'; actions: Action[] }[] = [];
  /** Return null to drop, or a replacement buffer. */
  filter: (d: Datagram) => Buffer | null = (d) => d.data;
  /** Datagrams lost to maxDatagram. */
  readonly tooBig: Datagram[] = [];
  readonly #maxDatagram: number;
  readonly #latencyMs: number;
  #queue: Datagram[] = [];

  constructor(o: HarnessOptions = {}, make: NodeFactory<N> = ikeV1 as unknown as NodeFactory<N>) {
    this.nat = o.nat ?? false;
    const aAddr = this.nat ? A_PRIVATE : NAT_PUBLIC;
    this.seed = o.seed ?? nextSeed();
    const start = (o.wallClockStart ?? new Date()).getTime() - this.clock.t;
    const env: ExchangeEnv = {
      now: this.clock.now,
      random: seededRandom(this.seed),
      wallClock: () => new Date(start + this.clock.t),
    };
    this.#maxDatagram = o.maxDatagram ?? Infinity;
    this.#latencyMs = o.latencyMs ?? 0;
    this.a = make(
      env,
      [
        peer(
          'gwB',
          aAddr,
          B_ADDR,
          'gwA.lab',
          'gwB.lab',
          o.pskA ?? 'lab-secret',
          tunnel('198.18.1.0/24', '198.18.2.0/24', o.tunnelA),
          o.peerA,
        ),
      ],
      {
        ...(o.fragmentationA !== undefined ? { fragmentation: o.fragmentationA } : {}),
      },
    );
    this.b = make(
      env,
      [
        peer(
          'gwA',
          B_ADDR,
          NAT_PUBLIC,
          'gwB.lab',
          'gwA.lab',
          o.pskB ?? 'lab-secret',
          tunnel('198.18.2.0/24', '198.18.1.0/24', o.tunnelB),
          o.peerB,
        ),
      ],
      {
        ...(o.fragmentationB !== undefined ? { fragmentation: o.fragmentationB } : {}),
        ...(o.mm1BudgetB !== undefined ? { mm1Budget: o.mm1BudgetB } : {}),
      },
    );
  }

  /** A's source after the NAT: ports are remapped like a masquerade would. */
  #natOut(port: number): number {
    return this.nat ? port + 10000 : port;
  }

  apply(side: 'A' | 'B', actions: Action[]): void {
    const node = side === 'A' ? this.a : this.b;
    const local = side === 'A' ? (this.nat ? A_PRIVATE : NAT_PUBLIC) : B_ADDR;
    if (actions.length > 0) this.steps.push({ side, actions });
    for (const act of actions) {
      switch (act.kind) {
        case 'send':
          this.#queue.push({ from: side, data: act.data, src: { address: local, port: act.localPort }, dst: act.to });
          break;
        case 'install':
          this.installs[side].push(act.sa);
          break;
        case 'delete':
          this.deletes[side].push(act.spi);
          break;
        case 'failed':
          this.failed[side].push(act.reason);
          this.failures[side].push(act.detail);
          break;
        case 'log':
          this.logs[side].push(`${act.event.step} ${act.event.message}`);
          break;
        case 'keepalive':
          this.keepalives[side].push(act.seconds);
          break;
        case 'update-remote':
          break;
      }
    }
    void node;
  }

  /** Deliver queued datagrams until the network is quiet. */
  pump(limit = 100): void {
    for (let i = 0; i < limit && this.#queue.length > 0; i++) {
      const d = this.#queue.shift()!;
      this.wire.push(d);
      this.clock.t += this.#latencyMs;
      if (d.data.length + 28 + (d.dst.port === 500 ? 0 : 4) > this.#maxDatagram) {
        this.tooBig.push(d);
        continue;
      }
      const data = this.filter(d);
      if (data === null) continue;
      if (d.from === 'A') {
        if (d.dst.address !== B_ADDR) continue;
        const from = { address: NAT_PUBLIC, port: this.#natOut(d.src.port) };
        this.apply('B', this.b.receive(data, from, d.dst.port));
      } else {
        if (d.dst.address !== NAT_PUBLIC) continue;
        // Through the NAT back to A's private port.
        const port = this.nat ? d.dst.port - 10000 : d.dst.port;
        if (port <= 0) continue;
        this.apply('A', this.a.receive(data, { address: B_ADDR, port: d.src.port }, port));
      }
    }
  }

  advance(ms: number): void {
    this.clock.t += ms;
    this.apply('A', this.a.tick());
    this.apply('B', this.b.tick());
    this.pump();
  }

  bringUp(): void {
    this.apply('A', this.a.initiate('gwB'));
    this.pump();
  }
}
