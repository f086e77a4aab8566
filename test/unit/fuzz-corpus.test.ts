// Replays every JavaScript fuzz target's seed corpus and regression inputs
// (test/fuzz/corpus/NAME, test/fuzz/regressions/NAME) without libFuzzer:
// past findings stay fixed in the plain unit run too, and each target's
// properties hold on real captures and vectors. The C harnesses' inputs are
// replayed by the fuzz stage of scripts/test (scripts/fuzz.mjs).
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const fuzzDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fuzz');
const targets = readdirSync(fuzzDir).filter((f) => f.endsWith('.fuzz.ts')).sort();

t.ok(targets.length >= 8, `${targets.length} JavaScript fuzz targets`);
for (const file of targets) {
  const name = file.replace(/\.fuzz\.ts$/, '');
  t.test(name, async (t) => {
    const mod = (await import(pathToFileURL(path.join(fuzzDir, file)).href)) as { fuzz?: (d: Buffer) => void };
    t.type(mod.fuzz, 'function', 'exports fuzz(data)');
    const inputs: string[] = [];
    for (const sub of ['corpus', 'regressions']) {
      const dir = path.join(fuzzDir, sub, name);
      if (existsSync(dir)) inputs.push(...readdirSync(dir).sort().map((f) => path.join(dir, f)));
    }
    t.ok(inputs.some((f) => f.includes(`${path.sep}corpus${path.sep}`)), 'has a seed corpus');
    const failures: string[] = [];
    for (const f of inputs) {
      try {
        mod.fuzz!(readFileSync(f));
      } catch (e) {
        failures.push(`${path.relative(fuzzDir, f)}: ${e instanceof Error ? e.stack : String(e)}`);
      }
    }
    t.same(failures, [], `${inputs.length} inputs replayed`);
  });
}
