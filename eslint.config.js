// Lint of the TypeScript side; shellcheck covers legacy/, shims/ and bin/ (make lint).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import clock from './eslint.clock.js';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'parity/hosts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...clock,
);
