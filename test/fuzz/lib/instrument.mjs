// Edge-coverage instrumentation of the firmware's TypeScript for the libFuzzer
// driver (native/fuzz/node/sl_fuzz_node.c), as an esbuild plugin.
//
// Every branch target gets `__slc[id]++`: function bodies, both arms of if
// and ?:, loop bodies, switch cases, catch blocks, the right operand of
// && || ??. `__slc` is the global Uint8Array whose memory libFuzzer reads as
// its inline 8-bit counters, so a new edge (or a new hit-count bucket of an
// edge) makes an input interesting, as with clang's -fsanitize=fuzzer.
// The TypeScript compiler's own transformer API does the rewriting (no
// extra parser); only files under `include` are instrumented, the fuzz
// targets themselves are not.
import { readFile } from 'node:fs/promises';
import ts from 'typescript';

/** The esbuild plugin; `state.edges` is the number of counters once the build is done. */
export function coveragePlugin(include, state = { edges: 0 }) {
  return {
    name: 'sitelink-fuzz-coverage',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (!include.test(args.path)) return undefined;
        const source = await readFile(args.path, 'utf8');
        const out = ts.transpileModule(source, {
          fileName: args.path,
          compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: false },
          transformers: { before: [edgeCounters(state)] },
        });
        return { contents: out.outputText, loader: 'js' };
      });
    },
  };
}

function edgeCounters(state) {
  return (ctx) => {
    const f = ctx.factory;
    const bumpExpr = () =>
      f.createPostfixIncrement(f.createElementAccessExpression(f.createIdentifier('__slc'), f.createNumericLiteral(state.edges++)));
    const bump = () => f.createExpressionStatement(bumpExpr());
    const withBump = (e) => f.createParenthesizedExpression(f.createCommaListExpression([bumpExpr(), e]));
    const blockWith = (s) => (ts.isBlock(s) ? f.updateBlock(s, [bump(), ...s.statements]) : f.createBlock([bump(), s], true));
    // A function body: after any prologue directive ("use strict" must stay first).
    const bodyWith = (b) => {
      let i = 0;
      while (i < b.statements.length && ts.isExpressionStatement(b.statements[i]) && ts.isStringLiteral(b.statements[i].expression)) i++;
      return f.updateBlock(b, [...b.statements.slice(0, i), bump(), ...b.statements.slice(i)]);
    };
    const logical = new Set([ts.SyntaxKind.AmpersandAmpersandToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.QuestionQuestionToken]);

    const visit = (node) => {
      node = ts.visitEachChild(node, visit, ctx);
      if (ts.isIfStatement(node))
        return f.updateIfStatement(
          node,
          node.expression,
          blockWith(node.thenStatement),
          node.elseStatement ? blockWith(node.elseStatement) : f.createBlock([bump()]),
        );
      if (ts.isForStatement(node)) return f.updateForStatement(node, node.initializer, node.condition, node.incrementor, blockWith(node.statement));
      if (ts.isForOfStatement(node))
        return f.updateForOfStatement(node, node.awaitModifier, node.initializer, node.expression, blockWith(node.statement));
      if (ts.isForInStatement(node)) return f.updateForInStatement(node, node.initializer, node.expression, blockWith(node.statement));
      if (ts.isWhileStatement(node)) return f.updateWhileStatement(node, node.expression, blockWith(node.statement));
      if (ts.isDoStatement(node)) return f.updateDoStatement(node, blockWith(node.statement), node.expression);
      if (ts.isCaseClause(node)) return f.updateCaseClause(node, node.expression, [bump(), ...node.statements]);
      if (ts.isDefaultClause(node)) return f.updateDefaultClause(node, [bump(), ...node.statements]);
      if (ts.isCatchClause(node)) return f.updateCatchClause(node, node.variableDeclaration, blockWith(node.block));
      if (ts.isConditionalExpression(node))
        return f.updateConditionalExpression(
          node,
          node.condition,
          node.questionToken,
          withBump(node.whenTrue),
          node.colonToken,
          withBump(node.whenFalse),
        );
      if (ts.isBinaryExpression(node) && logical.has(node.operatorToken.kind))
        return f.updateBinaryExpression(node, node.left, node.operatorToken, withBump(node.right));
      if (ts.isArrowFunction(node))
        return f.updateArrowFunction(node, node.modifiers, node.typeParameters, node.parameters, node.type, node.equalsGreaterThanToken,
          ts.isBlock(node.body) ? bodyWith(node.body) : withBump(node.body));
      if (ts.isFunctionDeclaration(node) && node.body)
        return f.updateFunctionDeclaration(
          node,
          node.modifiers,
          node.asteriskToken,
          node.name,
          node.typeParameters,
          node.parameters,
          node.type,
          bodyWith(node.body),
        );
      if (ts.isFunctionExpression(node))
        return f.updateFunctionExpression(
          node,
          node.modifiers,
          node.asteriskToken,
          node.name,
          node.typeParameters,
          node.parameters,
          node.type,
          bodyWith(node.body),
        );
      if (ts.isMethodDeclaration(node) && node.body)
        return f.updateMethodDeclaration(
          node,
          node.modifiers,
          node.asteriskToken,
          node.name,
          node.questionToken,
          node.typeParameters,
          node.parameters,
          node.type,
          bodyWith(node.body),
        );
      if (ts.isConstructorDeclaration(node) && node.body)
        return f.updateConstructorDeclaration(node, node.modifiers, node.parameters, bodyWith(node.body));
      if (ts.isGetAccessorDeclaration(node) && node.body)
        return f.updateGetAccessorDeclaration(node, node.modifiers, node.name, node.parameters, node.type, bodyWith(node.body));
      if (ts.isSetAccessorDeclaration(node) && node.body)
        return f.updateSetAccessorDeclaration(node, node.modifiers, node.name, node.parameters, bodyWith(node.body));
      return node;
    };
    return (sf) => ts.visitEachChild(sf, visit, ctx);
  };
}
