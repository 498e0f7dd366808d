// The configuration loader (config.md): reads backup.env, layers defaults < file < environment < command
// line, types every key, applies the cross-key rules, and reports every error at once.
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { CONFIG_KEYS, KEYS_BY_NAME, expectedText, isSecretKey, type KeySpec } from './config-keys.js';
import { parseEnvText, expandItem } from './config-parse.js';
import { emptyTakesDefault, normaliseValue, schemaViolations, typedValue, splitListItems } from './config-types.js';
import { esc } from './esc.js';
import { quoteEnvValue } from './state-env.js';

export const MAX_CONFIG_BYTES = 1024 * 1024;

export type Origin =
  | { readonly kind: 'default' }
  | { readonly kind: 'file'; readonly line: number }
  | { readonly kind: 'environment' }
  | { readonly kind: 'command line' };

export interface LoadOptions {
  readonly configPath: string;
  readonly baseDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Command-line values by key (`-v` → DEBUG_LEVEL=advanced, `--host` → SYSTEM_ROOT_PREFIX). */
  readonly overrides?: ReadonlyMap<string, string>;
}

export interface LoadedConfig {
  readonly configPath: string;
  readonly values: ReadonlyMap<string, string>;
  readonly origins: ReadonlyMap<string, Origin>;
  readonly unknownKeys: readonly string[];
  readonly warnings: readonly string[];
  readonly errors: readonly string[];
}

type FileText = { ok: true; text: string } | { ok: false; error: string };

export function readConfigText(path: string): FileText {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, error: `Configuration file not found: ${esc(path)}` };
    return { ok: false, error: `Configuration file not readable: ${esc(path)}` };
  }
  // A FIFO or device is never opened (security.md §9).
  if (!stat.isFile()) return { ok: false, error: `Configuration file not readable: ${esc(path)}` };
  if (stat.size > MAX_CONFIG_BYTES) {
    return { ok: false, error: `Configuration file too large: ${esc(path)} (${stat.size} bytes; the limit is ${MAX_CONFIG_BYTES})` };
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return { ok: false, error: `Configuration file not readable: ${esc(path)}` };
  }
  const label = basename(path);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { ok: false, error: `${label}:1: UTF-8 byte order mark (BOM) at the start of the file; save it without one` };
  }
  const badLine = firstInvalidLine(bytes);
  if (badLine !== undefined) return { ok: false, error: `${label}:${badLine}: invalid character` };
  return { ok: true, text: bytes.toString('utf8') };
}

/** 1-based line of the first NUL byte or invalid UTF-8 sequence, if any. */
export function firstInvalidLine(bytes: Buffer): number | undefined {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i += 1) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      const chunk = bytes.subarray(start, i);
      if (chunk.includes(0)) return line;
      try {
        decoder.decode(chunk);
      } catch {
        return line;
      }
      line += 1;
      start = i + 1;
    }
  }
  return undefined;
}

function where(origin: Origin, label: string): string {
  switch (origin.kind) {
    case 'file': return `at ${label}:${origin.line}`;
    case 'environment': return '(environment)';
    case 'command line': return '(command line)';
    case 'default': return '(default)';
    default: {
      const never: never = origin;
      return never;
    }
  }
}

export function invalidValueMessage(spec: KeySpec, raw: string, origin: Origin, label: string,
  expected = expectedText(spec)): string {
  const shown = isSecretKey(spec) ? '***' : esc(raw);
  return `Invalid value for ${spec.name}: '${shown}' (expected ${expected}) ${where(origin, label)}`;
}

export function loadConfig(options: LoadOptions): LoadedConfig {
  const { configPath, baseDir, env } = options;
  const label = basename(configPath);
  const warnings: string[] = [];
  const errors: string[] = [];
  const empty = { configPath, values: new Map(), origins: new Map(), unknownKeys: [], warnings, errors };

  const file = readConfigText(configPath);
  if (!file.ok) {
    errors.push(file.error);
    return empty;
  }
  let text = file.text;
  if (text.includes('\r\n')) {
    warnings.push(`${label} uses CRLF line endings`);
    text = text.replaceAll('\r\n', '\n');
  }
  if (text.trim() === '') warnings.push(`Configuration file is empty: ${esc(configPath)}`);

  const outside = (name: string): string | undefined => (name === 'BASE_DIR' ? baseDir : env[name]);
  const parsed = parseEnvText(text, label, outside);
  errors.push(...parsed.errors);

  const fileValues = new Map<string, { value: string; line: number }>();
  const unknownKeys: string[] = [];
  for (const { key, value, line } of parsed.assignments) {
    if (!KEYS_BY_NAME.has(key)) {
      warnings.push(`Unknown configuration key ${key} (${label}:${line})`);
      if (!unknownKeys.includes(key)) unknownKeys.push(key);
    }
    fileValues.set(key, { value, line });
  }
  const listLookup = (name: string): string => {
    if (name !== 'BASE_DIR') {
      const assigned = fileValues.get(name);
      if (assigned !== undefined) return assigned.value;
    }
    return outside(name) ?? '';
  };

  const values = new Map<string, string>();
  const origins = new Map<string, Origin>();
  const raws = new Map<string, string>();
  const keyErrors = new Map<string, string>();
  for (const spec of CONFIG_KEYS) {
    let raw = spec.defaultValue;
    let origin: Origin = { kind: 'default' };
    const fromFile = fileValues.get(spec.name);
    if (fromFile !== undefined) {
      raw = fromFile.value;
      origin = { kind: 'file', line: fromFile.line };
    }
    const fromEnv = env[spec.name];
    if (fromEnv !== undefined) {
      raw = fromEnv;
      origin = { kind: 'environment' };
    }
    const fromCli = options.overrides?.get(spec.name);
    if (fromCli !== undefined) {
      raw = fromCli;
      origin = { kind: 'command line' };
    }
    raws.set(spec.name, raw);
    origins.set(spec.name, origin);
    const effectiveRaw = raw.trim() === '' && emptyTakesDefault(spec) ? spec.defaultValue : raw;
    const normalised = normaliseValue(spec, expandDefault(spec, effectiveRaw, origin, baseDir), listLookup);
    if (normalised.ok) values.set(spec.name, normalised.value);
    else keyErrors.set(spec.name, invalidValueMessage(spec, raw, origin, label));
  }

  const typed: Record<string, unknown> = {};
  for (const spec of CONFIG_KEYS) {
    const value = values.get(spec.name);
    if (value !== undefined) typed[spec.name] = typedValue(spec, value);
  }
  for (const key of schemaViolations(typed)) {
    const spec = KEYS_BY_NAME.get(key);
    if (spec === undefined || keyErrors.has(key)) continue;
    keyErrors.set(key, invalidValueMessage(spec, raws.get(key) ?? '', origins.get(key) ?? { kind: 'default' }, label));
  }
  for (const spec of CONFIG_KEYS) {
    const message = keyErrors.get(spec.name);
    if (message !== undefined) errors.push(message);
  }
  for (const key of unknownKeys) values.set(key, fileValues.get(key)?.value ?? '');

  if (keyErrors.size === 0) {
    applyCrossKeyRules({ values, origins, raws, label, warnings, errors });
  }
  return { configPath, values, origins, unknownKeys, warnings, errors };
}

/** Defaults mention `${BASE_DIR}`; a default list is expanded item by item in normaliseValue instead. */
function expandDefault(spec: KeySpec, raw: string, origin: Origin, baseDir: string): string {
  if (origin.kind !== 'default' || spec.kind === 'list') return raw;
  return expandItem(raw, (name) => (name === 'BASE_DIR' ? baseDir : ''));
}

interface RuleContext {
  values: Map<string, string>;
  origins: ReadonlyMap<string, Origin>;
  raws: ReadonlyMap<string, string>;
  label: string;
  warnings: string[];
  errors: string[];
}

const isTrue = (values: ReadonlyMap<string, string>, key: string): boolean => values.get(key) === 'true';

/** Range of COMPRESSION_LEVEL for the chosen type and mode (config.md §5.8). */
export function compressionLevelRange(type: string, mode: string): readonly [number, number] {
  if (type === 'zstd') return mode === 'ultra' ? [1, 22] : [1, 19];
  if (type === 'none') return [1, 22];
  return [1, 9];
}

function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent === '/' ? '/' : `${parent}/`);
}

// config.md §8 and security.md §9. Tier switches turned off here are what context.env records.
function applyCrossKeyRules(ctx: RuleContext): void {
  const { values, warnings, errors } = ctx;
  const get = (key: string): string => values.get(key) ?? '';
  const fail = (key: string, expected: string): void => {
    const spec = KEYS_BY_NAME.get(key);
    if (spec === undefined) return;
    errors.push(invalidValueMessage(spec, ctx.raws.get(key) ?? '', ctx.origins.get(key) ?? { kind: 'default' },
      ctx.label, expected));
  };

  if (get('LOCAL_BACKUP_PATH') === '') fail('LOCAL_BACKUP_PATH', 'absolute path');
  if (get('LOCAL_LOG_PATH') === '') fail('LOCAL_LOG_PATH', 'absolute path');
  const [low, high] = compressionLevelRange(get('COMPRESSION_TYPE'), get('COMPRESSION_MODE'));
  const level = Number(get('COMPRESSION_LEVEL'));
  if (level < low || level > high) fail('COMPRESSION_LEVEL', `int ${low}..${high}`);
  if (!isDirectory(get('SYSTEM_ROOT_PREFIX'))) fail('SYSTEM_ROOT_PREFIX', 'existing directory');

  if (isTrue(values, 'ENCRYPT_ARCHIVE')) {
    const recipients = countRecipients(get('AGE_RECIPIENTS'), get('AGE_RECIPIENT_FILE'));
    if (recipients.error !== undefined) errors.push(recipients.error);
    else if (recipients.count === 0) {
      errors.push('ENCRYPT_ARCHIVE=true but no age recipient is configured (AGE_RECIPIENTS, AGE_RECIPIENT_FILE)');
    }
  }

  if (isTrue(values, 'ENABLE_SECONDARY_BACKUP')) {
    if (get('SECONDARY_BACKUP_PATH') === '' || get('SECONDARY_LOG_PATH') === '') {
      warnings.push('Secondary backup enabled but SECONDARY_BACKUP_PATH or SECONDARY_LOG_PATH is empty; secondary tier disabled');
      values.set('ENABLE_SECONDARY_BACKUP', 'false');
    } else if (isInside(get('SECONDARY_BACKUP_PATH'), get('LOCAL_BACKUP_PATH'))) {
      warnings.push('SECONDARY_BACKUP_PATH is inside LOCAL_BACKUP_PATH; secondary tier disabled');
      values.set('ENABLE_SECONDARY_BACKUP', 'false');
    }
  }

  if (isTrue(values, 'ENABLE_CLOUD_BACKUP')) checkCloudKeys(values, warnings);

  if (isTrue(values, 'TELEGRAM_ENABLED') && get('BOT_TELEGRAM_TYPE') === 'centralized'
    && get('TELEGRAM_SERVER_API_HOST') === '') {
    warnings.push('BOT_TELEGRAM_TYPE=centralized but TELEGRAM_SERVER_API_HOST is empty; Telegram disabled');
    values.set('TELEGRAM_ENABLED', 'false');
  }

  const method = get('EMAIL_DELIVERY_METHOD');
  if (method === 'relay' || method === 'ses') {
    warnings.push(`EMAIL_DELIVERY_METHOD=${method} is no longer supported; using sendmail`);
    values.set('EMAIL_DELIVERY_METHOD', 'sendmail');
  }
  if (isTrue(values, 'EMAIL_ENABLED')) {
    for (const key of ['EMAIL_RECIPIENT', 'EMAIL_FROM', 'EMAIL_SUBJECT_PREFIX']) {
      if (/[\r\n]/.test(get(key))) {
        warnings.push(`Invalid ${key} '${esc(get(key))}' (line break); e-mail disabled`);
        values.set('EMAIL_ENABLED', 'false');
        break;
      }
    }
  }
}

// security.md §9: remote names and paths that rclone would read as options or escapes.
function checkCloudKeys(values: Map<string, string>, warnings: string[]): void {
  const get = (key: string): string => values.get(key) ?? '';
  if (get('RCLONE_REMOTE') === '' || get('CLOUD_BACKUP_PATH') === '' || get('CLOUD_LOG_PATH') === '') {
    warnings.push('Cloud backup enabled but RCLONE_REMOTE, CLOUD_BACKUP_PATH or CLOUD_LOG_PATH is empty; cloud tier disabled');
    values.set('ENABLE_CLOUD_BACKUP', 'false');
    return;
  }
  const remote = get('RCLONE_REMOTE');
  // eslint-disable-next-line no-control-regex
  const control = /[\x00-\x1f\x7f]/;
  const badRemote = /^[-:/]/.test(remote) || remote.includes(':') || control.test(remote) || remote !== remote.trim();
  const bad = badRemote ? 'RCLONE_REMOTE'
    : ['CLOUD_BACKUP_PATH', 'CLOUD_LOG_PATH'].find((key) => control.test(get(key)) || get(key).split('/').includes('..'));
  if (bad !== undefined) {
    warnings.push(`Invalid ${bad} '${esc(get(bad))}'; cloud tier disabled`);
    values.set('ENABLE_CLOUD_BACKUP', 'false');
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function countRecipients(inline: string, file: string): { count: number; error?: string } {
  let count = inline === '' ? 0 : inline.split('\n').length;
  if (file !== '') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return { count, error: `Cannot read AGE_RECIPIENT_FILE: ${esc(file)}` };
    }
    count += splitListItems(text, () => '').length;
  }
  return { count };
}

/** `KEY='value'` lines of every known key (table order), then unknown keys in file order. */
export function formatResolved(config: LoadedConfig, options: { maskSecrets: boolean }): string {
  const lines: string[] = [];
  const names = [...CONFIG_KEYS.map((k) => k.name), ...config.unknownKeys];
  for (const name of names) {
    const value = config.values.get(name);
    if (value === undefined) continue;
    const spec = KEYS_BY_NAME.get(name);
    if (options.maskSecrets && spec !== undefined && isSecretKey(spec) && value !== '') {
      lines.push(`${name}=***`);
    } else {
      lines.push(`${name}=${quoteEnvValue(value)}`);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
