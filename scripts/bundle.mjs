// Bundles each firmware entry point into one file under dist/ (esbuild).
// The target is the Node the firmware runs on: Debian 13's arm64 nodejs (20),
// the board image's (board/common/profile.sh BOARD_SUITE).
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

// sitelinkd is CommonJS (dist/sitelinkd.cjs), the others ES modules (.mjs). On
// the board, Node's start is the longest step of the boot (issue 14), and an ES
// module entry pays there for Node's ESM loader and for a module facade of every
// built-in it imports (each built-in's exports copied into a module record):
// `sitelinkd --help` on the booted QEMU board, alternating, 2.72/2.91/3.12 s as
// an ES module against 2.46/2.79/2.54 s as CommonJS.
const cjsEntries = {
  sitelinkd: 'firmware/src/daemon/sitelinkd.ts',
};
const entries = {
  sitelinkctl: 'firmware/src/ctl/sitelinkctl.ts',
  'sitelink-static': 'firmware/src/static/sitelink-static.ts',
  // systeminformation, imported by the other bundles on the first health request.
  'sitelink-sysinfo': 'firmware/src/health/sysinfo.ts',
  // @noble/post-quantum's ML-KEM, imported only for a config whose proposals name it.
  'sitelink-mlkem': 'firmware/src/ike/crypto/ml-kem-noble.ts',
};

// health/collect.ts's import('systeminformation') becomes an import of the
// sitelink-sysinfo bundle beside the importing one (dist/, /usr/lib/sitelink/ on the
// board): a dynamic import inside one bundle still puts the whole package's text in
// it, which V8 parses and keeps at start (sitelinkd's RSS, issue 10).
const sysinfoApart = {
  name: 'sysinfo-apart',
  setup(b) {
    b.onResolve({ filter: /^systeminformation$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: './sitelink-sysinfo.mjs', external: true } : undefined,
    );
  },
};

// The same for ike/crypto/ml-kem.ts's import('./ml-kem-noble.ts'): the ML-KEM code,
// its SHA-3 and its tables were built at start, ~4 MB of sitelinkd's RSS (issue 10).
const mlKemApart = {
  name: 'mlkem-apart',
  setup(b) {
    b.onResolve({ filter: /(^|\/)ml-kem-noble\.ts$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: './sitelink-mlkem.mjs', external: true } : undefined,
    );
  },
};

const presentOf = (list) => Object.fromEntries(Object.entries(list).filter(([, f]) => existsSync(f)));
const present = presentOf(entries), presentCjs = presentOf(cjsEntries);
if (Object.keys(present).length + Object.keys(presentCjs).length === 0) {
  console.log('bundle: no entry points yet');
  process.exit(0);
}

const common = {
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // Paths in the bundle's module comments stay as seen from the repository
  // (node_modules/...), also where node_modules is a symlink: the image is
  // reproducible from any checkout (test/image/docker-build.test.ts).
  preserveSymlinks: true,
  // The ESP engine is a native addon found at run time, never bundled.
  external: ['*.node'],
  plugins: [sysinfoApart, mlKemApart],
};
await build({
  ...common,
  entryPoints: present,
  outExtension: { '.js': '.mjs' },
  format: 'esm',
  // CommonJS dependencies bundled into ESM still call require() for builtins.
  banner: { js: "import { createRequire as __slCreateRequire } from 'node:module'; const require = __slCreateRequire(import.meta.url);" },
});
await build({
  ...common,
  entryPoints: presentCjs,
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // Minified, names too: V8 keeps the source text in its heap for the process's life
  // (lazy compiling), 379 KB instead of 504 with white space only and 656 without.
  // bench:ike, one spoke: VmRSS 45.9 -> 45.8 MiB (issue 10; the earlier white space
  // step: 46.4-46.5 -> 46.2-46.3). keepNames would keep the function names in a bug's
  // stack but measured +0.4 MiB (a "name" property on every function), so a stack
  // names short functions and maps back to the sources through dist/sitelinkd.cjs.map
  // of the same reproducible build: node scripts/symbolize-stack.mjs < stack.txt.
  minify: true,
  // The sources' import.meta.url (dataplane/native.ts: where the addon is) is
  // the bundle's own file URL, as it is in the ES module bundles.
  define: { 'import.meta.url': '__slImportMetaUrl' },
  banner: { js: "const __slImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});
for (const name of Object.keys(present)) console.log(`bundle: dist/${name}.mjs`);
for (const name of Object.keys(presentCjs)) console.log(`bundle: dist/${name}.cjs`);
