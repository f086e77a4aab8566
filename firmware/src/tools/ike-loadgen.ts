// ike-loadgen: an IKE initiator that brings up one tunnel (IKEv1 main mode + quick
// mode, or IKEv2 IKE_SA_INIT + IKE_AUTH with --version 2; PSK) from each of N spokes to one hub, with the project's own exchange
// state machines over real UDP sockets, and prints one JSON line of results
// (tools/loadgen/stats.ts). It then keeps answering the hub until SIGTERM or
// --linger seconds, so the hub can be measured with every tunnel up.
//
// Usage: ike-loadgen --spokes FILE --hub ADDR --hub-id ID --hub-subnet CIDR
//                    --group N [--pfs N|none] [--concurrency N] [--timeout S] [--linger S] [--version 1|2]
// FILE: one "ADDRESS ID PSK_HEX SUBNET" per line (tools/loadgen/spokes.ts);
// every ADDRESS must be configured locally (ports 500 and 4500 are bound on it).

import { runLoad } from './loadgen/runner.ts';
import { readSpokes } from './loadgen/spokes.ts';

interface Args {
  spokes: string;
  hub: string;
  hubId: string;
  hubSubnet: string;
  group: number;
  pfs: number | null;
  concurrency: number;
  timeoutS: number;
  lingerS: number;
  version: 1 | 2;
}

function usage(msg: string): never {
  process.stderr.write(
    `ike-loadgen: ${msg}\nusage: ike-loadgen --spokes FILE --hub ADDR --hub-id ID --hub-subnet CIDR --group N ` +
      '[--pfs N|none] [--concurrency N] [--timeout S] [--linger S] [--version 1|2]\n',
  );
  process.exit(2);
}

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) usage(`${name} must be a positive integer`);
  return n;
}

function parseArgs(argv: readonly string[]): Args {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    const v = argv[i + 1];
    if (!k.startsWith('--') || v === undefined) usage(`bad argument ${k}`);
    m.set(k.slice(2), v);
  }
  const need = (k: string): string => m.get(k) ?? usage(`--${k} is required`);
  const pfs = m.get('pfs') ?? 'none';
  const version = m.get('version') ?? '1';
  if (version !== '1' && version !== '2') usage('--version must be 1 or 2');
  return {
    spokes: need('spokes'),
    hub: need('hub'),
    hubId: need('hub-id'),
    hubSubnet: need('hub-subnet'),
    group: positive('--group', need('group')),
    pfs: pfs === 'none' ? null : positive('--pfs', pfs),
    concurrency: positive('--concurrency', m.get('concurrency') ?? '32'),
    timeoutS: positive('--timeout', m.get('timeout') ?? '120'),
    lingerS: positive('--linger', m.get('linger') ?? '60'),
    version: version === '2' ? 2 : 1,
  };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const spokes = readSpokes(a.spokes);
  const run = await runLoad(
    spokes,
    { address: a.hub, id: a.hubId, subnet: a.hubSubnet, group: a.group, pfsGroup: a.pfs, version: a.version },
    { concurrency: a.concurrency, timeoutMs: a.timeoutS * 1000 },
  );
  process.stdout.write(`${JSON.stringify(run.result)}\n`);
  const stop = (): void => {
    run.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setTimeout(stop, a.lingerS * 1000);
}

main().catch((e: unknown) => {
  process.stderr.write(`ike-loadgen: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
