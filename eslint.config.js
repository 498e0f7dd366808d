// Lint of the TypeScript side; shellcheck covers legacy/, shims/ and bin/ (make lint).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import clock, { CLOCK_EDGE_FILES, CLOCK_SYNTAX } from './eslint.clock.js';

// Typed configuration (docs/ARCHITECTURE.md "The stage contract"): a stage reads context.config / context.facts,
// where a bool is a boolean; the strings 'true'/'false' are the loader's business (native/core/config*.ts) only.
// no-restricted-syntax is one list per file: the clock's entries are repeated where both rules apply.
// (raw, not value: `x === true` on a boolean is fine.)
const STRING_BOOL = [{
  selector: 'BinaryExpression[operator=/^[!=]==?$/] > Literal[raw=/^[\'"](true|false)[\'"]$/]',
  message: "comparison with the string 'true' or 'false': read the typed value (context.config, context.facts: native/core/config-view.ts)",
}];
const CONFIG_FILES = ['native/core/config*.ts'];

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
  { files: ['native/**/*.ts'], ignores: [...CLOCK_EDGE_FILES, ...CONFIG_FILES],
    rules: { 'no-restricted-syntax': ['error', ...CLOCK_SYNTAX, ...STRING_BOOL] } },
  { files: CLOCK_EDGE_FILES.filter((glob) => glob.startsWith('native/')), ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-syntax': ['error', ...STRING_BOOL] } },
);
