// The firmware bundles (dist/*.mjs and sitelinkd.cjs, scripts/bundle.mjs) must never declare, import
// or assign a name that is one of JavaScript's or Node's global intrinsics (Date,
// Map, Buffer, ...). Such a binding shadows the global in its scope, or replaces it
// for the whole process when assigned, and only the code paths that reach it fail,
// e.g. "TypeError: Date is not a constructor" on the board (issue 10). esbuild
// renames colliding top-level names, but a dependency's own declarations and any
// assignment pass through unchanged, so this checks the output, not the sources.
// Writes through the global object count too (globalThis['Date'] = ..., delete,
// Object.defineProperty/assign, Reflect.set), and so does code the scan cannot
// resolve or see: a `with` block, eval, the Function constructor.
//
// The second test runs the bundles' Date-heavy code paths under the board's Node
// (Debian 13's Node 20) when SITELINK_BOARD_NODE names it, e.g. the arm64 binary
// under qemu-user (scripts/lab/board-node); otherwise it says SKIP.
import t from 'tap';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import ts from 'typescript';
import { repoRoot } from '../lib/paths.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitForLine } from '../lib/wait.ts';
import { scratchGateway } from '../lib/scratch-ns.ts';

const INTRINSICS = new Set([
  'Date', 'Object', 'Array', 'Function', 'String', 'Number', 'Boolean', 'Symbol', 'BigInt', 'Math', 'JSON', 'Reflect',
  'Proxy', 'Promise', 'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'RegExp', 'Error', 'TypeError', 'RangeError',
  'SyntaxError', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Uint8Array', 'Int32Array', 'Uint32Array', 'Float64Array',
  'BigInt64Array', 'BigUint64Array', 'Intl', 'globalThis', 'Buffer', 'process', 'URL', 'TextEncoder', 'TextDecoder',
  'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'queueMicrotask', 'structuredClone', 'performance',
]);

// Names under which code reaches the global object itself.
const GLOBAL_OBJECTS = new Set(['globalThis', 'global', 'self', 'window']);
// Calls that write a property of their first argument: Object.defineProperty(globalThis, 'Date', ...).
const PROPERTY_WRITERS = new Set([
  'Object.defineProperty',
  'Object.defineProperties',
  'Object.assign',
  'Reflect.defineProperty',
  'Reflect.set',
  'Reflect.deleteProperty',
]);

/** Every place a bundle binds or assigns an intrinsic's name, or hides code from this scan: "line: what". */
export function intrinsicBindings(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const found: string[] = [];
  const at = (n: ts.Node, what: string): void => {
    found.push(`${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}: ${what}`);
  };
  const isGlobalObject = (e: ts.Expression): boolean => ts.isIdentifier(e) && GLOBAL_OBJECTS.has(e.text);
  // A property name in an object literal ({ Date: 1 }, { 'Date': 1 }) or a string key ('Date').
  const keyText = (k: ts.Node | undefined): string | undefined =>
    k && (ts.isIdentifier(k) || ts.isStringLiteralLike(k)) ? k.text : undefined;
  const literalKey = (e: ts.Expression | undefined): string | undefined => (e && ts.isStringLiteralLike(e) ? e.text : undefined);
  /** "globalThis.Date" for globalThis.Date / global['Date'], "global[<computed>]" for global[k], else undefined. */
  const globalMember = (n: ts.Node): string | undefined => {
    while (ts.isParenthesizedExpression(n)) n = n.expression;
    if (ts.isPropertyAccessExpression(n) && isGlobalObject(n.expression) && INTRINSICS.has(n.name.text))
      return `${n.expression.getText(sf)}.${n.name.text}`;
    if (ts.isElementAccessExpression(n) && isGlobalObject(n.expression)) {
      const name = literalKey(n.argumentExpression);
      if (name === undefined) return `${n.expression.getText(sf)}[<computed>]`;
      if (INTRINSICS.has(name)) return `${n.expression.getText(sf)}.${name}`;
    }
    return undefined;
  };
  const bound = (name: ts.Node | undefined, kind: string): void => {
    if (!name) return;
    if (ts.isIdentifier(name) && INTRINSICS.has(name.text)) at(name, `${kind} ${name.text}`);
    const member = kind === 'declares' || kind === 'imports' ? undefined : globalMember(name);
    if (member) at(name, `${kind} ${member}`);
  };
  /** Targets of a destructuring assignment: [Date] = ..., ({ Date } = ...), ({ a: globalThis.Date } = ...). */
  const assignedTargets = (left: ts.Expression): void => {
    if (ts.isParenthesizedExpression(left)) return assignedTargets(left.expression);
    if (ts.isArrayLiteralExpression(left)) {
      for (const e of left.elements) assignedTargets(ts.isSpreadElement(e) ? e.expression : e);
    } else if (ts.isObjectLiteralExpression(left)) {
      for (const p of left.properties) {
        if (ts.isShorthandPropertyAssignment(p)) bound(p.name, 'assigns');
        else if (ts.isPropertyAssignment(p)) assignedTargets(p.initializer);
        else if (ts.isSpreadAssignment(p)) assignedTargets(p.expression);
      }
    } else if (ts.isBinaryExpression(left) && left.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
      assignedTargets(left.left); // a default value: [Date = x] = ...
    } else bound(left, 'assigns');
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
      assignedTargets(n.left);
    } else if (
      (ts.isPrefixUnaryExpression(n) || ts.isPostfixUnaryExpression(n)) &&
      (n.operator === ts.SyntaxKind.PlusPlusToken || n.operator === ts.SyntaxKind.MinusMinusToken)
    ) {
      bound(n.operand, 'assigns');
    } else if (ts.isDeleteExpression(n)) {
      const member = globalMember(n.expression);
      if (member) at(n, `deletes ${member}`);
    } else if (ts.isForInStatement(n) || ts.isForOfStatement(n)) {
      if (!ts.isVariableDeclarationList(n.initializer)) assignedTargets(n.initializer);
    } else if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && ts.isIdentifier(n.expression.expression)) {
      const callee = `${n.expression.expression.text}.${n.expression.name.text}`;
      const [target, key] = n.arguments;
      if (PROPERTY_WRITERS.has(callee) && target && isGlobalObject(target)) {
        const g = target.getText(sf);
        const name = literalKey(key);
        if (callee === 'Object.assign' || callee === 'Object.defineProperties') {
          // Object.assign(globalThis, { Date }) names its keys; a computed source could hold anything.
          const sources = n.arguments.slice(1);
          for (const src of sources) {
            if (!ts.isObjectLiteralExpression(src)) at(n, `${callee}(${g}, ...) copies properties this scan cannot name`);
            else
              for (const p of src.properties) {
                const k = ts.isSpreadAssignment(p) ? undefined : keyText(p.name);
                if (ts.isSpreadAssignment(p) || (p.name && ts.isComputedPropertyName(p.name)))
                  at(p, `${callee}(${g}, ...) copies properties this scan cannot name`);
                else if (k !== undefined && INTRINSICS.has(k)) at(p, `${callee} writes ${g}.${k}`);
              }
          }
        } else if (name === undefined) at(n, `${callee}(${g}, <computed>) may write any global`);
        else if (INTRINSICS.has(name)) at(n, `${callee} writes ${g}.${name}`);
      }
    }
    // Code this scan cannot see or resolve: a `with` block resolves free names through an
    // object (a `Date` inside could be anything), eval and the Function constructor compile
    // strings at run time (a `var Date` there would not be in the bundle's text).
    if (ts.isWithStatement(n)) at(n, 'with statement');
    if ((ts.isCallExpression(n) || ts.isNewExpression(n)) && ts.isIdentifier(n.expression)) {
      if (n.expression.text === 'eval' && ts.isCallExpression(n)) at(n, 'eval(...)');
      if (n.expression.text === 'Function') at(n, 'Function constructor');
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const dist = join(repoRoot, 'dist');
const bundles = existsSync(dist) ? readdirSync(dist).filter((f) => f.endsWith('.mjs') || f.endsWith('.cjs')) : [];

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
  t.same(
    intrinsicBindings(
      'x.mjs',
      [
        'globalThis["Date"] = x;',
        'global.Map ??= y;',
        'delete globalThis.Date;',
        'Object.defineProperty(globalThis, "Date", {});',
        'Reflect.set(global, "Set", 1);',
        'Object.assign(globalThis, { Date: D, a: 1 });',
        'Object.assign(globalThis, extra);',
        'with (o) { new Date(); }',
        'eval("var Date");',
        'new Function("return this");',
        '({ a: globalThis.Promise } = o);',
        'for (Date in o);',
        'Object.defineProperty(self, key, {});',
        'globalThis[k] = v;',
      ].join('\n'),
    ),
    [
      '1: assigns globalThis.Date',
      '2: assigns global.Map',
      '3: deletes globalThis.Date',
      '4: Object.defineProperty writes globalThis.Date',
      '5: Reflect.set writes global.Set',
      '6: Object.assign writes globalThis.Date',
      '7: Object.assign(globalThis, ...) copies properties this scan cannot name',
      '8: with statement',
      '9: eval(...)',
      '10: Function constructor',
      '11: assigns globalThis.Promise',
      '12: assigns Date',
      '13: Object.defineProperty(self, <computed>) may write any global',
      '14: assigns globalThis[<computed>]',
    ],
    'writes to the global object and code the scan cannot see',
  );
  t.same(
    intrinsicBindings('x.mjs', 'const D = globalThis.Date; new D(); window.Date.now(); globalThis.foo = 1; Object.assign(o, { Date: 1 });\n'),
    [],
    'reading a global, or writing another name or another object, is fine',
  );
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
    // The daemon may die without its stop path: deleting the namespace cleans up after it.
    const { ns, conf, socket } = scratchGateway(t, 'slbn');
    const env = { ...process.env, NODE_OPTIONS: '', SITELINK_NATIVE: boardNative! };
    const d = spawn('ip', ['netns', 'exec', ns, boardNode!, join(dist, 'sitelinkd.cjs'), '-c', conf], {
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
