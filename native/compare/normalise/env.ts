// state.env / .metadata normaliser: the sequence of KEY=value assignments in the order they were written,
// with time-valued and compressor-dependent values tokenised; state keys split by the domain that owns them,
// so a difference names its domain.
import { stateKeyDomain, type DomainName } from '../../core/stage.js';
import { parseEnvFile, quoteEnvValue } from '../../core/state-env.js';
import { replaceLiterals, tokeniseTempNames, type Replacements } from './tokens.js';

const VOLATILE: readonly (readonly [RegExp, string])[] = [
  [/^DURATION_[A-Z_]+$/, '<SECONDS>'],
  [/^BACKUP_DURATION$/, '<SECONDS>'],
  [/^ARCHIVE_SIZE$/, '<SIZE>'],
  [/^COMPRESSION_RATIO$/, '<RATIO>'],
  [/^SHA256$/, '<SHA256>'],
  [/^SERVER_ID$/, '<SERVER_ID>'],
  [/^IMPL_[A-Z]+$/, '<IMPL>'],            // which side ran: differs between paths by design
  [/^CLOUD_UPLOADED_BYTES$/, '<SIZE>'],
];

/** Which domain a state key is filed under: the ownership table of the stage contract (native/core/stage.ts). */
export { stateKeyDomain };

/** Raw `KEY='value'` lines in write order (a key may repeat: later wins, but every write is compared). */
export function envAssignments(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  // parseEnvFile keeps only the last value; re-parse line by line to keep every write.
  let chunk = '';
  for (const line of text.split('\n')) {
    chunk = chunk === '' ? line : `${chunk}\n${line}`;
    try {
      const parsed = parseEnvFile(`${chunk}\n`);
      for (const [key, value] of parsed) pairs.push([key, value]);
      chunk = '';
    } catch {
      // a value spanning lines: keep reading
    }
  }
  return pairs;
}

export function normaliseAssignment(key: string, value: string, replacements: Replacements): string {
  const rule = VOLATILE.find(([pattern]) => pattern.test(key));
  const shown = rule !== undefined ? rule[1] : tokeniseTempNames(replaceLiterals(value, replacements));
  return `${key}=${rule !== undefined ? shown : quoteEnvValue(shown)}\n`;
}

/** state.env split by domain: domain → normalised lines. */
export function normaliseState(text: string, replacements: Replacements = []): Map<DomainName, string> {
  const byDomain = new Map<DomainName, string>();
  for (const [key, value] of envAssignments(text)) {
    const domain = stateKeyDomain(key);
    byDomain.set(domain, (byDomain.get(domain) ?? '') + normaliseAssignment(key, value, replacements));
  }
  return byDomain;
}

/** The .metadata sidecar (archive.md §5.2): KEY=value lines, unquoted. */
export function normaliseMetadata(text: string): string {
  return text.split('\n').filter((l) => l !== '').map((line) => {
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    const rule = VOLATILE.find(([pattern]) => pattern.test(key));
    return `${rule !== undefined ? `${key}=${rule[1]}` : line}\n`;
  }).join('');
}

/** The .sha256 sidecar: `<hash>  <name>`; the hash is of compressed bytes, so only its shape is compared. */
export function normaliseChecksum(text: string): string {
  return text.replace(/^[0-9a-f]{64}( {2})/gm, '<SHA256>$1');
}
