// Lint run by scripts/test (npm run lint). Formatting is kept by one rule,
// max-len, rather than a whole-tree formatter: a one-shot reformat would have
// rewritten nearly every file while several branches were editing them.
// Only the rules below are on; each passes on the whole tree.
import tseslint from 'typescript-eslint';

// A line that is nothing but a quoted hex string (a published test vector) may be long.
const HEX_LINE = /^\s*(['"`])(0x)?[0-9a-fA-F]+\1[,;)]*$/.source;

export default tseslint.config(
  { ignores: ['dist/**', 'native/build/**', 'native/build-asan/**', 'node_modules/**', 'image/**', 'build/**', '.cache/**', 'out/**'] },
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2023, sourceType: 'module' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'max-len': ['error', { code: 150, tabWidth: 2, ignoreUrls: true, ignoreRegExpLiterals: true, ignorePattern: HEX_LINE }],
      'no-debugger': 'error',
      'no-dupe-keys': 'error',
      'no-duplicate-case': 'error',
      'no-self-compare': 'error',
      'no-unsafe-finally': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // The IKEv1 exchange state machines: per-state shapes (isakmp-sa.ts) carry what a
    // step needs, so a `!` would be a claim about state the types no longer make (issue 16).
    files: ['firmware/src/ike/exchange/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'error' },
  },
);
