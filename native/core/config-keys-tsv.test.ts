import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { renderKeysTsv } from './config-keys-tsv.js';

it('legacy/lib/config-keys.tsv is the rendering of the TypeScript key table (run `make gen-keys`)', () => {
  const committed = readFileSync(join(import.meta.dirname, '..', '..', 'legacy', 'lib', 'config-keys.tsv'), 'utf8');
  expect(committed).toBe(renderKeysTsv());
});
