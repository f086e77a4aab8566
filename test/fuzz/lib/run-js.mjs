// One JavaScript fuzz target under libFuzzer: node run-js.mjs BUNDLE EDGES -- LIBFUZZER-ARGS...
// BUNDLE is the target bundled with coverage counters (scripts/fuzz.mjs builds
// it), EDGES their number. libFuzzer ends the process: exit 0 when the budget
// is spent, non-zero with a crash-* file when the target threw.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [bundle, edges, sep, ...args] = process.argv.slice(2);
if (!bundle || !edges || sep !== '--') {
  console.error('usage: run-js.mjs BUNDLE EDGES -- LIBFUZZER-ARGS...');
  process.exit(2);
}
const require = createRequire(import.meta.url);
const driver = require(process.env.SL_FUZZ_NODE ?? path.resolve('native/build-asan/sl_fuzz_node.node'));
const counters = new Uint8Array(Math.max(1, Number(edges)));
globalThis.__slc = counters;
driver.register(counters);
const target = await import(pathToFileURL(path.resolve(bundle)).href);
if (typeof target.fuzz !== 'function') {
  console.error(`${bundle}: no fuzz(data: Buffer) export`);
  process.exit(2);
}
const fuzz = target.fuzz;
driver.run([`fuzz-${path.basename(bundle, '.mjs')}`, ...args], (data) => {
  // The driver calls synchronously: a promise would resolve after libFuzzer moved on.
  if (typeof fuzz(data)?.then === 'function') throw new Error('fuzz targets must be synchronous');
});
