// Runs every fuzz target for a fixed time each:
//   node scripts/fuzz.mjs [SECONDS] [--only NAME[,NAME]]     (npm run fuzz -- 300)
//   node scripts/fuzz.mjs --make-seeds                       (rewrites test/fuzz/corpus)
// C targets: libFuzzer harnesses native/fuzz/fuzz_*.c, built with ASan/UBSan in
// native/build-asan (which also holds the sanitized C tests). JavaScript
// targets: test/fuzz/*.fuzz.ts, bundled with edge counters and run under the
// same libFuzzer through native/fuzz/node (see test/fuzz/README.md).
// Inputs: test/fuzz/corpus/NAME (seeds) and test/fuzz/regressions/NAME (past
// findings, replayed first on every run); what a run discovers goes to
// native/build-asan/corpus/NAME. A crash fails the run and its input is kept
// under native/build-asan/findings/. Ends with "fuzz: P passed, F failed".
import { build } from 'esbuild';
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { coveragePlugin } from '../test/fuzz/lib/instrument.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const args = process.argv.slice(2);
if (args[0] === '--make-seeds') {
  // Regenerates test/fuzz/corpus from the capture, the builders and openssl (test/fuzz/lib/make-seeds.ts).
  await build({
    entryPoints: ['test/fuzz/lib/make-seeds.ts'],
    outfile: 'native/build-asan/make-seeds.mjs',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  const r = spawnSync(process.execPath, ['native/build-asan/make-seeds.mjs'], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
let seconds = 30;
let only = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--only') only = new Set(args[++i].split(','));
  else if (/^\d+$/.test(args[i])) seconds = Number(args[i]);
  else {
    console.error('usage: fuzz.mjs [SECONDS] [--only NAME[,NAME]]');
    process.exit(2);
  }
}

const out = 'native/build-asan';
const sh = (cmd, cmdArgs, env = {}) => {
  const r = spawnSync(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  if (r.status !== 0) {
    process.stderr.write(r.stdout);
    process.stderr.write(r.stderr);
    console.error(`fuzz: ${cmd} ${cmdArgs.join(' ')} failed`);
    process.exit(1);
  }
};

// The sanitized build: harnesses, the JS driver, and the C tests (ctest there).
if (!existsSync(`${out}/CMakeCache.txt`)) {
  sh('cmake', ['-S', 'native', '-B', out, '-DSL_SANITIZE=ON', '-DCMAKE_BUILD_TYPE=RelWithDebInfo'], { CC: 'clang', CXX: 'clang++' });
}
sh('cmake', ['--build', out, '-j2']);

const targets = [];
for (const f of readdirSync('native/fuzz').sort()) {
  const m = /^(fuzz_\w+)\.c$/.exec(f);
  if (m) targets.push({ name: m[1], kind: 'c' });
}
for (const f of readdirSync('test/fuzz').sort()) {
  const m = /^([\w-]+)\.fuzz\.ts$/.exec(f);
  if (m) targets.push({ name: m[1], kind: 'js', source: `test/fuzz/${f}` });
}
const chosen = targets.filter((t) => !only || only.has(t.name));
if (only && chosen.length !== only.size) {
  console.error(`fuzz: unknown target in --only; known: ${targets.map((t) => t.name).join(', ')}`);
  process.exit(2);
}

// One esbuild run for all the given targets: each firmware file is instrumented
// once, with edge numbers unique over all bundles; returns the number of edges.
async function bundle(list, include = /\/firmware\/src\//) {
  const state = { edges: 0 };
  await build({
    entryPoints: Object.fromEntries(list.map((t) => [t.name, t.source])),
    outdir: `${out}/fuzz-js`,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    external: ['*.node'],
    banner: { js: "import { createRequire as __slCreateRequire } from 'node:module'; const require = __slCreateRequire(import.meta.url);" },
    plugins: [coveragePlugin(include, state)],
  });
  return state.edges;
}

function run(cmd, cmdArgs, log) {
  return new Promise((resolve) => {
    const p = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    const w = createWriteStream(log);
    p.stdout.pipe(w, { end: false });
    p.stderr.pipe(w, { end: false });
    p.on('close', (code, signal) => w.end(() => resolve(code ?? (signal ? 128 : 1))));
  });
}

let passed = 0;
let failed = 0;

// Self-test: the JavaScript driver must still be guided by coverage (lib/canary.ts).
{
  mkdirSync(`${out}/fuzz-logs`, { recursive: true });
  mkdirSync(`${out}/canary`, { recursive: true });
  const edges = await bundle([{ name: 'canary', source: 'test/fuzz/lib/canary.ts' }], /\/test\/fuzz\/lib\/canary\.ts$/);
  const log = `${out}/fuzz-logs/canary.log`;
  const code = await run(
    process.execPath,
    [
      'test/fuzz/lib/run-js.mjs',
      `${out}/fuzz-js/canary.mjs`,
      String(edges),
      '--',
      '-runs=2000000',
      '-seed=1',
      `-artifact_prefix=${out}/canary/`,
    ],
    log,
  );
  if (code !== 0 && /canary found/.test(readFileSync(log, 'utf8'))) {
    passed++;
    console.log('fuzz: canary: ok, the driver follows JavaScript coverage (found a 4-byte magic value)');
  } else {
    failed++;
    console.log(`fuzz: canary: FAILED: a 4-byte magic value was not found in 2,000,000 inputs; coverage guidance is broken (log ${log})`);
  }
}

const jsEdges = chosen.some((t) => t.kind === 'js') ? await bundle(chosen.filter((t) => t.kind === 'js')) : 0;
for (const t of chosen) {
  const work = `${out}/corpus/${t.name}`;
  const findings = `${out}/findings/${t.name}`;
  mkdirSync(work, { recursive: true });
  mkdirSync(findings, { recursive: true });
  mkdirSync(`${out}/fuzz-logs`, { recursive: true });
  const dirs = [work, `test/fuzz/corpus/${t.name}`, `test/fuzz/regressions/${t.name}`].filter((d) => existsSync(d));
  const lf = [`-max_total_time=${seconds}`, '-timeout=20', '-rss_limit_mb=2048', '-print_final_stats=1', `-artifact_prefix=${findings}/`, ...dirs];
  const log = `${out}/fuzz-logs/${t.name}.log`;
  let code;
  if (t.kind === 'c') {
    code = await run(`${out}/${t.name}`, lf, log);
  } else {
    code = await run(process.execPath, ['test/fuzz/lib/run-js.mjs', `${out}/fuzz-js/${t.name}.mjs`, String(jsEdges), '--', ...lf], log);
  }
  const text = readFileSync(log, 'utf8');
  const runs = /stat::number_of_executed_units:\s*(\d+)/.exec(text)?.[1] ?? '?';
  const cov = [...text.matchAll(/cov: (\d+)/g)].pop()?.[1] ?? '?';
  if (code === 0) {
    passed++;
    console.log(`fuzz: ${t.name}: ok, ${runs} inputs in ${seconds} s, ${cov} edges`);
  } else {
    failed++;
    const saved = /Test unit written to (\S+)/.exec(text)?.[1] ?? '(no input saved)';
    const lines = text.split('\n');
    const at = lines.findIndex((l) => /==sitelink-fuzz==|ERROR: (libFuzzer|AddressSanitizer)|runtime error:/.test(l));
    console.log(`fuzz: ${t.name}: FAILED (exit ${code}); input ${saved}; log ${log}`);
    console.log(lines.slice(Math.max(0, at), Math.max(0, at) + 25).map((l) => `  ${l}`).join('\n'));
    console.log(`  once fixed, keep the input as a regression: cp ${saved} test/fuzz/regressions/${t.name}/`);
  }
}
console.log(`fuzz: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
