// Validation of what JS hands the ESP engine (no engine needed): SA specs,
// engine options, the addon search path, and the sitelink-static config
// format, each bad field rejected with its path and reason, keys never echoed.
import t from 'tap';
import type { Test } from 'tap';
import path from 'node:path';
import {
  DataplaneError,
  KEY_LENGTHS,
  checkCidr,
  validateEngineOptions,
  validateSaSpec,
} from '../../firmware/src/dataplane/validate.ts';
import { ipBytes } from '../../firmware/src/base/ip-text.ts';
import { addonCandidates, libcryptoVariant, requireAddon } from '../../firmware/src/dataplane/native.ts';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { repoRoot } from '../lib/paths.ts';
import type { SaSpec } from '../../firmware/src/dataplane/types.ts';
import { ConfigError, parseStaticConfig, wipeKeys } from '../../firmware/src/static/config.ts';

const good = (): SaSpec => ({
  spi: 0x1001,
  direction: 'out',
  algorithm: 'aes128gcm16',
  encKey: Buffer.alloc(20, 0xab),
  local: { address: '100.64.0.2', port: 4500 },
  remote: { address: '198.51.100.2', port: 4500 },
  encap: 'udp',
  esn: true,
  selectors: [{ local: '198.18.1.0/24', remote: '198.18.2.0/24' }],
});

function rejects(t: Test, spec: SaSpec, field: RegExp, label: string): void {
  try {
    validateSaSpec(spec);
    t.fail(`${label}: accepted`);
  } catch (e) {
    t.ok(e instanceof DataplaneError && field.test(e.message), `${label}: ${(e as Error).message}`);
    t.notMatch((e as Error).message, /abab/i, `${label}: no key bytes in the message`);
  }
}

t.test('SaSpec validation', async (t) => {
  t.doesNotThrow(() => validateSaSpec(good()), 'a good outbound GCM SA');
  t.doesNotThrow(
    () => validateSaSpec({ ...good(), algorithm: 'aes256-sha256', encKey: Buffer.alloc(32), authKey: Buffer.alloc(32) }),
    'CBC suite with both keys',
  );
  t.doesNotThrow(() => validateSaSpec({ ...good(), direction: 'in', selectors: undefined, replayWindow: 0 }), 'inbound without selectors, window 0');
  for (const [alg, len] of Object.entries(KEY_LENGTHS)) {
    const spec: SaSpec = { ...good(), algorithm: alg as SaSpec['algorithm'], encKey: Buffer.alloc(len.enc) };
    if (len.auth) spec.authKey = Buffer.alloc(len.auth);
    t.doesNotThrow(() => validateSaSpec(spec), `${alg} with ${len.enc}/${len.auth}-byte keys`);
    rejects(t, { ...spec, encKey: Buffer.alloc(len.enc - 1, 0xab) }, /^encKey:/, `${alg} short encKey`);
    if (len.auth) rejects(t, { ...spec, authKey: Buffer.alloc(len.auth + 1, 0xab) }, /^authKey:/, `${alg} long authKey`);
  }
  rejects(t, { ...good(), spi: 0 }, /^spi:.*reserved/, 'SPI 0');
  rejects(t, { ...good(), spi: 255 }, /^spi:/, 'SPI 255');
  rejects(t, { ...good(), spi: 2 ** 32 }, /^spi:/, 'SPI 2^32');
  rejects(t, { ...good(), spi: 1.5 }, /^spi:/, 'fractional SPI');
  rejects(t, { ...good(), algorithm: 'des-md5' as SaSpec['algorithm'] }, /^algorithm:/, 'unknown algorithm');
  rejects(t, { ...good(), authKey: Buffer.alloc(20, 0xab) }, /^authKey:.*AEAD/, 'auth key on an AEAD');
  rejects(t, { ...good(), algorithm: 'aes128-sha1', encKey: Buffer.alloc(16) }, /^authKey:/, 'CBC suite without auth key');
  rejects(t, { ...good(), replayWindow: 65537 }, /^replayWindow:/, 'window too large');
  rejects(t, { ...good(), replayWindow: -1 }, /^replayWindow:/, 'negative window');
  rejects(t, { ...good(), remote: { address: 'gw.example', port: 4500 } }, /^remote\.address:/, 'hostname as remote');
  rejects(t, { ...good(), remote: { address: '198.51.100.2', port: 0 } }, /^remote\.port:/, 'UDP encap with port 0');
  rejects(t, { ...good(), encap: 'tcp' as SaSpec['encap'] }, /^encap:/, 'unknown encap');
  rejects(t, { ...good(), backend: 'gpu' as SaSpec['backend'] }, /^backend:/, 'unknown backend');
  rejects(t, { ...good(), selectors: [] }, /^selectors:/, 'outbound SA without selectors');
  rejects(t, { ...good(), selectors: [{ local: '198.18.1.1/24', remote: '198.18.2.0/24' }] }, /selectors\[0\]\.local:.*host bits/, 'host bits set');
  rejects(t, { ...good(), selectors: [{ local: '198.18.1.0/24', remote: '2001:db8::/32' }] }, /selectors\[0\]:.*family/, 'mixed families');
  rejects(t, { ...good(), selectors: [{ local: '198.18.1.0/24', remote: '198.18.2.0/24', remotePorts: [443, 80] }] }, /remotePorts/, 'inverted port range');
  rejects(t, { ...good(), limits: { softBytes: 10n, hardBytes: 5n } }, /^limits\.softBytes:/, 'soft above hard');
  rejects(t, { ...good(), limits: { hardPackets: -1n } }, /^limits\.hardPackets:/, 'negative limit');
});

t.test('engine options and helpers', async (t) => {
  t.doesNotThrow(() => validateEngineOptions({ tun: 'sl0', listen: { address: '0.0.0.0', port: 4500 }, workers: 2 }));
  t.throws(() => validateEngineOptions({ tun: 'a-name-much-too-long' }), /^tun:/);
  t.throws(() => validateEngineOptions({ tun: 'sl0', workers: 0 }), /^workers:/);
  t.throws(() => validateEngineOptions({ tun: 'sl0', mtu: 100 }), /^mtu:/);
  t.throws(() => validateEngineOptions({ tun: 'sl0', listen: { address: '::1', port: 70000 } }), /^listen\.port:/);
  t.same([...ipBytes('::ffff:1.2.3.4')!], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
  t.same([...ipBytes('2001:db8::1')!].slice(0, 4), [0x20, 0x01, 0x0d, 0xb8]);
  t.doesNotThrow(() => checkCidr('2001:db8::/32', 'x'));
  t.throws(() => checkCidr('2001:db8::1/32', 'x'), /host bits/);
  t.throws(() => checkCidr('10.0.0.0/33', 'x'), /exceeds/);
  const c = addonCandidates('/opt/x/dist/sitelink-static.mjs');
  t.equal(
    c[0],
    process.env['SITELINK_NATIVE'] ?? path.join('/opt/x/dist', 'native/build/Release/sitelink_native.node'),
    "first the running file's own tree",
  );
  t.ok(c.includes('/opt/x/native/build/Release/sitelink_native.node'), 'the repo root above dist/');
  t.equal(c[c.length - 1], '/usr/lib/sitelink/sitelink_native.node', 'the board path last');
});

// The addon takes OpenSSL from the process (native/CMakeLists.txt); a Node without OpenSSL 3's
// symbols refuses it at load and the build with its own libcrypto is loaded instead.
t.test('addon: OpenSSL from the process, the libcrypto build as the fallback', async (t) => {
  const lean = path.join(repoRoot, 'native', 'build', 'Release', 'sitelink_native.node');
  const own = libcryptoVariant(lean);
  t.equal(own, path.join(repoRoot, 'native', 'build', 'Release', 'sitelink_native_libcrypto.node'));
  const tried: string[] = [];
  const fake = { abiVersion: 1 };
  const refusing = (f: string): unknown => {
    tried.push(f);
    if (f === lean) throw new Error(`${lean}: undefined symbol: EVP_CIPHER_CTX_new`);
    return fake;
  };
  const warnings: string[] = [];
  const onWarn = (w: Error): void => void warnings.push(w.message);
  process.on('warning', onWarn);
  if (existsSync(own)) {
    t.equal(requireAddon(lean, refusing), fake, 'an undefined symbol: the libcrypto build is loaded');
    t.same(tried, [lean, own]);
    await new Promise((r) => setImmediate(r));
    t.match(warnings.join('\n'), /undefined symbol: EVP_CIPHER_CTX_new; loading .*_libcrypto\.node/, 'with a warning saying why');
  }
  process.off('warning', onWarn);
  t.throws(() => requireAddon(lean, () => { throw new Error('wrong ELF class'); }), /wrong ELF class/, 'any other load error is thrown as it is');
  t.throws(() => requireAddon('/nonexistent/x.node', () => { throw new Error('undefined symbol: X'); }), /undefined symbol: X/,
    'no fallback file: the error is thrown as it is');

  // The real builds, each in a fresh Node: the default one maps no libcrypto of its own.
  if (!existsSync(lean) || !existsSync(own)) return t.fail('native/build/Release has not both addon builds (npm run build:native)');
  for (const [file, wantsLib] of [[lean, false], [own, true]] as const) {
    const r = spawnSync(process.execPath, ['-e',
      `const m = require(${JSON.stringify(file)}); const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');` +
      `console.log(JSON.stringify({ engine: typeof m.Engine, abi: m.abiVersion, lib: /libcrypto\\.so/.test(maps) }))`], { encoding: 'utf8' });
    t.equal(r.status, 0, `${path.basename(file)} loads ${r.stderr}`);
    const got = JSON.parse(r.stdout || '{}') as { engine?: string; abi?: number; lib?: boolean };
    t.same(got, { engine: 'function', abi: 1, lib: wantsLib }, `${path.basename(file)}: ${wantsLib ? 'its own' : 'no'} libcrypto.so mapped`);
  }
});

const staticCfg = (): Record<string, unknown> => ({
  tun: 'sl0',
  listen: { address: '0.0.0.0', port: 4500 },
  backend: 'auto',
  workers: 2,
  rawEsp: false,
  tunnels: [{
    name: 'hq',
    local: { address: '100.64.0.2', port: 4500 },
    remote: { address: '198.51.100.2', port: 4500 },
    localSubnets: ['198.18.1.0/24'],
    remoteSubnets: ['198.18.2.0/24'],
    encap: 'udp',
    algorithm: 'aes128-sha256',
    esn: true,
    replayWindow: 1024,
    out: { spi: '0x00001001', encKey: 'ab'.repeat(16), authKey: 'cd'.repeat(32) },
    in: { spi: '0x00002001', encKey: 'ef'.repeat(16), authKey: '12'.repeat(32) },
  }],
});

function mutate(f: (c: Record<string, unknown>, tn: Record<string, unknown>) => void): string {
  const c = staticCfg();
  const tn = (c['tunnels'] as Array<Record<string, unknown>>)[0];
  if (tn) f(c, tn);
  return JSON.stringify(c);
}

t.test('sitelink-static config', async (t) => {
  const cfg = parseStaticConfig(JSON.stringify(staticCfg()));
  const tn = cfg.tunnels[0];
  t.equal(tn?.out.spi, 0x1001);
  t.equal(tn?.in.encKey.length, 16);
  t.equal(tn?.keepalive, 20, 'UDP encap keeps the NAT mapping alive by default');
  wipeKeys(cfg);
  t.ok(tn?.in.encKey.every((b) => b === 0) && tn.in.authKey?.every((b) => b === 0), 'wipeKeys zeroes the key buffers');
  const cases: Array<[string, string, RegExp]> = [
    ['bad JSON', '{', /^\(file\):/],
    ['unknown top-level field', mutate((c) => { c['tunel'] = 1; }), /^\(root\)\.tunel: unknown field/],
    ['no tunnels', mutate((c) => { c['tunnels'] = []; }), /^tunnels:/],
    ['bad tun', mutate((c) => { c['tun'] = 'x'.repeat(16); }), /^tun:/],
    ['bad workers', mutate((c) => { c['workers'] = 0; }), /^workers:/],
    ['bad algorithm', mutate((_c, tn) => { tn['algorithm'] = 'rot13'; }), /^tunnels\[0\]\.algorithm:/],
    ['short key', mutate((_c, tn) => { (tn['out'] as Record<string, unknown>)['encKey'] = 'ab'; }), /^tunnels\[0\]\.out\.encKey: must be 16 bytes/],
    ['missing auth key', mutate((_c, tn) => { delete (tn['in'] as Record<string, unknown>)['authKey']; }), /^tunnels\[0\]\.in\.authKey:/],
    ['non-hex key', mutate((_c, tn) => { (tn['in'] as Record<string, unknown>)['encKey'] = 'zz'.repeat(16); }), /^tunnels\[0\]\.in\.encKey: must be a hex string/],
    ['reserved SPI', mutate((_c, tn) => { (tn['in'] as Record<string, unknown>)['spi'] = '0x00000010'; }), /^tunnels\[0\]\.in\.spi:/],
    ['bad subnet', mutate((_c, tn) => { tn['remoteSubnets'] = ['198.18.2.1/24']; }), /^tunnels\[0\]\.remoteSubnets\[0\]:.*host bits/],
    ['bad address', mutate((_c, tn) => { tn['remote'] = { address: 'hq', port: 4500 }; }), /^tunnels\[0\]\.remote\.address:/],
    ['raw ESP without rawEsp', mutate((_c, tn) => { tn['encap'] = 'none'; }), /^tunnels\[0\]\.encap:.*rawEsp/],
    ['window too big', mutate((_c, tn) => { tn['replayWindow'] = 1e6; }), /^tunnels\[0\]\.replayWindow:/],
    ['family mismatch', mutate((_c, tn) => { tn['remoteSubnets'] = ['2001:db8::/32']; }), /^tunnels\[0\]\.remoteSubnets:.*family/],
  ];
  for (const [label, text, want] of cases) {
    try {
      parseStaticConfig(text);
      t.fail(`${label}: accepted`);
    } catch (e) {
      t.ok(e instanceof ConfigError && want.test(e.message), `${label}: ${(e as Error).message}`);
      t.notMatch((e as Error).message, /abab|cdcd|efef|1212/, `${label}: no key material in the error`);
    }
  }
  const two = staticCfg();
  const tunnels = two['tunnels'] as unknown[];
  tunnels.push({ ...(tunnels[0] as object) });
  t.throws(() => parseStaticConfig(JSON.stringify(two)), /tunnels\[1\]\.name: duplicate/);
});
