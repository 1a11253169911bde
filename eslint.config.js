// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'lab/dist/**', 'docs/api/**', 'node_modules/**', '.examples/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'Export by name from entry files (STYLE.md 2).' },
      ],
    },
  },
  {
    // Node-only code must stay out of the browser-safe core (DESIGN.md invariant 6).
    files: ['lib/**/*.ts'],
    // Node-only entries: the sockets and the Redis store.
    ignores: ['lib/node/**', 'lib/redis/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'ws'] }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', 'scripts/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['spec/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
