// One clock, one environment (docs/design/STYLE.md §2.4, docs/ARCHITECTURE.md "One clock, the host root, exec"):
// the wall clock, the process environment and PBK_NOW are read at the edge (the CLI, the clock module) and passed
// in, so a stage runs with PBK_NOW, a fixture host and a test's environment without globals. Errors: `make lint`
// fails on a new use. Tests and operator tools are edges of their own.
const MESSAGE = 'read the clock and the environment at the edge (native/cli, native/core/clock.ts) and pass them in';

export const CLOCK_EDGE_FILES = ['native/cli/**', 'native/core/clock.ts', 'native/tools/**', 'tests/**', '**/*.test.ts'];

/** The no-restricted-syntax entries of this rule (eslint.config.js joins them with its own: one rule, one list). */
export const CLOCK_SYNTAX = [
  { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: `new Date() without argument: ${MESSAGE}` },
  { selector: "MemberExpression[property.name='PBK_NOW']", message: `PBK_NOW: the clock (native/core/clock.ts) reads it; ${MESSAGE}` },
  { selector: "MemberExpression[property.value='PBK_NOW']", message: `PBK_NOW: the clock (native/core/clock.ts) reads it; ${MESSAGE}` },
];

export default [
  {
    files: ['native/**/*.ts'],
    ignores: CLOCK_EDGE_FILES,
    rules: {
      'no-restricted-syntax': ['error', ...CLOCK_SYNTAX],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: `Date.now(): ${MESSAGE}` },
        { object: 'process', property: 'env', message: `process.env: ${MESSAGE}` },
      ],
    },
  },
];
