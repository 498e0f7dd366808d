// The run summary (notify.md §2) as a pure renderer: one frozen snapshot of the run (SummaryState, gathered once
// at the start of phase 13) → the text of every channel, byte for byte what legacy/lib/notify.sh prints for the
// same RUN_DIR. No I/O here: the file checks, free space, clock and log lines are fields of the snapshot.
import type { ConfigValues } from '../core/config-keys.js';
import type { RunFacts } from '../core/config-view.js';
import { formatDuration, humanSize } from '../core/human.js';

export interface SummaryState {
  /** context.env then state.env, later wins (what a shim sources). */
  readonly values: ReadonlyMap<string, string>;
  /** The same snapshot's configuration and run facts, typed (native/core/config-view.ts). */
  readonly config: ConfigValues;
  readonly facts: RunFacts;
  readonly version: string;
  /** core_now at phase start. */
  readonly now: number;
  /** The wall clock for the e-mail Date header (parity normalises it). */
  readonly sendTime: number;
  readonly logErrors: readonly string[];
  readonly logWarnings: readonly string[];
  /** BACKUP_FILE is an existing file; its .metadata's COMPRESSION_LEVEL lines (undefined without the file). */
  readonly archiveExists: boolean;
  readonly metadataLevel: string | undefined;
  readonly logFileExists: boolean;
  readonly freeLocal: number | undefined;
  readonly freeSecondary: number | undefined;
}

export type Outcome = 'success' | 'warning' | 'error';

const v = (s: SummaryState, key: string): string => s.values.get(key) ?? '';

export function exitCodeOf(s: SummaryState): 0 | 1 | 2 {
  if (s.logErrors.length > 0) return 2;
  return s.logWarnings.length > 0 ? 1 : 0;
}

export function outcomeOf(s: SummaryState): Outcome {
  return (['success', 'warning', 'error'] as const)[exitCodeOf(s)];
}

export function emoji(word: string): string {
  switch (word) {
    case 'ok': case 'success': case 'sent': return '✅';
    case 'warning': return '⚠️';
    case 'error': case 'failed': return '❌';
    default: return '➖';
  }
}

export function title(s: SummaryState): string {
  let tag = s.facts.DRY_RUN ? '[DRY RUN] ' : '';
  if (s.facts.CHECK_ONLY) tag = '[CHECK] ';
  const type = ({ pve: 'PVE', pbs: 'PBS', dual: 'PVE+PBS' } as Record<string, string>)[v(s, 'PROXMOX_TYPE')] ?? 'UNKNOWN';
  const status = outcomeOf(s);
  const word = status === 'success' ? 'OK' : status === 'warning' ? 'WARNING' : 'FAILED';
  return `${emoji(status)} ${tag}${type} backup ${word} - ${v(s, 'HOSTNAME')}`;
}

/** storage_primary_status */
function primaryStatus(s: SummaryState): string {
  if (s.facts.DRY_RUN || s.facts.CHECK_ONLY) return 'skipped';
  const archive = v(s, 'STATUS_ARCHIVE') || '2';
  const verify = v(s, 'STATUS_VERIFY') || '2';
  if (archive === '2' || verify === '2') return 'error';
  return verify === '1' ? 'warning' : 'ok';
}

export function tierStatus(s: SummaryState, tier: 'primary' | 'secondary' | 'cloud'): string {
  if (tier === 'primary') return primaryStatus(s);
  const status = v(s, `STATUS_${tier.toUpperCase()}`);
  if (status !== '') return status;
  const enabled = tier === 'secondary' ? s.config.ENABLE_SECONDARY_BACKUP : s.config.ENABLE_CLOUD_BACKUP;
  return enabled ? 'skipped' : 'disabled';
}

function gfsOn(s: SummaryState): boolean {
  const { RETENTION_DAILY, RETENTION_WEEKLY, RETENTION_MONTHLY, RETENTION_YEARLY } = s.config;
  return [RETENTION_DAILY, RETENTION_WEEKLY, RETENTION_MONTHLY, RETENTION_YEARLY].some((days) => days > 0);
}

/** MAX_* as the messages show it: '' when 0 or GFS is on. */
function tierMax(s: SummaryState, key: string): string {
  const max = v(s, key);
  return gfsOn(s) || Number(max || '0') === 0 ? '' : max;
}

const TIERS = [['Local', 'primary', 'MAX_LOCAL_BACKUPS'], ['Secondary', 'secondary', 'MAX_SECONDARY_BACKUPS'],
  ['Cloud', 'cloud', 'MAX_CLOUD_BACKUPS']] as const;

function tierLine(s: SummaryState, label: string, tier: 'primary' | 'secondary' | 'cloud', maxKey: string): string {
  const status = tierStatus(s, tier);
  const count = v(s, `${tier.toUpperCase()}_BACKUP_COUNT`);
  const max = tierMax(s, maxKey);
  let text = status;
  if (status === 'ok' || status === 'warning' || status === 'error') {
    if (count === '') text = status;
    else if (max === '') text = `${count} backups`;
    else text = `${count}/${max} backups`;
  }
  return `${emoji(status)} ${label}: ${text}\n`;
}

/** notify_cut: at most 200 code points (199 and …). */
export function cut(text: string): string {
  const points = Array.from(text);
  return points.length > 200 ? `${points.slice(0, 199).join('')}…` : text;
}

/** The message of a log line: what follows `[LEVEL] `. */
function messageOf(line: string, level: 'ERROR' | 'WARNING'): string {
  const marker = `[${level}] `;
  const at = line.indexOf(marker);
  return at < 0 ? line : line.slice(at + marker.length);
}

function issuesBlock(s: SummaryState): string {
  const errors = s.logErrors.length;
  const warnings = s.logWarnings.length;
  if (errors + warnings === 0) return '';
  let out = `\n❗ Errors: ${errors} · Warnings: ${warnings}\n`;
  const shownErrors = s.logErrors.slice(0, 5);
  const shownWarnings = s.logWarnings.slice(0, 5);
  for (const line of shownErrors) out += `❌ ${cut(messageOf(line, 'ERROR'))}\n`;
  for (const line of shownWarnings) out += `⚠️ ${cut(messageOf(line, 'WARNING'))}\n`;
  const shown = shownErrors.length + shownWarnings.length;
  if (shown !== errors + warnings) out += `… and ${errors + warnings - shown} more\n`;
  return out;
}

export function duration(s: SummaryState): number {
  const d = v(s, 'BACKUP_DURATION');
  return d !== '' ? Number(d) : s.now - Number(v(s, 'START_TIME'));
}

/** Local time of EPOCH in the run's zone: the fields strftime gives. */
export interface Zoned { Y: string; m: string; d: string; H: string; M: string; S: string; offsetMinutes: number; weekday: number; month: number }

export function zoned(epoch: number, timeZone: string): Zoned {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', { timeZone: timeZone || 'UTC', hourCycle: 'h23', year: 'numeric', month: '2-digit',
      day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  } catch {
    format = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', hourCycle: 'h23', year: 'numeric', month: '2-digit',
      day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(epoch * 1000)).map((p) => [p.type, p.value]));
  const [Y, m, d, H, M, S] = [parts.year ?? '', parts.month ?? '', parts.day ?? '', parts.hour ?? '', parts.minute ?? '', parts.second ?? ''];
  const asUtc = Date.UTC(Number(Y), Number(m) - 1, Number(d), Number(H), Number(M), Number(S)) / 1000;
  const weekday = new Date(asUtc * 1000).getUTCDay();
  return { Y: Y.padStart(4, '0'), m, d, H, M, S, offsetMinutes: Math.round((asUtc - epoch) / 60), weekday, month: Number(m) - 1 };
}

/** %z: +hhmm */
function offset(z: Zoned): string {
  const sign = z.offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(z.offsetMinutes);
  return `${sign}${String(Math.trunc(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

/** notify_body: §2.4, no trailing newline; with `emailResult`, Telegram's Email line. */
export function body(s: SummaryState, emailResult?: string): string {
  let out = '';
  for (const [label, tier, max] of TIERS) out += tierLine(s, label, tier, max);
  if (emailResult !== undefined) out += `${emoji(emailResult)} Email: ${emailResult}\n`;
  if (!s.facts.CHECK_ONLY) {
    out += '\n';
    const file = v(s, 'BACKUP_FILE');
    if (file !== '' && s.archiveExists) {
      out += `📦 ${file.slice(file.lastIndexOf('/') + 1)}\n`;
      const ratio = v(s, 'COMPRESSION_RATIO') || 'Unknown';
      const size = humanSize(Number(v(s, 'ARCHIVE_SIZE') || '0'));
      out += ratio === 'Unknown' ? `💾 Size: ${size}\n` : `💾 Size: ${size} · ratio ${ratio}\n`;
    } else if (s.facts.DRY_RUN) {
      out += '📦 Dry run: no archive created\n';
    } else {
      out += '📦 No archive created\n';
    }
    if (v(s, 'FILES_INCLUDED') !== '') out += `📁 Files included: ${v(s, 'FILES_INCLUDED')}\n`;
    if (Number(v(s, 'FILE_MISSING') || '0') !== 0) out += `⚠️ Missing critical files: ${v(s, 'FILE_MISSING')}\n`;
  }
  out += '\n💽 Free space\n';
  out += `🔹 Local: ${s.freeLocal !== undefined ? humanSize(s.freeLocal) : 'unknown'}\n`;
  if (tierStatus(s, 'secondary') !== 'disabled' && s.freeSecondary !== undefined) out += `🔹 Secondary: ${humanSize(s.freeSecondary)}\n`;
  const z = zoned(Number(v(s, 'START_TIME')), v(s, 'TZ'));
  out += `\n🕑 Started: ${z.Y}-${z.m}-${z.d} ${z.H}:${z.M}:${z.S}\n`;
  out += `⏱️ Duration: ${formatDuration(duration(s))}\n🆔 Server ID: ${v(s, 'SERVER_ID')}\n🔢 Exit code: ${exitCodeOf(s)}\n`;
  out += issuesBlock(s);
  return out.replace(/\n+$/, '');
}

/** UTF-16 code units (iconv -t UTF-16LE | wc -c / 2). */
const units = (text: string): number => text.length;

/** notify_truncate: at most 4096 UTF-16 code units, cut before a line end (§2.5). */
export function truncate(text: string): string {
  if (units(text) <= 4096) return text;
  const marker = '\n[message truncated]';
  let out = '';
  let first = true;
  for (const line of text.split('\n')) {
    const next = first ? line : `${out}\n${line}`;
    if (units(next + marker) > 4096) break;
    out = next;
    first = false;
  }
  return out + marker;
}

export function telegramText(s: SummaryState, emailResult: string): string {
  return truncate(`${title(s)}\n\n${body(s, emailResult)}`);
}

// ---------------------------------------------------------------------------------------------------
// E-mail (§4.2)

/** notify_subject: RFC 2047 words of at most 39 UTF-8 bytes, never inside a code point, joined by LF + space. */
export function encodeSubject(text: string): string {
  const words: Buffer[] = [];
  let chunk: Buffer[] = [];
  let size = 0;
  for (const c of Array.from(text)) {
    const bytes = Buffer.from(c, 'utf8');
    if (size + bytes.length > 39) {
      words.push(Buffer.concat(chunk));
      chunk = [];
      size = 0;
    }
    chunk.push(bytes);
    size += bytes.length;
  }
  if (size > 0) words.push(Buffer.concat(chunk));
  return words.map((w) => `=?UTF-8?B?${w.toString('base64')}?=`).join('\n ');
}

function phaseWord(s: SummaryState, phase: string): string {
  return ({ 0: 'ok', 1: 'warning', 2: 'error' } as Record<string, string>)[v(s, `STATUS_${phase}`)] ?? 'not run';
}

const pad14 = (label: string, value: string): string => `  ${label.padEnd(14)}${value}\n`;

function compressionLevel(s: SummaryState): string {
  let level = v(s, 'COMPRESSION_LEVEL');
  if (v(s, 'BACKUP_FILE') !== '' && s.metadataLevel !== undefined) level = s.metadataLevel;
  return level;
}

const effectiveType = (s: SummaryState): string => v(s, 'COMPRESSION_EFFECTIVE') || v(s, 'COMPRESSION_TYPE');

function details(s: SummaryState): string {
  const versions = [v(s, 'PVE_VERSION') !== '' ? `PVE ${v(s, 'PVE_VERSION')}` : '', v(s, 'PBS_VERSION') !== '' ? `PBS ${v(s, 'PBS_VERSION')}` : '']
    .filter((x) => x !== '').join(' · ');
  let out = 'Details\n';
  out += pad14('Host type:', v(s, 'PROXMOX_TYPE')) + pad14('Versions:', versions || 'none detected');
  if (!s.facts.CHECK_ONLY) {
    const type = effectiveType(s);
    const level = type === 'none' ? 'none' : compressionLevel(s);
    const file = v(s, 'BACKUP_FILE');
    out += pad14('Archive:', file !== '' && s.archiveExists ? file : 'none');
    out += pad14('Compression:', `${type}, level ${level || 'none'}, mode ${v(s, 'COMPRESSION_MODE')}, encrypted ${s.config.ENCRYPT_ARCHIVE ? 'yes' : 'no'}`);
  }
  const phases = ['SECURITY', 'DEPENDENCIES', 'COLLECT', 'ARCHIVE', 'VERIFY', 'STORAGE'].map((p) => `${p.toLowerCase()} ${phaseWord(s, p)}`);
  out += pad14('Phases:', phases.join(', '));
  out += pad14('Log file:', v(s, 'LOG_FILE') || 'none');
  return out;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** notify_email_message: the whole message with LF line endings. */
export function emailMessage(s: SummaryState, from: string, recipients: readonly string[]): string {
  const prefix = v(s, 'EMAIL_SUBJECT_PREFIX');
  const start = zoned(Number(v(s, 'START_TIME')), v(s, 'TZ'));
  const subject = `${prefix}${prefix !== '' ? ' ' : ''}${title(s)} (${start.Y}-${start.m}-${start.d} ${start.H}:${start.M})`;
  const now = zoned(s.sendTime, v(s, 'TZ'));
  const date = `${DAYS[now.weekday] ?? ''}, ${now.d} ${MONTHS[now.month] ?? ''} ${now.Y} ${now.H}:${now.M}:${now.S} ${offset(now)}`;
  const host = v(s, 'HOSTNAME');
  return `From: ${from}\nTo: ${recipients.join(', ')}\nSubject: ${encodeSubject(subject)}\n`
    + `Date: ${date}\n`
    + `Message-ID: <proxmox-backup.${v(s, 'RUN_TIMESTAMP')}.${v(s, 'SERVER_ID')}@${host}>\n`
    + 'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n'
    + `Auto-Submitted: auto-generated\nX-Auto-Response-Suppress: All\nList-Id: <backup-reports.${host}>\n\n`
    + `${title(s)}\n\n${body(s)}\n\n`
    + details(s)
    + `\n-- \nproxmox-backup ${s.version} · server ${v(s, 'SERVER_ID')}\n`;
}

// ---------------------------------------------------------------------------------------------------
// Webhooks (§5)

const js = (value: string): string => JSON.stringify(value);
const jnum = (value: string): string => (/^-?[0-9]+$/.test(value) ? value : 'null');
const jstrOrNull = (value: string): string => (value !== '' ? js(value) : 'null');

function phaseNum(s: SummaryState, phase: string): string {
  const value = v(s, `STATUS_${phase}`);
  return /^[0-2]$/.test(value) ? value : 'null';
}

function tierJson(s: SummaryState, tier: 'primary' | 'secondary' | 'cloud', maxKey: string, free: number | undefined): string {
  const status = tierStatus(s, tier);
  const freeText = status === 'disabled' || free === undefined ? '' : String(free);
  return `{"status":${js(status)},"count":${jnum(v(s, `${tier.toUpperCase()}_BACKUP_COUNT`))},"max":${jnum(tierMax(s, maxKey))},"free_bytes":${jnum(freeText)}}`;
}

function firstLinesJson(lines: readonly string[], level: 'ERROR' | 'WARNING'): string {
  return `[${lines.slice(0, 5).map((line) => js(cut(messageOf(line, level)))).join(',')}]`;
}

/** notify_generic_json: the generic payload, keys in §5.2 order. */
export function genericJson(s: SummaryState): string {
  const mode = s.facts.CHECK_ONLY ? 'check' : s.facts.DRY_RUN ? 'dry-run' : 'backup';
  const d = duration(s);
  const z = zoned(Number(v(s, 'START_TIME')), v(s, 'TZ'));
  const off = offset(z);
  const started = `${z.Y}-${z.m}-${z.d}T${z.H}:${z.M}:${z.S}${off.slice(0, 3)}:${off.slice(3)}`;
  let archive = 'null';
  const file = v(s, 'BACKUP_FILE');
  if (file !== '' && s.archiveExists) {
    const type = effectiveType(s);
    const level = type === 'none' ? '' : compressionLevel(s);
    archive = `{"name":${js(file.slice(file.lastIndexOf('/') + 1))},"path":${js(file)},"size_bytes":${jnum(v(s, 'ARCHIVE_SIZE'))}`
      + `,"size":${js(humanSize(Number(v(s, 'ARCHIVE_SIZE') || '0')))},"compression_type":${js(type)}`
      + `,"compression_level":${jnum(level)},"compression_mode":${js(v(s, 'COMPRESSION_MODE'))}`
      + `,"compression_ratio":${jstrOrNull(v(s, 'COMPRESSION_RATIO'))},"encrypted":${String(s.config.ENCRYPT_ARCHIVE)}}`;
  }
  const files = s.facts.CHECK_ONLY ? 'null' : `{"included":${jnum(v(s, 'FILES_INCLUDED'))},"missing":${jnum(v(s, 'FILE_MISSING'))}}`;
  const logFile = v(s, 'LOG_FILE') !== '' && s.logFileExists ? js(v(s, 'LOG_FILE')) : 'null';
  return `{"schema":"proxmox-backup.notify/1","tool_version":${js(s.version)},"mode":${js(mode)},"status":${js(outcomeOf(s))},`
    + `"exit_code":${exitCodeOf(s)},"title":${js(title(s))},"text":${js(body(s))},`
    + `"host":{"fqdn":${js(v(s, 'HOSTNAME'))},"type":${js(v(s, 'PROXMOX_TYPE'))},"pve_version":${jstrOrNull(v(s, 'PVE_VERSION'))},`
    + `"pbs_version":${jstrOrNull(v(s, 'PBS_VERSION'))},"server_id":${js(v(s, 'SERVER_ID'))}},`
    + `"run":{"timestamp":${js(v(s, 'RUN_TIMESTAMP'))},"started_at":${js(started)},"duration_seconds":${d},`
    + `"duration":${js(formatDuration(d))},"log_file":${logFile}},`
    + `"phases":{"security":${phaseNum(s, 'SECURITY')},"dependencies":${phaseNum(s, 'DEPENDENCIES')},"collect":${phaseNum(s, 'COLLECT')},`
    + `"archive":${phaseNum(s, 'ARCHIVE')},"verify":${phaseNum(s, 'VERIFY')},"storage":${phaseNum(s, 'STORAGE')}},`
    + `"archive":${archive},"files":${files},`
    + `"tiers":{"primary":${tierJson(s, 'primary', 'MAX_LOCAL_BACKUPS', s.freeLocal)},`
    + `"secondary":${tierJson(s, 'secondary', 'MAX_SECONDARY_BACKUPS', s.freeSecondary)},"cloud":${tierJson(s, 'cloud', 'MAX_CLOUD_BACKUPS', undefined)}},`
    + `"issues":{"errors":${s.logErrors.length},"warnings":${s.logWarnings.length},`
    + `"first_errors":${firstLinesJson(s.logErrors, 'ERROR')},"first_warnings":${firstLinesJson(s.logWarnings, 'WARNING')}}}`;
}

/** notify_webhook_payload: where to POST and what, or undefined when an ntfy URL has no topic. */
export function webhookPayload(s: SummaryState, format: string, url: string): { target: string; body: string } | undefined {
  const status = outcomeOf(s);
  const t = title(s);
  switch (format) {
    case 'discord': {
      const color = status === 'success' ? 3066993 : status === 'warning' ? 15965202 : 15158332;
      return { target: url, body: `{"username":"proxmox-backup","embeds":[{"title":${js(Array.from(t).slice(0, 256).join(''))},"description":${js(truncate(body(s)))},"color":${color}}]}` };
    }
    case 'slack': {
      const text = `${t}\n\n${body(s)}`.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replace(/\n+$/, '');
      return { target: url, body: `{"text":${js(text)}}` };
    }
    case 'ntfy': {
      const priority = status === 'success' ? 3 : status === 'warning' ? 4 : 5;
      const q = url.indexOf('?');
      const base = q < 0 ? url : url.slice(0, q);
      const query = q < 0 ? '' : url.slice(q);
      const topic = base.slice(base.lastIndexOf('/') + 1);
      const afterScheme = base.includes('://') ? base.slice(base.indexOf('://') + 3) : base;
      if (topic === '' || !afterScheme.includes('/')) return undefined;
      return { target: `${base.slice(0, base.lastIndexOf('/'))}/${query}`,
        body: `{"topic":${js(topic)},"title":${js(t)},"message":${js(body(s))},"priority":${priority}}` };
    }
    case 'gotify': {
      const priority = status === 'success' ? 2 : status === 'warning' ? 5 : 8;
      return { target: url, body: `{"title":${js(t)},"message":${js(body(s))},"priority":${priority},"extras":{"client::display":{"contentType":"text/plain"}}}` };
    }
    default:
      return { target: url, body: genericJson(s) };
  }
}

/** notify_redact_url: <scheme>://<host>[:<port>]/*** (or / without path or query), user info dropped (§5.1). */
export function redactUrl(url: string): string {
  const at = url.indexOf('://');
  const scheme = at < 0 ? url : url.slice(0, at);
  const rest = at < 0 ? url : url.slice(at + 3);
  const end = rest.search(/[/?#]/);
  let authority = end < 0 ? rest : rest.slice(0, end);
  const path = rest.slice(authority.length);
  authority = authority.slice(authority.lastIndexOf('@') + 1);
  return path === '' || path === '/' ? `${scheme}://${authority}/` : `${scheme}://${authority}/***`;
}
