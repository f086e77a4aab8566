// The firmware bundles (dist/*.mjs, scripts/bundle.mjs) must never declare, import
// or assign a name that is one of JavaScript's or Node's global intrinsics (Date,
// Map, Buffer, ...). Such a binding shadows the global in its scope, or replaces it
// for the whole process when assigned, and only the code paths that reach it fail,
// e.g. "TypeError: Date is not a constructor" on the board (issue 10). esbuild
// renames colliding top-level names, but a dependency's own declarations and any
// assignment pass through unchanged, so this checks the output, not the sources.
//
// The second test runs the bundles' Date-heavy code paths under the board's Node
// (Debian 13's Node 20) when SITELINK_BOARD_NODE names it, e.g. the arm64 binary
// under qemu-user (scripts/lab/board-node); otherwise it says SKIP.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import ts from 'typescript';
import { repoRoot } from '../lib/paths.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitForLine } from '../lib/wait.ts';

const INTRINSICS = new Set([
  'Date', 'Object', 'Array', 'Function', 'String', 'Number', 'Boolean', 'Symbol', 'BigInt', 'Math', 'JSON', 'Reflect',
  'Proxy', 'Promise', 'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'RegExp', 'Error', 'TypeError', 'RangeError',
  'SyntaxError', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Uint8Array', 'Int32Array', 'Uint32Array', 'Float64Array',
  'BigInt64Array', 'BigUint64Array', 'Intl', 'globalThis', 'Buffer', 'process', 'URL', 'TextEncoder', 'TextDecoder',
  'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'queueMicrotask', 'structuredClone', 'performance',
]);

/** Every place a bundle binds or assigns an intrinsic's name: "line: what". */
export function intrinsicBindings(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const found: string[] = [];
  const at = (n: ts.Node, what: string): void => {
    found.push(`${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}: ${what}`);
  };
  const bound = (name: ts.Node | undefined, kind: string): void => {
    if (name && ts.isIdentifier(name) && INTRINSICS.has(name.text)) at(name, `${kind} ${name.text}`);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) || ts.isParameter(n) || ts.isBindingElement(n)) bound(n.name, 'declares');
    else if (ts.isFunctionDeclaration(n) || ts.isClassDeclaration(n) || ts.isFunctionExpression(n) || ts.isClassExpression(n))
      bound(n.name, 'declares');
    else if (ts.isImportSpecifier(n) || ts.isImportClause(n) || ts.isNamespaceImport(n)) {
      // import { performance } from 'node:perf_hooks' binds the very same object: fine.
      let decl: ts.Node = n;
      while (!ts.isImportDeclaration(decl) && decl.parent) decl = decl.parent;
      const from = ts.isImportDeclaration(decl) && ts.isStringLiteral(decl.moduleSpecifier) ? decl.moduleSpecifier.text : '';
      const same = ts.isImportSpecifier(n) && from.startsWith('node:') && (n.propertyName ?? n.name).text === n.name.text;
      if (!same) bound(n.name, 'imports');
    } else if (ts.isCatchClause(n) && n.variableDeclaration) bound(n.variableDeclaration.name, 'declares');
    else if (
      ts.isBinaryExpression(n) &&
      n.operatorToken.kind >= ts.SyntaxKind.FirstAssignment &&
      n.operatorToken.kind <= ts.SyntaxKind.LastAssignment
    ) {
      bound(n.left, 'assigns');
      // Destructuring assignment: [Date] = ..., ({ Date } = ...)
      if (ts.isArrayLiteralExpression(n.left)) n.left.elements.forEach((e) => bound(e, 'assigns'));
      if (ts.isObjectLiteralExpression(n.left)) {
        for (const p of n.left.properties) {
          if (ts.isShorthandPropertyAssignment(p)) bound(p.name, 'assigns');
          else if (ts.isPropertyAssignment(p)) bound(p.initializer, 'assigns');
        }
      }
    } else if (
      (ts.isPrefixUnaryExpression(n) || ts.isPostfixUnaryExpression(n)) &&
      (n.operator === ts.SyntaxKind.PlusPlusToken || n.operator === ts.SyntaxKind.MinusMinusToken)
    ) {
      bound(n.operand, 'assigns');
    } else if (
      ts.isPropertyAccessExpression(n) &&
      ts.isIdentifier(n.expression) &&
      /^(globalThis|global)$/.test(n.expression.text) &&
      INTRINSICS.has(n.name.text)
    ) {
      const p = n.parent;
      if (ts.isBinaryExpression(p) && p.left === n && p.operatorToken.kind === ts.SyntaxKind.EqualsToken)
        at(n, `assigns ${n.expression.text}.${n.name.text}`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const dist = join(repoRoot, 'dist');
const bundles = existsSync(dist) ? readdirSync(dist).filter((f) => f.endsWith('.mjs')) : [];

t.test('the checker finds what it looks for', async (t) => {
  t.same(intrinsicBindings('x.mjs', 'const a = new Date();\nfunction f(Date) { return new Date(); }\n'), ['2: declares Date']);
  t.same(
    intrinsicBindings(
      'x.mjs',
      'var Date = require("x");\nimport { Map } from "m";\nDate = 1;\n({ Set } = o);\n[Promise] = a;\nglobalThis.Buffer = b;\n',
    ),
    ['1: declares Date', '2: imports Map', '3: assigns Date', '4: assigns Set', '5: assigns Promise', '6: assigns globalThis.Buffer'],
  );
  t.same(
    intrinsicBindings('x.mjs', 'import { performance } from "node:perf_hooks";\nimport { Date as D } from "node:x";\n'),
    [],
    "a builtin module's export under its own name is the same object",
  );
  t.same(intrinsicBindings('x.mjs', 'import { now as Date } from "node:x";\n'), ['1: imports Date']);
  t.same(intrinsicBindings('x.mjs', 'const o = { Date: 1 }; o.Date = 2; class A { Date() {} }\n'), [], 'property names are not bindings');
});

t.test(
  'no bundle binds or assigns a global intrinsic',
  { skip: bundles.length > 0 ? false : 'SKIP: dist/ has no bundles (npm run build)' },
  async (t) => {
    for (const f of bundles) {
      const found = intrinsicBindings(f, readFileSync(join(dist, f), 'utf8'));
      t.same(found, [], `dist/${f}: ${found.length === 0 ? 'clean' : found.slice(0, 10).join('; ')}`);
    }
  },
);

// Code paths of the bundles that make Dates, run under the board's Node.
const boardNode = process.env.SITELINK_BOARD_NODE;
t.test(
  "the bundles under the board's Node",
  {
    skip:
      boardNode && existsSync(boardNode)
        ? false
        : "SKIP: set SITELINK_BOARD_NODE to the board's node (scripts/lab/board-node prepares Debian 13's arm64 Node 20 under qemu-user)",
  },
  async (t) => {
    const node = boardNode!;
    const env = { ...process.env, NODE_OPTIONS: '' };
    const v = spawnSync(node, ['--version'], { encoding: 'utf8', env, timeout: 120_000 });
    t.match(v.stdout, /^v\d+\./, `board node ${v.stdout.trim()}`);
    const check = spawnSync(
      node,
      [join(dist, 'sitelinkctl.mjs'), 'check', '--no-secrets', join(repoRoot, 'board', 'common', 'sitelink.conf.example')],
      { encoding: 'utf8', env, timeout: 300_000 },
    );
    t.equal(check.status, 0, `sitelinkctl check of the example: ${check.stderr.trim() || check.stdout.trim()}`);
    const health = spawnSync(node, [join(dist, 'sitelinkctl.mjs'), '--socket', '/nonexistent/control.sock', '--json', 'health'], {
      encoding: 'utf8',
      env,
      timeout: 300_000,
    });
    t.equal(health.status, 0, `sitelinkctl health, collected locally with systeminformation: ${health.stderr.trim()}`);
    t.notMatch(`${health.stderr}${check.stderr}`, /is not a constructor|TypeError/, 'no TypeError');
  },
);

// The daemon itself under the board's Node: start, status, counters, explain, log and
// health through its control socket, then SIGTERM; it must neither throw nor exit early.
// Needs the arm64 addon (SITELINK_NATIVE, or the image build's cross build that
// scripts/lab/board-node finds) and root for a network namespace.
const boardNative = process.env.SITELINK_BOARD_NATIVE;
t.test(
  "the daemon's code paths under the board's Node",
  {
    skip: !(boardNode && existsSync(boardNode))
      ? "SKIP: set SITELINK_BOARD_NODE to the board's node (scripts/lab/board-node)"
      : !(boardNative && existsSync(boardNative))
        ? 'SKIP: set SITELINK_BOARD_NATIVE to the arm64 addon (the image build: .cache/image/native-arm64/Release/sitelink_native.node)'
        : (labSkipReason() ?? false),
  },
  async (t) => {
    const ns = `slbn${process.pid}`;
    const dir = mkdtempSync(join(tmpdir(), 'sl-board-daemon-'));
    const ip = (...a: string[]): void => void spawnSync('ip', a, { stdio: 'ignore' });
    ip('netns', 'add', ns);
    t.teardown(() => {
      ip('netns', 'del', ns);
      rmSync(dir, { recursive: true, force: true });
    });
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1');
    ip('-n', ns, 'link', 'set', 'w0', 'up');
    ip('-n', ns, 'link', 'set', 'w1', 'up');
    ip('-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'w0');
    const socket = join(dir, 'ctl', 'control.sock');
    writeFileSync(join(dir, 'gw.secrets'), 'psk {\n  peer.example = "a board daemon test passphrase, not secret"\n}\n', { mode: 0o600 });
    writeFileSync(
      join(dir, 'gw.conf'),
      `gateway {\n  id = gw.example\n  listen = 192.0.2.1\n  secrets = ${join(dir, 'gw.secrets')}\n  control-socket = ${socket}\n  tun = slb0\n` +
        `  log {\n    file = ${join(dir, 'gw.log')}\n    syslog = no\n  }\n}\n` +
        'peers {\n  hq {\n    remote = 192.0.2.2\n    local = 192.0.2.1\n    remote-id = peer.example\n    version = 2\n    start = start\n  }\n}\n' +
        'filter-lists {\n  l {\n    lan {\n      source = 10.1.0.0/24\n      destination = 10.2.0.0/24\n    }\n  }\n}\n' +
        'filter-actions {\n  secure {\n    action = negotiate\n    security-methods = aes128gcm16\n  }\n}\n' +
        'rules {\n  r {\n    filters = l\n    action = secure\n    peer = hq\n  }\n}\n',
      { mode: 0o600 },
    );
    const env = { ...process.env, NODE_OPTIONS: '', SITELINK_NATIVE: boardNative! };
    const d = spawn('ip', ['netns', 'exec', ns, boardNode!, join(dist, 'sitelinkd.mjs'), '-c', join(dir, 'gw.conf')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    d.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    let exited = false;
    d.on('exit', () => (exited = true));
    t.teardown(() => void (exited || d.kill('SIGKILL')));
    await waitForLine(d.stdout, /sitelinkd: ready/, 300_000);
    const ctl = (...a: string[]): ReturnType<typeof spawnSync> =>
      spawnSync(process.execPath, [join(dist, 'sitelinkctl.mjs'), '--socket', socket, ...a], { encoding: 'utf8', timeout: 300_000 });
    // The peer never answers: a failure record, retransmissions and log lines with dates.
    for (const args of [['--json', 'status'], ['counters'], ['sas'], ['explain', 'hq'], ['log', '-n', '20'], ['--json', 'health']]) {
      const r = ctl(...args);
      t.equal(r.status, 0, `sitelinkctl ${args.join(' ')}: ${String(r.stderr).trim().slice(0, 300)}`);
    }
    t.notOk(exited, 'the daemon is still running');
    d.kill('SIGTERM');
    await new Promise((resolve) => (exited ? resolve(null) : d.on('exit', resolve)));
    t.notMatch(out, /is not a constructor|TypeError/, `no TypeError from the daemon: ${out.slice(-500)}`);
  },
);
