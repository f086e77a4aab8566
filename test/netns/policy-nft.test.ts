// Real kernel check of the generated nftables policy: two namespaces joined by a veth
// pair; the ruleset is applied in "gw" and traffic from "peer" is probed:
// permit/block by weight, negotiate only through the TUN, and accept-unsecured
// (clear inbound reaches the service, its answer never leaves in clear).
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { loadConfigText } from '../../firmware/src/config/load.ts';
import { expandConfig } from '../../firmware/src/policy/expand.ts';
import { generateRuleset } from '../../firmware/src/policy/nft.ts';
import { applyRuleset, removeRuleset } from '../../firmware/src/policy/nft-apply.ts';

const NS_GW = `slpol${process.pid}g`;
const NS_PEER = `slpol${process.pid}p`;
const GW = '10.231.7.2';
const PEER = '10.231.7.1';

function sh(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(args[0] ?? 'true', args.slice(1), { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function whyCannotRun(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const tool of ['ip', 'nft']) if (!sh(['sh', '-c', `command -v ${tool}`]).ok) return `${tool} not installed`;
  return null;
}

// Block everything between the two addresses, except the more specific TCP 8080 permit:
// the permit must win although it comes later in the file (weights, not order).
const CONF = `
filter-lists {
  all-peer { f { source = any
                 destination = 10.231.7.0/24 } }
  web      { f { source = any
                 destination = ${GW}
                 protocol = tcp
                 destination-ports = 8080 } }
  secure   { f { source = ${GW}
                 destination = ${PEER}
                 protocol = tcp
                 source-ports = 8082 } }
  udp-secure { f { source = ${GW}
                   destination = ${PEER}
                   protocol = udp
                   source-ports = 9082 } }
  udp-open { f { source = ${GW}
                 destination = ${PEER}
                 protocol = udp
                 source-ports = 9083 } }
}
peers { p { remote = ${PEER}
            local-id = gw.lab } }
filter-actions {
  block { action = block }
  permit { action = permit }
  sec { action = negotiate }
  sec-open { action = negotiate
             accept-unsecured = yes }
}
rules {
  block-lan { filters = all-peer
              action = block }
  allow-web { filters = web
              action = permit }
  must-encrypt { filters = secure
                 action = sec
                 peer = p }
  must-encrypt-udp { filters = udp-secure
                     action = sec
                     peer = p }
  open-inbound { filters = udp-open
                 action = sec-open
                 peer = p }
}
`;

function tcpProbe(port: number): 'open' | 'blocked' {
  const code = `const s=require('net').connect(${port},'${GW}');s.setTimeout(1500);` +
    `s.on('data',()=>{console.log('open');process.exit(0)});` +
    `s.on('timeout',()=>{console.log('blocked');process.exit(0)});s.on('error',e=>{console.log('error '+e.code);process.exit(0)})`;
  const r = sh(['ip', 'netns', 'exec', NS_PEER, process.execPath, '-e', code]);
  return r.out.trim() === 'open' ? 'open' : 'blocked';
}

/** One datagram from the peer to GW:port; true when the reply came back. */
function udpProbe(port: number): boolean {
  const code = `const s=require('dgram').createSocket('udp4');s.on('message',()=>{console.log('reply');process.exit(0)});` +
    `s.send('probe',${port},'${GW}');setTimeout(()=>{console.log('none');process.exit(0)},1500)`;
  return sh(['ip', 'netns', 'exec', NS_PEER, process.execPath, '-e', code]).out.trim() === 'reply';
}

function ping(): boolean {
  return sh(['ip', 'netns', 'exec', NS_PEER, 'ping', '-c', '1', '-W', '1', GW]).ok;
}

const skip = whyCannotRun();
t.test('generated nftables policy in a namespace pair', { skip: skip ?? false }, async (t) => {
  let server: ChildProcess | null = null;
  t.teardown(() => {
    if (server?.pid) process.kill(server.pid);
    sh(['ip', 'netns', 'del', NS_GW]);
    sh(['ip', 'netns', 'del', NS_PEER]);
  });
  for (const cmd of [
    ['ip', 'netns', 'add', NS_GW],
    ['ip', 'netns', 'add', NS_PEER],
    ['ip', 'link', 'add', 'slpolv0', 'netns', NS_GW, 'type', 'veth', 'peer', 'name', 'slpolv1', 'netns', NS_PEER],
    ['ip', '-n', NS_GW, 'addr', 'add', `${GW}/24`, 'dev', 'slpolv0'],
    ['ip', '-n', NS_PEER, 'addr', 'add', `${PEER}/24`, 'dev', 'slpolv1'],
    ['ip', '-n', NS_GW, 'link', 'set', 'slpolv0', 'up'],
    ['ip', '-n', NS_PEER, 'link', 'set', 'slpolv1', 'up'],
    ['ip', '-n', NS_GW, 'link', 'set', 'lo', 'up'],
  ]) {
    const r = sh(cmd);
    if (!r.ok) throw new Error(`${cmd.join(' ')}: ${r.out}`);
  }
  server = spawn(
    'ip',
    [
      'netns',
      'exec',
      NS_GW,
      process.execPath,
      '-e',
      `for (const p of [8080, 8081, 8082]) require('net').createServer((s) => s.end('hi')).listen(p, '${GW}');` +
        // UDP: report each datagram that arrived, and answer it.
        `for (const p of [9082, 9083]) { const u = require('dgram').createSocket('udp4'); ` +
        `u.on('message', (m, r) => { console.log('got ' + p); u.send('ok', r.port, r.address); }); u.bind(p, '${GW}'); }` +
        `setTimeout(() => console.log('up'), 200)`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let got = '';
  server.stdout?.on('data', (b: Buffer) => (got += b.toString()));
  await new Promise<void>((res) => server?.stdout?.once('data', () => res()));

  t.equal(tcpProbe(8080), 'open', 'baseline: 8080 reachable');
  t.equal(tcpProbe(8081), 'open', 'baseline: 8081 reachable');
  t.ok(ping(), 'baseline: ping works');
  t.ok(udpProbe(9083), 'baseline: UDP 9083 answers');

  const r = loadConfigText('policy-nft.conf', CONF, { secrets: false });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const text = generateRuleset(expandConfig(r.config), { tun: 'sl0', ikePort: 500, nattPort: 4500 });
  await applyRuleset(text, { prefix: ['ip', 'netns', 'exec', NS_GW] });
  t.match(sh(['ip', 'netns', 'exec', NS_GW, 'nft', 'list', 'tables']).out, /table inet sitelink/, 'table created');

  t.equal(tcpProbe(8080), 'open', 'permitted (more specific) TCP 8080 passes');
  t.equal(tcpProbe(8081), 'blocked', 'TCP 8081 is blocked');
  t.notOk(ping(), 'ICMP is blocked');
  // Negotiate traffic may only pass through the ESP engine's TUN, never in clear.
  t.equal(tcpProbe(8082), 'blocked', 'negotiate filter (more specific than the block): no clear-text path');
  t.match(sh(['ip', 'netns', 'exec', NS_GW, 'nft', 'list', 'chain', 'inet', 'sitelink', 'input']).out, /tcp dport 8082 iifname "sl0" accept/);
  // accept-unsecured: clear inbound is accepted, but the answer may only leave through
  // the ESP engine (here there is none, so it must not leave at all).
  got = '';
  t.notOk(udpProbe(9082), 'negotiate without accept-unsecured: no answer in clear');
  t.notOk(udpProbe(9083), 'accept-unsecured: no answer in clear either');
  // spawnSync blocked this event loop: let the server's output in before judging it.
  await new Promise((r) => setTimeout(r, 500));
  t.notMatch(got, /got 9082/, 'without accept-unsecured the clear datagram never reached the service');
  t.match(got, /got 9083/, 'with accept-unsecured the clear datagram reached the service');

  // Applying again replaces the table atomically instead of failing or duplicating rules.
  await applyRuleset(text, { prefix: ['ip', 'netns', 'exec', NS_GW] });
  const listed = sh(['ip', 'netns', 'exec', NS_GW, 'nft', 'list', 'table', 'inet', 'sitelink']).out;
  t.equal(listed.match(/dport 8080 accept/g)?.length, 3, 'one permit rule per chain after re-apply');

  await removeRuleset({ prefix: ['ip', 'netns', 'exec', NS_GW] });
  t.notMatch(sh(['ip', 'netns', 'exec', NS_GW, 'nft', 'list', 'tables']).out, /sitelink/, 'stop removes the table');
  t.equal(tcpProbe(8081), 'open', 'after stop: 8081 reachable again');
  t.equal(tcpProbe(8082), 'open', 'after stop: 8082 reachable again');
  t.ok(ping(), 'after stop: ping works again');
});
