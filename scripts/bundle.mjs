// Bundles each firmware entry point into one file under dist/ (esbuild).
// The target is the Node the firmware runs on: Debian 13's arm64 nodejs (20),
// the board image's (board/common/profile.sh BOARD_SUITE).
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const entries = {
  sitelinkd: 'firmware/src/daemon/sitelinkd.ts',
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

const present = Object.fromEntries(Object.entries(entries).filter(([, f]) => existsSync(f)));
if (Object.keys(present).length === 0) {
  console.log('bundle: no entry points yet');
  process.exit(0);
}

await build({
  entryPoints: present,
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
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
  // CommonJS dependencies bundled into ESM still call require() for builtins.
  banner: { js: "import { createRequire as __slCreateRequire } from 'node:module'; const require = __slCreateRequire(import.meta.url);" },
});
for (const name of Object.keys(present)) console.log(`bundle: dist/${name}.mjs`);
