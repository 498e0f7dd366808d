// Typing of configuration values (config.md §3): raw text → normalised text, plus the JSON Schema
// (enforced with ajv) that holds ranges and enums. Pure; the loader in config.ts does the I/O.
import { Ajv } from 'ajv';
import { CONFIG_KEYS, type KeySpec } from './config-keys.js';
import { expandItem } from './config-parse.js';

export type Normalised = { ok: true; value: string } | { ok: false };

const SIZE = /^(\d+)([KMGT])?(I|B|IB)?$/;
const UNIT_POWER: Readonly<Record<string, number>> = { K: 1, M: 2, G: 3, T: 4 };

function trimmed(raw: string): string {
  return raw.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, '');
}

export function parseSize(text: string): number | undefined {
  const match = SIZE.exec(text.toUpperCase());
  if (match === null) return undefined;
  if (match[2] === undefined && match[3] !== undefined) return undefined;
  const power = match[2] === undefined ? 0 : UNIT_POWER[match[2]] ?? 0;
  const bytes = BigInt(match[1] ?? '0') * 1024n ** BigInt(power);
  return bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : undefined;
}

export function splitListItems(raw: string, lookup: (name: string) => string): string[] {
  const items: string[] = [];
  for (const line of raw.split('\n')) {
    let item = trimmed(line);
    if (item === '' || item.startsWith('#')) continue;
    if (item.length >= 2 && (item[0] === '"' || item[0] === "'") && item.endsWith(item[0])) {
      item = item.slice(1, -1);
    }
    items.push(expandItem(item, lookup));
  }
  return items;
}

/**
 * Normalises a raw value for its key. An empty value of a defaulted type returns the default, which the
 * caller passes already normalised. Range and enum membership are left to the JSON Schema.
 */
export function normaliseValue(spec: KeySpec, raw: string, lookup: (name: string) => string): Normalised {
  const text = spec.kind === 'string' || spec.kind === 'secret' || spec.kind === 'list' ? raw : trimmed(raw);
  switch (spec.kind) {
    case 'bool': {
      const lower = text.toLowerCase();
      if (lower === 'true' || lower === '1' || lower === 'yes') return { ok: true, value: 'true' };
      if (lower === 'false' || lower === '0' || lower === 'no') return { ok: true, value: 'false' };
      return { ok: false };
    }
    case 'int':
      return /^\d+$/.test(text) && text.length <= 15 ? { ok: true, value: String(Number(text)) } : { ok: false };
    case 'size': {
      const bytes = parseSize(text);
      return bytes === undefined ? { ok: false } : { ok: true, value: String(bytes) };
    }
    case 'path':
      if (text === '') return { ok: true, value: '' };
      if (!text.startsWith('/') || text.includes('\n')) return { ok: false };
      return { ok: true, value: text.replace(/\/+$/, '') || '/' };
    case 'list':
      return { ok: true, value: splitListItems(text, lookup).join('\n') };
    case 'csv':
      return { ok: true, value: text.split(/[, \t\n\r\f\v]+/).filter((item) => item !== '').join('\n') };
    case 'enum':
    case 'string':
    case 'secret':
      return { ok: true, value: text };
    case 'version':
      return /^\d+(\.\d+)*$/.test(text) ? { ok: true, value: text } : { ok: false };
    default: {
      const never: never = spec.kind;
      return never;
    }
  }
}

/** Whether an empty value means "use the default" for this kind (config.md §3, column "Empty value"). */
export function emptyTakesDefault(spec: KeySpec): boolean {
  return ['bool', 'int', 'size', 'enum', 'version'].includes(spec.kind);
}

function propertySchema(spec: KeySpec): Record<string, unknown> {
  switch (spec.kind) {
    case 'bool': return { type: 'boolean' };
    case 'int':
    case 'size':
      return { type: 'integer', minimum: spec.min ?? 0, ...(spec.max === undefined ? {} : { maximum: spec.max }) };
    case 'enum': return { enum: spec.values };
    case 'list':
    case 'csv':
      return { type: 'array', items: { type: 'string' } };
    default: return { type: 'string' };
  }
}

/** The configuration's JSON Schema: one property per key, with type, range, default and description. */
export function configJsonSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const spec of CONFIG_KEYS) {
    properties[spec.name] = { ...propertySchema(spec), description: spec.description, default: spec.defaultValue };
  }
  return { type: 'object', properties, additionalProperties: true };
}

/** Typed view of normalised text, the shape the JSON Schema checks. */
export function typedValue(spec: KeySpec, value: string): unknown {
  switch (spec.kind) {
    case 'bool': return value === 'true';
    case 'int':
    case 'size':
      return Number(value);
    case 'list':
    case 'csv':
      return value === '' ? [] : value.split('\n');
    default: return value;
  }
}

const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
const validateSchema = ajv.compile(configJsonSchema());

/** Keys whose typed values break the schema (range, enum), in the order ajv reports them. */
export function schemaViolations(typed: Record<string, unknown>): Set<string> {
  const bad = new Set<string>();
  if (!validateSchema(typed)) {
    for (const error of validateSchema.errors ?? []) bad.add(error.instancePath.replace(/^\//, ''));
  }
  return bad;
}
