// One clock, one environment (docs/design/STYLE.md §2.4): the wall clock and the process environment are read
// at the edge (the CLI, the clock module) and passed in, so a stage can be run with PBK_NOW, a fixture host and
// a test's environment without globals. `warn` while the existing uses are moved behind injected dependencies;
// `make lint` shows the list. Tests and operator tools are edges of their own.
const MESSAGE = 'read the clock and the environment at the edge (native/cli, native/core/clock.ts) and pass them in';

export const CLOCK_EDGE_FILES = ['native/cli/**', 'native/core/clock.ts', 'native/tools/**', 'tests/**', '**/*.test.ts'];

export default [
  {
    files: ['native/**/*.ts'],
    ignores: CLOCK_EDGE_FILES,
    rules: {
      'no-restricted-syntax': ['warn',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: `new Date() without argument: ${MESSAGE}` },
      ],
      'no-restricted-properties': ['warn',
        { object: 'Date', property: 'now', message: `Date.now(): ${MESSAGE}` },
        { object: 'process', property: 'env', message: `process.env: ${MESSAGE}` },
      ],
    },
  },
];
