// Forced quick mode rekeys under continuous traffic: two sitelinkd across the
// NAT, `ping -i 0.2` from lanA to lanB for 24 s while `sitelinkctl rekey` is
// run four times (alternately on gwA, the NATed initiator, and on gwB, so both
// ends drive a rekey). Every ping must be answered (make-before-break: the new
// pair is installed before the old one is deleted), each rekey must bring new
// SPIs on both sides, and the old pairs must be gone afterwards.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { repoRoot } from '../lib/paths.ts';
import { run } from '../lib/proc.ts';
import { sleep, waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { sitelinkdPath, labGatewayPair, startLabTunnel } from './ike-sitelinkd.ts';

const skip = labSkipReason();
const sitelinkctl = path.join(repoRoot, 'dist', 'sitelinkctl.mjs');

/** Inbound/outbound SPI pairs of the IPsec SAs a daemon holds, as "in/out" hex. */
async function spiPairs(socket: string): Promise<string[]> {
  const sas = await controlRequest(socket, 'sas');
  return sas.quickMode.map((q) => `${q.spiIn.toString(16)}/${q.spiOut.toString(16)}`).sort();
}

t.test('four forced rekeys under ping -i 0.2: no loss, new SPIs each time', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'rk');
  const psk = `rekey-psk-${Math.random().toString(36).slice(2)}`;
  const { a: confA, b: confB } = labGatewayPair(dir, psk, { a: { pfs: 'modp2048' }, b: { pfs: 'modp2048' } });
  const { a, b, up } = await startLabTunnel(t, lab, { a: confA, b: confB });
  t.ok(up, 'the tunnel is up');
  if (!up) return;

  const first = await spiPairs(a.files.socket);
  t.equal(first.length, 1, 'gwA holds one IPsec SA pair before the rekeys');
  const seenA = new Set(first);
  const seenB = new Set(await spiPairs(b.files.socket));

  // 120 echo requests at 0.2 s: 24 s of traffic spanning all four rekeys.
  const count = 120;
  const ping = spawn(
    'ip',
    ['netns', 'exec', lab.ns('lanA'), 'ping', '-n', '-D', '-O', '-i', '0.2', '-W', '2', '-c', String(count), LAB.lanB],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let pingOut = '';
  ping.stdout.setEncoding('utf8').on('data', (d: string) => { pingOut += d; });
  ping.stderr.setEncoding('utf8').on('data', (d: string) => { pingOut += d; });
  const pingDone = new Promise<number | null>((resolve) => ping.on('exit', (code) => resolve(code)));
  t.teardown(() => { if (ping.exitCode === null) ping.kill('SIGKILL'); });

  const rekeyers = [a, b, a, b];
  for (const [i, d] of rekeyers.entries()) {
    await sleep(2500);
    const peer = d === a ? 'gwB' : 'gwA';
    const before = await spiPairs(a.files.socket);
    const r = await run(process.execPath, [sitelinkctl, '--socket', d.files.socket, 'rekey', peer], { timeoutMs: 15_000 });
    t.equal(r.code, 0, `rekey ${i + 1}: sitelinkctl rekey ${peer} on ${d === a ? 'gwA' : 'gwB'} accepted (${r.stdout.trim()})`);
    // Done when gwA holds exactly one pair again and it is a new one (old pair deleted).
    const done = await waitUntil(async () => {
      const now = await spiPairs(a.files.socket);
      return now.length === 1 && !before.includes(now[0]!);
    }, 15_000, 200);
    if (!done)
      t.comment(
        `gwA sas: ${JSON.stringify(await spiPairs(a.files.socket))}\ngwA log:\n${a.logText().slice(-4000)}\ngwB log:\n${b.logText().slice(-4000)}`,
      );
    t.ok(done, `rekey ${i + 1}: gwA moved to a new SA pair and retired the old one`);
    for (const p of await spiPairs(a.files.socket)) seenA.add(p);
    for (const p of await spiPairs(b.files.socket)) seenB.add(p);
  }

  const code = await pingDone;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(pingOut);
  t.ok(m, `ping summary: ${pingOut.trim().split('\n').slice(-2).join(' | ')}`);
  t.equal(Number(m?.[1]), count, `all ${count} echo requests sent`);
  const lost = Number(m?.[2]) !== count;
  if (lost) t.comment(`ping:\n${pingOut.split('\n').filter((l) => /no answer|Unreachable|[1-9]\d* packets/.test(l)).join('\n')}\ngwA log:\n${a.logText().slice(-8000)}\ngwB log:\n${b.logText().slice(-8000)}`);
  t.equal(Number(m?.[2]), count, 'every echo request was answered across the rekeys (zero loss)');
  t.equal(code, 0, 'ping exited 0');

  t.ok(seenA.size >= 5, `gwA used ${seenA.size} distinct SPI pairs (initial + 4 rekeys)`);
  t.ok(seenB.size >= 5, `gwB used ${seenB.size} distinct SPI pairs`);
  const finalA = await spiPairs(a.files.socket);
  const finalB = await spiPairs(b.files.socket);
  t.equal(finalA.length, 1, 'gwA ends with a single pair');
  t.equal(finalB.length, 1, 'gwB ends with a single pair');
  const [inA, outA] = (finalA[0] ?? '/').split('/');
  const [inB, outB] = (finalB[0] ?? '/').split('/');
  t.equal(inA, outB, "gwA's inbound SPI is gwB's outbound SPI");
  t.equal(outA, inB, "gwA's outbound SPI is gwB's inbound SPI");
  const installs = (a.logText().match(/IPsec SA pair installed/g) ?? []).length;
  t.ok(installs >= 5, `gwA logged ${installs} installs`);
  const c = await lab.counters();
  t.equal(c.leak?.packets, 0, 'nothing crossed the NAT in clear during the rekeys');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB still reaches lanA afterwards');
});
