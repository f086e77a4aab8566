// Maps the frames of a stack that a bundle printed (a bug's stack in the board's log,
// log/bug.ts) back to the TypeScript sources, through the bundle's source map from the
// same build (dist/*.map: the build is reproducible, so rebuilding the release's commit
// gives the same map). The bundles are minified (scripts/bundle.mjs): their frames say
// "sitelinkd.cjs:2:48113" and a short name, which only the map turns into a place.
//
// Usage: node scripts/symbolize-stack.mjs [DIST_DIR] < stack.txt
// Each "NAME.cjs:LINE:COL" or "NAME.mjs:LINE:COL" whose map is in DIST_DIR (default
// dist/) becomes "SOURCE:LINE:COL" followed by the bundle's position in brackets;
// other lines pass unchanged. The frame's function name stays the minified one: the
// source line says which function it is.
import { readFileSync, existsSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';

const dist = path.resolve(process.argv[2] ?? 'dist');
const maps = new Map();

/** The bundle's source map, or null when DIST_DIR has none for it. */
function mapOf(bundle) {
  if (!maps.has(bundle)) {
    const file = path.join(dist, `${bundle}.map`);
    maps.set(bundle, existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : null);
  }
  return maps.get(bundle);
}

/** One line of a stack with every bundle position in it mapped. */
function symbolizeLine(line) {
  return line.replace(/(?:[^\s()]*\/)?([\w.-]+\.(?:cjs|mjs)):(\d+):(\d+)/g, (whole, bundle, l, c) => {
    const map = mapOf(bundle);
    // Stack positions count from 1; the map's from 0.
    const e = map?.findEntry(Number(l) - 1, Number(c) - 1);
    if (!e || e.originalSource === undefined) return whole;
    const source = e.originalSource.replace(/^(\.\.\/)+/, '');
    return `${source}:${e.originalLine + 1}:${e.originalColumn + 1} [${bundle}:${l}:${c}]`;
  });
}

const text = readFileSync(0, 'utf8');
process.stdout.write(text.split('\n').map(symbolizeLine).join('\n'));
