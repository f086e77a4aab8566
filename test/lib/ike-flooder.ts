// A spoofed-source IKE flooder for the netns tests (ike-spoofed-lockout,
// ikev2-cookie-flood): a Node script run with `node -e FLOODER` in the
// namespace that owns the source address. Each datagram is the given IKE
// message with fresh random bytes 0-7 (the IKEv1 initiator cookie, the IKEv2
// SPIi), so each one looks like a new exchange.
// argv: target, duration ms, rate, MM1 hex, source address, sockets. Fresh cookie per
// MM1, paced every 5 ms; MM2s coming back are counted. Prints the counts as JSON at
// the end or on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Test } from 'tap';

export interface RunningFlooder {
  proc: ChildProcess;
  /** What the flooder printed so far on stdout / stderr. */
  out: () => string;
  err: () => string;
  /** Its exit code once it ends. */
  done: Promise<number | null>;
}

/** Runs `node -e script ...args` in namespace ns, collecting its output; killed at teardown. */
export function runFlooder(t: Test, ns: string, script: string, args: string[]): RunningFlooder {
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d; });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const done = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  t.teardown(() => { if (proc.exitCode === null) proc.kill('SIGKILL'); });
  return { proc, out: () => out, err: () => err, done };
}

export const FLOODER = `
const dgram = require('node:dgram');
const { randomBytes } = require('node:crypto');
const [target, msArg, rateArg, mm1Hex, source, nArg] = process.argv.slice(1);
const ms = Number(msArg), rate = Number(rateArg);
const mm1 = Buffer.from(mm1Hex, 'hex');
const socks = [];
const counts = { mm1: 0, replies: 0 };
process.on('SIGTERM', () => { console.log(JSON.stringify(counts)); process.exit(0); });
let ready = 0;
for (let k = 0; k < Number(nArg); k++) {
  const s = dgram.createSocket('udp4');
  s.on('message', () => { counts.replies++; });
  s.bind(0, source, () => { if (++ready === Number(nArg)) start(); });
  socks.push(s);
}
let i = 0, inflight = 0;
function start() {
  process.stderr.write('flooding\\n');
  const t0 = Date.now();
  let due = 0;
  const timer = setInterval(() => {
    const elapsed = Date.now() - t0;
    if (elapsed >= ms) {
      clearInterval(timer);
      const end = () => { if (inflight > 0) return setTimeout(end, 10); console.log(JSON.stringify(counts)); process.exit(0); };
      return end();
    }
    const due2 = Math.floor((elapsed * rate) / 1000);
    while (due < due2 && inflight < 256) {
      const data = Buffer.from(mm1); randomBytes(8).copy(data, 0);
      inflight++; counts.mm1++; due++;
      socks[i++ % socks.length].send(data, 500, target, (e) => { inflight--; if (e) { console.error(String(e)); process.exit(1); } });
    }
  }, 5);
}
`;

