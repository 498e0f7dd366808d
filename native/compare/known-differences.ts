// parity/known-differences.json (parity/README.md): accepted differences, each with a reason and an expiry date,
// used by the parity harness (native/parity/) and by shadow (native/switch/shadow.ts) as its ignore list.
// An expired entry fails the run; an entry that matched nothing is reported as stale.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';

export interface KnownDifference {
  readonly match: {
    readonly host?: string;       // glob: * and ?
    readonly scenario?: string;
    readonly artefact?: string;
    /** A changed line (either side) must match this regular expression to be accepted. */
    readonly line: string;
  };
  readonly reason: string;
  readonly expires: string;       // YYYY-MM-DD, the last day the entry is valid
}

const SCHEMA = {
  type: 'object',
  required: ['entries'],
  additionalProperties: false,
  properties: {
    $comment: { type: 'string' },
    entries: {
      type: 'array',
      items: {
        type: 'object',
        required: ['match', 'reason', 'expires'],
        additionalProperties: false,
        properties: {
          match: {
            type: 'object',
            required: ['line'],
            additionalProperties: false,
            properties: {
              host: { type: 'string' }, scenario: { type: 'string' }, artefact: { type: 'string' }, line: { type: 'string' },
            },
          },
          reason: { type: 'string', minLength: 1 },
          expires: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
        },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true }).compile(SCHEMA);

export function loadKnownDifferences(path: string): KnownDifference[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!validate(data)) {
    const first = validate.errors?.[0];
    throw new Error(`${path}: ${first?.instancePath || '/'} ${first?.message ?? 'invalid'}`);
  }
  const entries = (data as { entries: KnownDifference[] }).entries;
  for (const [index, entry] of entries.entries()) {
    try {
      new RegExp(entry.match.line);
    } catch {
      throw new Error(`${path}: entries[${index}].match.line is not a valid regular expression: ${entry.match.line}`);
    }
  }
  return entries;
}

function globMatches(glob: string | undefined, value: string): boolean {
  if (glob === undefined) return true;
  const pattern = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${pattern}$`).test(value);
}

export function isExpired(entry: KnownDifference, today: string): boolean {
  return entry.expires < today;
}

export interface Where { readonly host: string; readonly scenario: string; readonly artefact: string }

/** The entries that accept every changed line at this place, or undefined when some line stays unexplained. */
export function acceptChanges(entries: readonly KnownDifference[], where: Where, changedLines: readonly string[]):
  KnownDifference[] | undefined {
  const applicable = entries.filter((e) => globMatches(e.match.host, where.host)
    && globMatches(e.match.scenario, where.scenario) && globMatches(e.match.artefact, where.artefact));
  const used = new Set<KnownDifference>();
  for (const line of changedLines) {
    const entry = applicable.find((e) => new RegExp(e.match.line).test(line));
    if (entry === undefined) return undefined;
    used.add(entry);
  }
  return [...used];
}
