// Lint: typescript-eslint's recommended rules plus the type-aware ones that catch real bugs in async
// networking code (a promise nobody awaits or catches is an unhandled rejection waiting to happen).
// Formatting is Prettier's job (.prettierrc.json), not ESLint's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'docs/**', 'src/web/classic/client/qimessaging.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // Off after one --fix pass: what it still reports is `m.decode('(ii)') as number[]`, where the assertion
      // picks decode's type argument; rewriting 128 of those as decode<number[]>(...) changes nothing.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/require-await': 'off',
      // `_name` marks what is unused on purpose (a required parameter, a skipped tuple element).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // A closure that reads a variable assigned once, later (let self; ... self = new X()), keeps `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Terminal escapes and control characters are matched on purpose (log output, CLI safety).
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
    },
  },
  {
    // node:test's test() and describe() return promises that the runner itself awaits.
    files: ['test/**/*.ts'],
    rules: {
      // Values read back from a browser page or a socket.io event are checked by assertions, not types.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
    },
  },
  {
    // @xmpp/client ships no types: these files reference our declaration of the part we use.
    files: ['src/remote/xmpp/*.ts'],
    rules: { '@typescript-eslint/triple-slash-reference': 'off' },
  },
  { files: ['**/*.mjs'], languageOptions: { globals: { ...globals.node } } },
);
