// The SA/counters contract between TypeScript and the C engine
// (firmware/src/dataplane/sa-contract.ts): the addon's own counter list and
// key lengths match the TypeScript ones, and what the addon returns is parsed
// strictly: a missing, mistyped or unknown field, or an algorithm the contract
// does not name, is an error naming the field (no engine needed, only the addon).
import t from 'tap';
import type { Test } from 'tap';
import { loadNative } from '../../firmware/src/dataplane/native.ts';
import {
  ENGINE_COUNTER_FIELDS,
  ESP_ALGORITHMS,
  KEY_LENGTHS,
  encodeSaSpec,
  parseCounters,
  parseEngineNote,
  parseSaStatus,
} from '../../firmware/src/dataplane/sa-contract.ts';
import { DataplaneError } from '../../firmware/src/dataplane/error.ts';

function throwsField(t: Test, fn: () => unknown, field: RegExp, label: string): void {
  try {
    fn();
    t.fail(`${label}: accepted`);
  } catch (e) {
    t.ok(e instanceof DataplaneError && field.test(e.message), `${label}: ${(e as Error).message}`);
  }
}

t.test('the addon and sa-contract.ts list the same counters in the same order', async (t) => {
  t.same([...loadNative().counterFields], [...ENGINE_COUNTER_FIELDS]);
});

t.test('the addon and sa-contract.ts agree on every algorithm and its key lengths', async (t) => {
  const native = loadNative();
  for (const alg of ESP_ALGORITHMS) t.same(native.espKeyLengths(alg), KEY_LENGTHS[alg], alg);
  t.equal(native.espKeyLengths('aes128gcm8'), null, 'a name the engine lacks is null');
});

const status = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  spi: 0x1001,
  direction: 'in',
  algorithm: 'aes256gcm16',
  backend: 'openssl',
  driver: 'openssl',
  seq: 5n,
  packets: 5n,
  bytes: 700n,
  dropsReplay: 0n,
  dropsIcv: 1n,
  dropsMalformed: 0n,
  dropsPadding: 0n,
  local: { address: '2001:db8::1', port: 4500 },
  remote: { address: '198.51.100.2', port: 4500 },
  encap: 'udp',
  esn: false,
  dead: false,
  keysWiped: false,
  reqid: 7,
  ...over,
});

t.test('SA status: parsed field by field, either address family', async (t) => {
  const probe = {
    op: 'seal', choice: 'openssl', reason: 'af_alg unavailable', afalgSmallNs: 0, afalgMtuNs: 0, afalgBatched: false,
    afalgSyscallsPerPacket: 0, opensslSmallNs: 90, opensslMtuNs: 900, opensslSyscallsPerPacket: 0,
  };
  const st = parseSaStatus(status({ probe }));
  t.equal(st.algorithm, 'aes256gcm16');
  t.equal(st.local.address, '2001:db8::1');
  t.same(st.probe, probe, 'the probe, field by field');
  throwsField(t, () => parseSaStatus(status({ probe: { ...probe, afalgSyscallsPerPacket: -1 } })), /afalgSyscallsPerPacket/, 'negative syscalls');
  throwsField(t, () => parseSaStatus(status({ probe: { ...probe, op: 'both' } })), /op/, 'unknown probe operation');
  t.equal(st.bytes, 700n);
});

t.test('SA status: drift is an error naming the field, never a substituted value', async (t) => {
  throwsField(t, () => parseSaStatus(status({ algorithm: 'aes128gcm8' })), /algorithm/, 'unknown algorithm');
  const { keysWiped: _gone, ...missing } = status();
  throwsField(t, () => parseSaStatus(missing), /keysWiped/, 'missing field');
  throwsField(t, () => parseSaStatus(status({ lifetime: 3n })), /lifetime .*not in the contract/, 'field the contract lacks');
  throwsField(t, () => parseSaStatus(status({ bytes: 700 })), /bytes/, 'number for a bigint');
  throwsField(t, () => parseSaStatus(status({ backend: 'none' })), /backend/, 'unknown backend');
  throwsField(t, () => parseSaStatus(status({ remote: { address: '198.51.100.300', port: 4500 } })), /remote\.address/, 'bad address');
});

t.test('counters: exactly the contract fields, each a bigint', async (t) => {
  const raw = Object.fromEntries(ENGINE_COUNTER_FIELDS.map((k, i) => [k, BigInt(i)]));
  const c = parseCounters(raw);
  t.equal(c.dropsNoSa, BigInt(ENGINE_COUNTER_FIELDS.indexOf('dropsNoSa')));
  const { ikeDropped: _gone, ...missing } = raw;
  throwsField(t, () => parseCounters(missing), /ikeDropped/, 'missing counter');
  throwsField(t, () => parseCounters({ ...raw, groMerged: 1n }), /groMerged/, 'counter the contract lacks');
  throwsField(t, () => parseCounters({ ...raw, rxPackets: 1 }), /rxPackets/, 'number for a bigint');
});

t.test('notifications: each kind parsed, a malformed one rejected', async (t) => {
  const ike = parseEngineNote('ike', Buffer.from([1, 2]), { address: '::1', port: 500 });
  t.same(ike.kind === 'ike' && ike.from, { address: '::1', port: 500 });
  const soft = parseEngineNote('sa-event', { spi: 9, type: 'soft', direction: 'out', reason: 'bytes' }, undefined);
  t.same(soft, { kind: 'sa-event', event: { type: 'soft', spi: 9, direction: 'out', reason: 'bytes' } });
  const moved = parseEngineNote('sa-event', { spi: 9, type: 'peer-moved', reqid: 2, from: { address: '203.0.113.9', port: 1024 } }, undefined);
  t.equal(moved.kind === 'sa-event' && moved.event.type === 'peer-moved' && moved.event.from.port, 1024);
  const src = { address: '198.18.1.1', port: 0 };
  const dst = { address: '198.18.2.1', port: 80 };
  const nosa = parseEngineNote('sa-event', { spi: 0, type: 'no-sa', src, dst, protocol: 6 }, undefined);
  t.same(nosa, { kind: 'no-sa', event: { src, dst, protocol: 6 } });
  throwsField(t, () => parseEngineNote('sa-event', { spi: 9, type: 'soft', direction: 'out' }, undefined), /reason/, 'event without its reason');
  throwsField(t, () => parseEngineNote('sa-event', { spi: 9, type: 'expired' }, undefined), /type/, 'unknown event type');
  throwsField(t, () => parseEngineNote('ike', 'text', { address: '::1', port: 500 }), /ike message/, 'IKE message not a Buffer');
  throwsField(t, () => parseEngineNote('log', {}, undefined), /kind/, 'unknown notification kind');
});

t.test('the install record encodes with every default filled in', async (t) => {
  const n = encodeSaSpec({
    spi: 0x2001,
    direction: 'out',
    algorithm: 'aes128-sha256',
    encKey: Buffer.alloc(16),
    authKey: Buffer.alloc(32),
    local: { address: '2001:db8::1', port: 4500 },
    remote: { address: '2001:db8::2', port: 4500 },
    encap: 'udp',
    selectors: [{ local: '2001:db8:1::/48', remote: '2001:db8:2::/48' }],
  });
  t.match(n, { localAddress: '2001:db8::1', remoteAddress: '2001:db8::2', esn: false, replayWindow: 1024, backend: 'auto', hardBytes: 0n, reqid: 0 });
  t.same(n.selectors, [{ local: '2001:db8:1::/48', remote: '2001:db8:2::/48', protocol: 0, localPorts: [0, 65535], remotePorts: [0, 65535] }]);
  t.equal(n.authKey?.length, 32);
});

t.test('bindings refuse mistyped arguments with their usage line (native/binding/args.h)', async (t) => {
  const native = loadNative();
  const call = (f: () => unknown): string => {
    try {
      f();
      return 'accepted';
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  const untyped = native as unknown as Record<string, (...a: unknown[]) => unknown>;
  t.match(call(() => untyped['espKeyLengths']!(5)), /^TypeError: espKeyLengths\(name: string\)/);
  t.match(call(() => untyped['ecdsaSignDigest']!(Buffer.alloc(1), 'digest', 32)), /^TypeError: ecdsaSignDigest\(pkcs8: Buffer/);
  t.match(call(() => untyped['ecdsaSignDigest']!(Buffer.alloc(1), Buffer.alloc(32))), /^TypeError: ecdsaSignDigest/, 'too few');
  t.match(call(() => untyped['ecdsaVerifyDigest']!(Buffer.alloc(1), Buffer.alloc(32), 7)), /^TypeError: ecdsaVerifyDigest\(spki: Buffer/);
  const verify = (): unknown => native.ecdsaVerifyDigest?.(Buffer.alloc(1), Buffer.alloc(32), Buffer.alloc(64));
  t.equal(call(verify), 'accepted', 'an unusable key is a refusal (false), not a throw');
});
