// ML-KEM's implementation (@noble/post-quantum) is its own bundle,
// dist/sitelink-mlkem.mjs, loaded only when a configured method names ML-KEM
// (ike/crypto/ml-kem.ts, issue 10: ~4 MB of sitelinkd's one-tunnel RSS).
// In this process nothing else loads it, so the order of the tests matters:
// first a config without ML-KEM (not loaded, and a KEM operation says so), then
// one with it (loaded, and an exchange's two halves agree). Then the bundles:
// sitelinkd and sitelinkctl do not carry the implementation, import it from
// ./sitelink-mlkem.mjs, and that file works on its own.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { kemById, mlKemLoaded } from '../../firmware/src/ike/crypto/ml-kem.ts';
import { answerAddKe, prepareAddKe, startAddKe } from '../../firmware/src/ike/v2/crypto/additional-ke.ts';
import { repoRoot } from '../lib/paths.ts';
import { seededRandom } from '../lib/seeded-random.ts';

t.test('a config without ML-KEM does not load it', async (t) => {
  // x25519 as an additional key exchange, an optional slot (0 = none), and a method without any.
  await prepareAddKe([{ addKe: [{ slot: 1, ids: [31, 0] }] }, {}]);
  t.equal(mlKemLoaded(), false, 'not loaded');
  t.throws(() => kemById(36)!.generate(seededRandom('g')), /not loaded/, 'a KEM operation says the implementation is missing');
  const i = startAddKe(31, seededRandom('i'));
  const r = answerAddKe(31, i.data, seededRandom('r'));
  t.same(i.complete(r.data), r.secret, 'a DH group as additional key exchange works without it');
});

t.test('a config naming ML-KEM loads it before use, and it works', async (t) => {
  await prepareAddKe([{ addKe: [{ slot: 1, ids: [31] }] }, { addKe: [{ slot: 2, ids: [36, 0] }] }]);
  t.equal(mlKemLoaded(), true, 'loaded');
  await prepareAddKe([{ addKe: [{ slot: 1, ids: [37] }] }]);
  for (const id of [35, 36, 37]) {
    const i = startAddKe(id, seededRandom(`i${id}`));
    const r = answerAddKe(id, i.data, seededRandom(`r${id}`));
    t.same(i.complete(r.data), r.secret, `${kemById(id)!.name}: both halves derive the same secret`);
  }
});

// Strings of @noble/post-quantum's ML-KEM and SHA-3 code (present in its bundle, checked below).
const MARKERS = ['SampleNTT: unaligned block', 'function keccakP'];
const dist = join(repoRoot, 'dist');
const built = ['sitelinkd.cjs', 'sitelinkctl.mjs', 'sitelink-mlkem.mjs'].every((f) => existsSync(join(dist, f)));

t.test('the bundles: ML-KEM apart in dist/sitelink-mlkem.mjs', { skip: built ? false : 'SKIP: dist/ has no bundles (npm run build)' }, async (t) => {
  const own = readFileSync(join(dist, 'sitelink-mlkem.mjs'), 'utf8');
  for (const m of MARKERS) t.ok(own.includes(m), `sitelink-mlkem.mjs has "${m}"`);
  for (const f of ['sitelinkd.cjs', 'sitelinkctl.mjs']) {
    const text = readFileSync(join(dist, f), 'utf8');
    for (const m of MARKERS) t.notOk(text.includes(m), `${f} does not carry "${m}"`);
  }
  t.match(readFileSync(join(dist, 'sitelinkd.cjs'), 'utf8'), /\bimport\("\.\/sitelink-mlkem\.mjs"\)/, 'sitelinkd imports it from beside itself, on demand');
  const mod = (await import(pathToFileURL(join(dist, 'sitelink-mlkem.mjs')).href)) as typeof import('../../firmware/src/ike/crypto/ml-kem-noble.ts');
  const { publicKey, secretKey } = mod.ml_kem768.keygen(seededRandom('k')(64));
  const e = mod.ml_kem768.encapsulate(publicKey, seededRandom('m')(32));
  t.same(Buffer.from(mod.ml_kem768.decapsulate(e.cipherText, secretKey)), Buffer.from(e.sharedSecret), 'the bundle alone: ML-KEM-768 round trip');
});
