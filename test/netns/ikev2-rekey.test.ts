// IKEv2 rekeys under continuous traffic: two sitelinkd (version = 2) across
// the NAT, `ping -i 0.05` from lanA to lanB while `sitelinkctl rekey` forces
// 10 child SA rekeys (CREATE_CHILD_SA with REKEY_SA and PFS, alternately
// driven by gwA and gwB) and then `sitelinkctl rekey --ike` 10 IKE SA rekeys
// (§1.3.2, alternately), the last two of them started on both ends at once
// (§2.8.2 collision). Every echo request must be answered (make-before-break),
// every rekey must bring new SPIs, and each side must end with one IKE SA and
// one child pair that match the peer's.
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
import { Sitelinkd, sitelinkdPath, labGatewayPair, startLabTunnel } from './ike-sitelinkd.ts';

const skip = labSkipReason();
const sitelinkctl = path.join(repoRoot, 'dist', 'sitelinkctl.mjs');

async function state(socket: string): Promise<{ ike: string[]; child: string[] }> {
  const sas = await controlRequest(socket, 'sas');
  return {
    ike: sas.mainMode.filter((m) => m.state === 'established').map((m) => m.cookies).sort(),
    child: sas.quickMode.map((q) => `${q.spiIn.toString(16)}/${q.spiOut.toString(16)}`).sort(),
  };
}

t.test('10 forced child rekeys and 10 forced IKE SA rekeys under ping -i 0.05: zero loss', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'rk2');
  const psk = `rekey2-psk-${Math.random().toString(36).slice(2)}`;
  const common = { psk, version: 2 as const, pfs: 'ecp256', proposals: 'aes128gcm16-prfsha256-curve25519' };
  const { a: confA, b: confB } = labGatewayPair(dir, psk, { a: common, b: common });
  const { a, b, up } = await startLabTunnel(t, lab, { a: confA, b: confB });
  t.ok(up, 'the tunnel is up');
  if (!up) return;
  const logs = (): string => `gwA log:\n${a.logText().slice(-5000)}\ngwB log:\n${b.logText().slice(-5000)}`;

  // 25 s of echo requests at 20/s, which must outlast every rekey below (checked).
  const count = 500;
  const started = Date.now();
  const ping = spawn('ip', ['netns', 'exec', lab.ns('lanA'), 'ping', '-n', '-O', '-i', '0.05', '-W', '2', '-c', String(count), LAB.lanB], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let pingOut = '';
  ping.stdout.setEncoding('utf8').on('data', (d: string) => { pingOut += d; });
  ping.stderr.setEncoding('utf8').on('data', (d: string) => { pingOut += d; });
  const pingDone = new Promise<number | null>((resolve) => ping.on('exit', (code) => resolve(code)));
  t.teardown(() => { if (ping.exitCode === null) ping.kill('SIGKILL'); });
  await sleep(500);

  // The first rekey of each kind goes through the sitelinkctl binary, the rest straight
  // to the control socket (the same request; a Node start per rekey is slow on a busy host).
  let viaCli = 0;
  const ctl = async (d: Sitelinkd, peer: string, ...flags: string[]): Promise<void> => {
    if (viaCli++ === 0 || (flags.includes('--ike') && viaCli === 12)) {
      const r = await run(process.execPath, [sitelinkctl, '--socket', d.files.socket, 'rekey', peer, ...flags], { timeoutMs: 15_000 });
      if (r.code !== 0) t.fail(`sitelinkctl rekey ${peer} ${flags.join(' ')}: ${r.stdout}${r.stderr}`);
    } else await controlRequest(d.files.socket, 'rekey', flags.includes('--ike') ? { peer, ike: true } : { peer });
  };
  const seenChild = new Set((await state(a.files.socket)).child);
  for (let i = 0; i < 10; i++) {
    const d = i % 2 === 0 ? a : b;
    const before = (await state(a.files.socket)).child;
    await ctl(d, d === a ? 'gwB' : 'gwA');
    const done = await waitUntil(async () => {
      const [sa, sb] = [await state(a.files.socket), await state(b.files.socket)];
      return sa.child.length === 1 && sb.child.length === 1 && !before.includes(sa.child[0]!);
    }, 15_000, 100);
    if (!done) t.comment(logs());
    t.ok(done, `child rekey ${i + 1} (by ${d === a ? 'gwA' : 'gwB'}): one new pair on each side`);
    for (const p of (await state(a.files.socket)).child) seenChild.add(p);
    await sleep(150);
  }
  t.equal(seenChild.size, 11, 'gwA used 11 distinct child SA pairs');

  const seenIke = new Set((await state(a.files.socket)).ike);
  for (let i = 0; i < 10; i++) {
    const before = (await state(a.files.socket)).ike;
    if (i >= 8) await Promise.all([ctl(a, 'gwB', '--ike'), ctl(b, 'gwA', '--ike')]);
    else await ctl(i % 2 === 0 ? a : b, i % 2 === 0 ? 'gwB' : 'gwA', '--ike');
    const done = await waitUntil(async () => {
      const [sa, sb] = [await state(a.files.socket), await state(b.files.socket)];
      return sa.ike.length === 1 && sb.ike.length === 1 && sa.ike[0] === sb.ike[0] && !before.includes(sa.ike[0]!) &&
        sa.child.length === 1 && sb.child.length === 1;
    }, 15_000, 100);
    if (!done) t.comment(`${JSON.stringify([await state(a.files.socket), await state(b.files.socket)])}\n${logs()}`);
    t.ok(done, `IKE SA rekey ${i + 1}${i >= 8 ? ' (both ends at once)' : ''}: one new IKE SA on each side, the child pair on it`);
    for (const s of (await state(a.files.socket)).ike) seenIke.add(s);
    await sleep(150);
  }
  t.ok(seenIke.size >= 11, `gwA went through ${seenIke.size} IKE SAs (at least 11; a redundant one from a collision may be seen)`);
  t.equal(ping.exitCode, null, `the rekeys took ${Math.round((Date.now() - started) / 1000)} s, all under the running ping`);

  const code = await pingDone;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(pingOut);
  t.ok(m, `ping summary: ${pingOut.trim().split('\n').slice(-2).join(' | ')}`);
  const lost = Number(m?.[1]) - Number(m?.[2]);
  if (lost !== 0) {
    const drops = async (d: Sitelinkd): Promise<string> => JSON.stringify((await controlRequest(d.files.socket, 'counters')).esp.drops);
    t.comment(`engine drops: gwA ${await drops(a)} gwB ${await drops(b)}\nping:\n${pingOut.split('\n').filter((l) => /no answer|Unreachable/.test(l)).join('\n')}\n${logs()}`);
  }
  t.equal(Number(m?.[1]), count, `all ${count} echo requests sent`);
  t.equal(lost, 0, 'every echo request was answered across the 20 rekeys (zero loss)');
  t.equal(code, 0, 'ping exited 0');
  const [fa, fb] = [await state(a.files.socket), await state(b.files.socket)];
  t.same(fa.ike, fb.ike, 'both ends on the same IKE SA');
  const [inA, outA] = (fa.child[0] ?? '/').split('/');
  t.same(fb.child, [`${outA}/${inA}`], 'and the same child pair');
  t.same([a.running, b.running], [true, true], 'both daemons still running');
  const counters = await controlRequest(a.files.socket, 'counters');
  t.equal(counters.ikev2?.ikeFailed, 0, 'sitelinkctl counters: IKEv2 shown, no IKE SA failed');
  t.equal(counters.ikev2?.childFailed, 0, 'no child SA failed');
  const shown = await run(process.execPath, [sitelinkctl, '--socket', a.files.socket, 'counters'], { timeoutMs: 10_000 });
  t.match(shown.stdout, /COOKIEs sent instead of state/, 'sitelinkctl counters prints the IKEv2 table');
});
