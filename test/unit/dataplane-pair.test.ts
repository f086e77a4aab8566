// Two engines, two private namespaces joined by a veth, static keys through
// the sitelink-static tool (run from source): ping both ways, then 16 MiB of
// TCP echoed through the tunnel and compared byte for byte (SHA-256), which
// exercises TSO segmentation, UDP GSO/GRO and TUN-side GRO with real TCP.
// The NAT lab with strongSwan baselines belongs to test/netns/.
import t from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const repoRoot = path.resolve(path.dirname(here), '..', '..');
const tool = path.join(repoRoot, 'firmware', 'src', 'static', 'sitelink-static.ts');
const addon = path.join(repoRoot, 'native', 'build', 'Release', 'sitelink_native.node');

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('close', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
  });
}

function keys(alg: string): { enc: string; auth?: string } {
  return alg === 'aes128gcm16'
    ? { enc: randomBytes(20).toString('hex') }
    : { enc: randomBytes(16).toString('hex'), auth: randomBytes(32).toString('hex') };
}

function config(side: 'a' | 'b', alg: string, aToB: { enc: string; auth?: string }, bToA: { enc: string; auth?: string }, raw: boolean): string {
  const me = side === 'a' ? '192.0.2.1' : '192.0.2.2';
  const peer = side === 'a' ? '192.0.2.2' : '192.0.2.1';
  const sa = (spi: string, k: { enc: string; auth?: string }): Record<string, string> =>
    k.auth ? { spi, encKey: k.enc, authKey: k.auth } : { spi, encKey: k.enc };
  return JSON.stringify({
    tun: 'sl0', listen: { address: '0.0.0.0', port: 4500 }, backend: 'openssl', workers: 2, rawEsp: raw,
    tunnels: [{
      name: 'peer', local: { address: me, port: 4500 }, remote: { address: peer, port: 4500 },
      localSubnets: [side === 'a' ? '198.18.1.0/24' : '198.18.2.0/24'], remoteSubnets: [side === 'a' ? '198.18.2.0/24' : '198.18.1.0/24'],
      encap: raw ? 'none' : 'udp', algorithm: alg, esn: true, replayWindow: 1024,
      out: side === 'a' ? sa('0x00001001', aToB) : sa('0x00002001', bToA),
      in: side === 'a' ? sa('0x00002001', bToA) : sa('0x00001001', aToB),
    }],
  });
}

function startTool(ns: string, cfgFile: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const c = spawn('ip', ['netns', 'exec', ns, process.execPath, ...process.execArgv, tool, '--config', cfgFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`sitelink-static in ${ns} not up: ${out}`)), 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes('sitelink-static: up')) {
        clearTimeout(timer);
        resolve(c);
      }
    };
    c.stdout.on('data', onData);
    c.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('exit', (code) => { clearTimeout(timer); reject(new Error(`sitelink-static in ${ns} exited ${code}: ${out}`)); });
  });
}

// Echo server in B; client in A sends N pseudo-random bytes and hashes what comes back.
const SERVER = `const net=require('net');net.createServer(s=>s.pipe(s)).listen(5001,'198.18.2.1',()=>console.log('listening'));`;
const CLIENT = `const net=require('net'),c=require('crypto');const N=16*1024*1024;
const data=c.createHash('sha256');const back=c.createHash('sha256');let got=0;
const s=net.connect({host:'198.18.2.1',port:5001,localAddress:'198.18.1.1'},()=>{let sent=0;const chunk=()=>{
  while(sent<N){const b=c.randomBytes(65536);data.update(b);sent+=b.length;if(!s.write(b)){s.once('drain',chunk);return;}}};chunk();});
s.on('data',d=>{back.update(d);got+=d.length;
  if(got>=N){console.log(JSON.stringify({sent:data.digest("hex"),back:back.digest("hex"),got}));process.exit(0);}});
setTimeout(()=>{console.log(JSON.stringify({timeout:true,got}));process.exit(1)},60000);`;

const skip =
  typeof process.getuid !== 'function' || process.getuid() !== 0
    ? 'SKIPPED: needs root (network namespaces, TUN)'
    : !existsSync('/dev/net/tun')
      ? 'SKIPPED: /dev/net/tun is missing'
      : false;

const variants: Array<[string, boolean]> = [['aes128gcm16', false], ['aes128-sha256', false], ['aes128gcm16', true]];
for (const [alg, raw] of variants) {
  t.test(`two engines over a veth, ${alg}, ${raw ? 'raw ESP (IP protocol 50)' : 'ESP-in-UDP'}`, { skip }, async (t) => {
    t.ok(existsSync(addon), `${addon} must be built (npm run build:native)`);
    if (!existsSync(addon)) return;
    const tag = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
    const nsA = `slt-pa-${tag}`;
    const nsB = `slt-pb-${tag}`;
    const dir = mkdtempSync(path.join(tmpdir(), 'slt-pair-'));
    t.teardown(async () => {
      await run('ip', ['netns', 'del', nsA]);
      await run('ip', ['netns', 'del', nsB]);
      rmSync(dir, { recursive: true, force: true });
    });
    for (const ns of [nsA, nsB]) t.equal((await run('ip', ['netns', 'add', ns])).code, 0, `namespace ${ns}`);
    const setup: string[][] = [
      ['link', 'add', 'slta', 'netns', nsA, 'type', 'veth', 'peer', 'name', 'sltb', 'netns', nsB],
      ['-n', nsA, 'addr', 'add', '192.0.2.1/24', 'dev', 'slta'], ['-n', nsB, 'addr', 'add', '192.0.2.2/24', 'dev', 'sltb'],
      ['-n', nsA, 'link', 'set', 'slta', 'up'], ['-n', nsB, 'link', 'set', 'sltb', 'up'],
      ['-n', nsA, 'link', 'set', 'lo', 'up'], ['-n', nsB, 'link', 'set', 'lo', 'up'],
      ['-n', nsA, 'addr', 'add', '198.18.1.1/32', 'dev', 'lo'], ['-n', nsB, 'addr', 'add', '198.18.2.1/32', 'dev', 'lo'],
    ];
    for (const args of setup) {
      const r = await run('ip', args);
      t.equal(r.code, 0, `ip ${args.join(' ')}${r.code ? `: ${r.err}` : ''}`);
    }
    const aToB = keys(alg);
    const bToA = keys(alg);
    const fa = path.join(dir, 'a.json');
    const fb = path.join(dir, 'b.json');
    writeFileSync(fa, config('a', alg, aToB, bToA, raw), { mode: 0o600 });
    writeFileSync(fb, config('b', alg, aToB, bToA, raw), { mode: 0o600 });
    const b = await startTool(nsB, fb);
    t.teardown(() => { b.kill('SIGTERM'); });
    const a = await startTool(nsA, fa);
    t.teardown(() => { a.kill('SIGTERM'); });

    const ping = await run('ip', ['netns', 'exec', nsA, 'ping', '-n', '-q', '-c', '3', '-i', '0.2', '-W', '2', '-I', '198.18.1.1', '198.18.2.1']);
    t.match(ping.out, /3 received/, 'A pings B through the tunnel');
    const pingBack = await run('ip', ['netns', 'exec', nsB, 'ping', '-n', '-q', '-c', '3', '-i', '0.2', '-W', '2', '-I', '198.18.2.1', '198.18.1.1']);
    t.match(pingBack.out, /3 received/, 'B pings A through the tunnel');
    const noTunnel = await run('ip', ['netns', 'exec', nsA, 'ping', '-n', '-q', '-c', '1', '-W', '1', '-I', '192.0.2.1', '198.18.2.1']);
    t.notMatch(noTunnel.out, /1 received/, 'a source outside the selectors does not get through');

    const server = spawn('ip', ['netns', 'exec', nsB, process.execPath, '-e', SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => { server.kill('SIGKILL'); });
    await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));
    const client = await run('ip', ['netns', 'exec', nsA, process.execPath, '-e', CLIENT], 90_000);
    const res = JSON.parse(client.out.trim().split('\n').pop() ?? '{}') as { sent?: string; back?: string; got?: number };
    t.equal(res.got, 16 * 1024 * 1024, '16 MiB came back through the tunnel');
    t.ok(res.sent !== undefined && res.sent === res.back, 'echoed bytes are identical (SHA-256)');

    // Counters over SIGUSR1: traffic counted, nothing dropped, no key in the output.
    const line = new Promise<string>((resolve) => {
      let buf = '';
      a.stdout?.on('data', (d: Buffer) => {
        buf += d.toString();
        const l = buf.split('\n').find((x) => x.startsWith('{'));
        if (l) resolve(l);
      });
    });
    a.kill('SIGUSR1');
    const status = await line;
    const st = JSON.parse(status) as { counters: Record<string, number>; sas: Array<Record<string, unknown>> };
    t.ok((st.counters['txPackets'] ?? 0) > 10_000, `A sent ${st.counters['txPackets']} ESP packets`);
    t.equal(st.counters['dropsIcv'], 0, 'no ICV failures');
    t.equal(st.counters['dropsMalformed'], 0, 'no malformed packets');
    t.equal(st.sas.length, 2, 'two SAs listed');
    t.ok(st.sas.every((x) => x['encap'] === (raw ? 'none' : 'udp')), `SAs use encap ${raw ? 'none' : 'udp'}`);
    for (const k of [aToB.enc, bToA.enc, aToB.auth, bToA.auth].filter((x): x is string => x !== undefined))
      t.notOk(status.includes(k.slice(0, 16)), 'status line carries no key');
    const exited = new Promise<number | null>((resolve) => a.once('exit', resolve));
    a.kill('SIGTERM');
    t.equal(await exited, 0, 'sitelink-static exits 0 on SIGTERM');
    const link = await run('ip', ['-n', nsA, 'link', 'show', 'sl0']);
    t.not(link.code, 0, 'the TUN device is gone after exit');
  });
}
