// Writes legacy/lib/config-keys.tsv from the TypeScript key table (npm run gen:keys).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderKeysTsv } from '../core/config-keys-tsv.js';
import { codeDirectory } from '../cli/environment.js';

writeFileSync(join(codeDirectory(), 'legacy', 'lib', 'config-keys.tsv'), renderKeysTsv());
