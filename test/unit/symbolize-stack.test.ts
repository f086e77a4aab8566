// The firmware bundles are minified (scripts/bundle.mjs; issue 10, one tunnel's memory),
// so a bug's stack from the board names short functions at "sitelinkd.cjs:2:48113".
// scripts/symbolize-stack.mjs maps those frames back to the sources through the build's
// source map. Checked on a real stack: a fixture bundled and minified as the firmware is,
// run, and its stack mapped back to the lines that threw and called.
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { repoRoot } from '../lib/paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'sl-symbolize-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const FIXTURE = [
  'export function parseTransformList(input: unknown): number {', // 1
  '  const list = input as { count: () => number };', //             2
  '  return list.count() + 1;', //                                   3: throws
  '}', //                                                            4
  'export function answerPeer(): number {', //                       5
  '  return parseTransformList({}) * 2;', //                         6: calls
  '}', //                                                            7
  'try {', //                                                        8
  '  answerPeer();', //                                              9
  '} catch (e) {', //                                                10
  '  process.stdout.write(`${(e as Error).stack}\\n`);', //          11
  '}', //                                                            12
].join('\n');

t.test('a minified bundle’s stack maps back to the source lines', async (t) => {
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'fixture.ts'), `${FIXTURE}\n`);
  await build({
    entryPoints: [join(dir, 'src', 'fixture.ts')],
    outfile: join(dir, 'dist', 'fixture.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    minify: true,
    sourcemap: 'linked',
    logLevel: 'silent',
  });
  // As the board runs it: without NODE_OPTIONS (tap adds its loaders to every child's,
  // and they would map the stack themselves).
  const run = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, join(dir, 'dist', 'fixture.cjs')], { encoding: 'utf8' });
  const stack = run.stdout;
  t.match(stack, /TypeError: .* is not a function/, 'the fixture threw a TypeError');
  t.notMatch(stack, /parseTransformList|answerPeer/, 'its frames do not name the functions (minified)');
  t.match(stack, /fixture\.cjs:\d+:\d+/, 'they give bundle positions');

  const out = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'symbolize-stack.mjs'), join(dir, 'dist')], { input: stack, encoding: 'utf8' });
  t.equal(out.status, 0, out.stderr);
  const frames = out.stdout.split('\n').filter((l) => l.trim().startsWith('at '));
  t.comment(out.stdout);
  t.match(frames[0], /src\/fixture\.ts:3:\d+.*\[fixture\.cjs:\d+:\d+\]/, 'the throwing frame maps to line 3');
  t.match(frames[1], /src\/fixture\.ts:6:\d+/, 'its caller to line 6');
  t.match(frames[2], /src\/fixture\.ts:9:\d+/, 'and the top level to line 9');
  t.match(out.stdout.split('\n')[0], /^TypeError: /, 'the message line passes unchanged');

  const unmapped = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'symbolize-stack.mjs'), join(dir, 'nowhere')], {
    input: stack,
    encoding: 'utf8',
  });
  t.equal(unmapped.stdout, stack, 'without the map every line passes unchanged');
});
