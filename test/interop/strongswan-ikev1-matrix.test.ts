// Interop proposal matrix: sitelinkd on gwA (behind the NAT) initiates to
// strongSwan charon on gwB with suites other than the default ones, and each
// case passes only if traffic flows lanA <-> lanB through the tunnel:
//   1. IKE aes128-sha256-ecp256, ESP aes128-sha256;
//   2. the Windows-era IKE 3des-sha1-modp1024, ESP 3des-sha1 (docs/config.md:
//      3DES and modp1024 are legacy but not "weak", so no allow-weak needed);
//   3. negative: a weak suite (3des-md5-modp1024) without allow-weak is refused
//      by config validation (sitelinkd does not start), and with
//      allow-weak = yes it negotiates with charon and carries traffic.
// (The role swap, charon behind the NAT on gwA initiating to sitelinkd on gwB,
// is already in strongswan-ikev1.test.ts.)
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LAB } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { run } from '../lib/proc.ts';
import { CHARON, randomPskHex } from '../lib/strongswan.ts';
import { charonPairForTest, checkUp } from '../lib/strongswan-pair.ts';
import { labGateway, sitelinkdPath, writeGatewayConfig } from '../netns/ike-sitelinkd.ts';
import type { ConfigFiles } from '../netns/ike-sitelinkd.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl']);

interface Suite {
  tag: string;
  ike: string;
  esp: string;
  /** charon's names in swanctl --list-sas for the IKE and ESP suites. */
  ikeRe: RegExp;
  espRe: RegExp;
  allowWeak?: boolean;
  /** The suite as `sitelinkctl sas` names it. */
  ikeName: string;
}

/** Adds `allow-weak = yes` to the peer section of a config writeGatewayConfig made. */
function allowWeak(files: ConfigFiles): void {
  const text = readFileSync(files.config, 'utf8');
  const out = text.replace(/(\n {4}start = \w+)/, '$1\n    allow-weak = yes');
  if (out === text) throw new Error('allowWeak: peer section not found');
  writeFileSync(files.config, out, { mode: 0o600 });
}

async function runSuite(t: Test, s: Suite): Promise<void> {
  const pair = await charonPairForTest(t, `mx${s.tag}`, {
    sitelinkdOn: 'gwA',
    charon: { ikeProposals: s.ike, espProposals: s.esp },
    sitelinkd: { proposals: s.ike, esp: s.esp },
    editConfig: s.allowWeak ? allowWeak : undefined,
  });
  if (!pair) return;
  const { lab, p } = pair;
  const { charon, files } = p;
  checkUp(t, p, `the tunnel comes up with IKE ${s.ike}, ESP ${s.esp}`);
  t.ok(await lab.ping('lanA', LAB.lanB, 5), 'lanA pings lanB (5/5)');
  t.ok(await lab.ping('lanB', LAB.lanA, 5), 'lanB pings lanA (5/5)');
  const sas = await charon.listSas();
  t.match(sas, s.ikeRe, `charon's ISAKMP SA uses ${s.ike}`);
  t.match(sas, /INSTALLED, TUNNEL-in-UDP/, 'charon has a UDP-encapsulated tunnel-mode IPsec SA');
  t.match(sas, s.espRe, `charon's IPsec SA uses ${s.esp}`);
  const ours = await controlRequest(files.socket, 'sas');
  t.equal(ours.mainMode[0]?.proposal, s.ikeName, 'sitelinkctl sas: main mode suite');
  t.equal(ours.quickMode[0]?.algorithm, s.esp, 'sitelinkctl sas: ESP algorithm');
  t.ok(BigInt(ours.quickMode[0]?.packetsIn ?? '0') >= 10n, 'sitelinkd counted inbound ESP packets');
  const n = await lab.counters();
  t.equal(n.leak?.packets, 0, 'no cleartext LAN packet crossed the NAT');
  t.ok(n.espudp.packets >= 20, `ESP-in-UDP crossed the NAT (${n.espudp.packets} packets)`);
}

t.test('IKE aes128-sha256-ecp256, ESP aes128-sha256', { skip: skip ?? false }, (t) => runSuite(t, {
  tag: 'e', ike: 'aes128-sha256-ecp256', ikeName: 'aes128-sha256-ecp256', esp: 'aes128-sha256',
  ikeRe: /AES_CBC-128\/HMAC_SHA2_256_128\/PRF_HMAC_SHA2_256\/ECP_256/, espRe: /AES_CBC-128\/HMAC_SHA2_256_128/,
}));

t.test('Windows-era IKE 3des-sha1-modp1024, ESP 3des-sha1', { skip: skip ?? false }, (t) => runSuite(t, {
  tag: 'w', ike: '3des-sha1-modp1024', ikeName: '3des-sha1-modp1024', esp: '3des-sha1',
  ikeRe: /3DES_CBC\/HMAC_SHA1_96\/PRF_HMAC_SHA1\/MODP_1024/, espRe: /3DES_CBC\/HMAC_SHA1_96/,
}));

t.test('weak IKE suite (MD5) is refused without allow-weak', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'sl-mxn-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = writeGatewayConfig(dir, 'gwA', labGateway('gwA', `0x${randomPskHex()}`, { proposals: '3des-md5-modp1024', esp: '3des-sha1' }));
  // The daemon itself validates at start: it must exit non-zero, naming the key and the switch.
  const r = await run(process.execPath, [sitelinkdPath, '-c', files.config], { timeoutMs: 20_000 });
  const out = r.stdout + r.stderr;
  t.not(r.code, 0, `sitelinkd refuses to start (exit ${r.code})`);
  t.match(out, /proposals/, 'the error names the proposals key');
  t.match(out, /MD5.*allow-weak = yes/, 'and says MD5 needs allow-weak = yes');
  t.notMatch(out, /sitelinkd: ready/, 'it never became ready');
  // The same file with allow-weak = yes passes validation.
  allowWeak(files);
  const ok = await run(process.execPath, [sitelinkdPath.replace('sitelinkd.cjs', 'sitelinkctl.mjs'), 'check', files.config], { timeoutMs: 20_000 });
  t.equal(ok.code, 0, `with allow-weak = yes the config checks clean: ${ok.stdout}${ok.stderr}`.trim());
});

t.test('weak IKE suite 3des-md5-modp1024 with allow-weak = yes interoperates', { skip: skip ?? false }, (t) => runSuite(t, {
  tag: 'm', ike: '3des-md5-modp1024', ikeName: '3des-md5-modp1024', esp: '3des-sha1', allowWeak: true,
  ikeRe: /3DES_CBC\/HMAC_MD5_96\/PRF_HMAC_MD5\/MODP_1024/, espRe: /3DES_CBC\/HMAC_SHA1_96/,
}));
