// sitelinkd's start (daemon/daemon.ts): the first negotiation runs while `nft` applies
// the policy, but no SA reaches the engine before the policy is in place; when it
// cannot be applied the daemon does not start. gwA's `nft` is the real one behind a
// wrapper that takes 2 s first (a slow board), or one that fails.
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitUntil } from '../lib/wait.ts';
import { Sitelinkd, labGatewayPair, sitelinkdPath } from './ike-sitelinkd.ts';

const skip = labSkipReason();

interface Entry {
  time: string;
  peer?: string;
  step: string;
  message: string;
}

function entries(text: string): Entry[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Entry);
}

/** A directory whose `nft` runs `body` (sh) instead; $REAL is the real nft. */
function nftWrapper(dir: string, body: string): string {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const real = execFileSync('sh', ['-c', 'command -v nft']).toString().trim();
  writeFileSync(path.join(bin, 'nft'), `#!/bin/sh\nREAL=${real}\n${body}\n`);
  chmodSync(path.join(bin, 'nft'), 0o755);
  return bin;
}

for (const version of [2, 1] as const) {
  t.test(`IKEv${version}: the first negotiation runs beside a slow nft; the SAs wait for the policy`, { skip: skip ?? false }, async (t) => {
    if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
    const { lab, dir } = await labForTest(t, `sp${version}`);
    const done = path.join(dir, 'nft-done');
    // The first run (the start's ruleset) takes 2 s; each run's end is written down (ms).
    const bin = nftWrapper(dir, `[ -f ${done} ] || sleep 2\n"$REAL" "$@"; rc=$?\ndate +%s%3N >> ${done}\nexit $rc`);
    const psk = `lab-psk-${Math.random().toString(36).slice(2)}`;
    const files = labGatewayPair(dir, psk, { a: { version }, b: { version } });
    const b = await Sitelinkd.start(lab.ns('gwB'), files.b);
    t.teardown(() => b.stop());
    const a = await Sitelinkd.start(lab.ns('gwA'), files.a, 30_000, { PATH: `${bin}:${process.env.PATH ?? ''}` });
    t.teardown(() => a.stop());
    t.ok(await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 20_000, 500), 'lanA reaches lanB once the tunnel is up');
    t.ok(await lab.ping('lanB', LAB.lanA, 3), 'and lanB reaches lanA (3/3)');
    t.equal((await lab.counters()).leak?.packets, 0, 'no cleartext LAN-to-LAN packet reached the NAT');

    const policyAt = Number(readFileSync(done, 'utf8').split('\n')[0]);
    const at = (e: Entry | undefined): number => Date.parse(e?.time ?? 'none');
    // gwB (start = none) logs nothing about gwA before gwA's first datagram.
    const heard = entries(b.logText()).find((e) => e.peer !== undefined);
    const heardAt = at(heard);
    t.ok(heardAt < policyAt, `gwB heard gwA's first datagram (${heard?.step}) before gwA's policy was applied (${policyAt - heardAt} ms before)`);
    const installedAt = at(entries(a.logText()).find((e) => e.step === 'INSTALL'));
    t.ok(installedAt >= policyAt, `gwA installed its SA pair after the policy (${installedAt - policyAt} ms after)`);
    t.notMatch(a.recentOutput(), /TypeError|ReferenceError/, 'no bug on the way');
  });
}

t.test('a policy that cannot be applied stops the start, negotiation or not', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'spf');
  const bin = nftWrapper(dir, 'sleep 1\necho "Error: no such table (test)" >&2\nexit 1');
  const psk = `lab-psk-${Math.random().toString(36).slice(2)}`;
  const files = labGatewayPair(dir, psk, { a: { version: 2 }, b: { version: 2 } });
  const b = await Sitelinkd.start(lab.ns('gwB'), files.b);
  t.teardown(() => b.stop());
  const refused = await Sitelinkd.start(lab.ns('gwA'), files.a, 20_000, { PATH: `${bin}:${process.env.PATH ?? ''}` }).then(
    (a) => {
      t.teardown(() => a.stop());
      return '';
    },
    (e: unknown) => (e as Error).message,
  );
  t.match(refused, /sitelinkd: nftables policy not applied: nft failed \(1\): Error: no such table \(test\)/, 'gwA refused to start, saying why');
  t.notMatch(refused, /TypeError|ReferenceError|    at /, 'a refusal, not a bug');
  t.match(b.logText(), /IKE_SA_INIT/, 'its first negotiation had started meanwhile');
  t.notOk(await lab.ping('lanA', LAB.lanB, 1), 'no tunnel carries traffic');
});
