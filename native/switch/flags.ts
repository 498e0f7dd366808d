// The flag matrix (ARCHITECTURE "Domains and flags"): flags.json parsed with ajv, and the pure
// resolution defaults → canary → per-node override → command line, with the rule that decided each flag.
import { createHash } from 'node:crypto';
import { Ajv } from 'ajv';
import { DOMAINS, FLAG_VALUES, type DomainName, type FlagValue } from '../core/stage.js';

// The domains and flag values are the stage contract's (native/core/stage.ts); re-exported for the callers of this module.
export { DOMAINS, FLAG_VALUES, type DomainName, type FlagValue };

export interface CanaryRule {
  readonly value: FlagValue;
  readonly percent: number;
}

export interface FlagMatrix {
  readonly version: 1;
  readonly defaults: Partial<Record<DomainName, FlagValue>>;
  readonly canary: Partial<Record<DomainName, CanaryRule>>;
  readonly nodes: Readonly<Record<string, Partial<Record<DomainName, FlagValue>>>>;
  readonly fallback: boolean;
}

const domainMap = (valueSchema: object): object => ({
  type: 'object',
  properties: Object.fromEntries(DOMAINS.map((d) => [d, valueSchema])),
  additionalProperties: false,
});

export const FLAGS_SCHEMA = {
  $id: 'https://proxmox-backup.invalid/flags.schema.json',
  type: 'object',
  required: ['version', 'defaults'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    version: { const: 1 },
    defaults: domainMap({ enum: FLAG_VALUES }),
    canary: domainMap({
      type: 'object',
      required: ['value', 'percent'],
      additionalProperties: false,
      properties: { value: { enum: FLAG_VALUES }, percent: { type: 'integer', minimum: 0, maximum: 100 } },
    }),
    nodes: {
      type: 'object',
      propertyNames: { minLength: 1 },
      additionalProperties: domainMap({ enum: FLAG_VALUES }),
    },
    fallback: { type: 'boolean' },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const validateFlags = ajv.compile(FLAGS_SCHEMA);

export type ParsedFlags = { ok: true; matrix: FlagMatrix } | { ok: false; reason: string };

export const ALL_BASH: FlagMatrix = {
  version: 1,
  defaults: Object.fromEntries(DOMAINS.map((d) => [d, 'bash'])),
  canary: {},
  nodes: {},
  fallback: false,
};

export function parseFlags(text: string): ParsedFlags {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not valid JSON: ${(error as Error).message}` };
  }
  if (!validateFlags(data)) {
    const first = validateFlags.errors?.[0];
    const at = first?.instancePath === '' ? 'top level' : first?.instancePath ?? 'top level';
    return { ok: false, reason: `${at} ${first?.message ?? 'does not match the schema'}` };
  }
  const raw = data as Partial<FlagMatrix> & Pick<FlagMatrix, 'version' | 'defaults'>;
  return {
    ok: true,
    matrix: { version: 1, defaults: raw.defaults, canary: raw.canary ?? {}, nodes: raw.nodes ?? {}, fallback: raw.fallback ?? false },
  };
}

export function formatFlags(matrix: FlagMatrix): string {
  return `${JSON.stringify(matrix, null, 2)}\n`;
}

/** 0..99, stable for a server id across runs and releases: the first 32 bits of its SHA-256, mod 100. */
export function canaryBucket(serverId: string): number {
  const hex = createHash('sha256').update(`proxmox-backup-canary:${serverId}`, 'utf8').digest('hex').slice(0, 8);
  return Number.parseInt(hex, 16) % 100;
}

export interface NodeIdentity {
  readonly serverId: string;
  readonly hostnames: readonly string[];   // short name and fqdn
}

export interface Resolution {
  readonly domain: DomainName;
  readonly value: FlagValue;
  readonly rule: string;
}

export function resolveFlags(
  matrix: FlagMatrix, node: NodeIdentity, cli: Partial<Record<DomainName, FlagValue>> = {},
): Resolution[] {
  const bucket = canaryBucket(node.serverId);
  const nodeKeys = [node.serverId, ...node.hostnames].filter((k) => k !== '');
  return DOMAINS.map((domain): Resolution => {
    const fromCli = cli[domain];
    if (fromCli !== undefined) return { domain, value: fromCli, rule: 'command line' };
    for (const key of nodeKeys) {
      const value = matrix.nodes[key]?.[domain];
      if (value !== undefined) return { domain, value, rule: `node override (${key})` };
    }
    const canary = matrix.canary[domain];
    if (canary !== undefined && bucket < canary.percent) {
      return { domain, value: canary.value, rule: `canary ${canary.percent}% (bucket ${bucket})` };
    }
    const value = matrix.defaults[domain];
    if (value !== undefined) return { domain, value, rule: 'default' };
    return { domain, value: 'bash', rule: 'not set (bash)' };
  });
}

/** flags.json after `switch-mode --target=VALUE`: every domain on VALUE for every node, canaries cleared. */
export function targetMatrix(previous: FlagMatrix | undefined, value: 'bash' | 'ts'): FlagMatrix {
  return {
    version: 1,
    defaults: Object.fromEntries(DOMAINS.map((d) => [d, value])),
    canary: {},
    nodes: {},
    fallback: previous?.fallback ?? false,
  };
}

export function setDomain(matrix: FlagMatrix, domain: DomainName, value: FlagValue): FlagMatrix {
  return { ...matrix, defaults: { ...matrix.defaults, [domain]: value } };
}

export function isDomain(text: string): text is DomainName {
  return (DOMAINS as readonly string[]).includes(text);
}

export function isFlagValue(text: string): text is FlagValue {
  return (FLAG_VALUES as readonly string[]).includes(text);
}
