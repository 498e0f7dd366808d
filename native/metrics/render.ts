// The metrics domain's renderer (metrics.md §2-3): run values → the textfile, through a prom-client registry.
// Pure apart from prom-client: the clock, free space, log counts and the previous file come in as inputs, so
// the same inputs give the same bytes legacy's metrics_write prints.
import { Counter, Gauge, Registry } from 'prom-client';
import type { ConfigValues } from '../core/config-keys.js';
import type { RunFacts } from '../core/config-view.js';
import { DOMAINS } from '../core/stage.js';

/** Every flag domain, in flags.ts' order (legacy/lib/metrics.sh METRICS_DOMAINS names the same). */
export const METRICS_DOMAINS = DOMAINS;
export const METRICS_PHASES = ['LOGFILE', 'DEPENDENCIES', 'COLLECT', 'ARCHIVE', 'VERIFY', 'STORAGE', 'NOTIFY'] as const;
const TIERS = ['primary', 'secondary', 'cloud'] as const;
const TIER_STATES = ['ok', 'warning', 'error', 'disabled', 'skipped'] as const;
const CHANNELS = ['email', 'telegram', 'webhook'] as const;

export interface MetricsInputs {
  /** The configuration the file reports (typed, the stage context's). */
  readonly config: Pick<ConfigValues, 'ENCRYPT_ARCHIVE'>;
  /** The run facts (HOSTNAME… as backup_detect wrote them). */
  readonly facts: RunFacts;
  /** A state key's text (state.env: what the stages and the orchestrator wrote), '' when unset. */
  readonly get: (key: string) => string;
  readonly version: string;
  /** core_now: PBK_NOW or the clock, in whole seconds. */
  readonly now: number;
  readonly freeBytes: { readonly primary: number | undefined; readonly secondary: number | undefined };
  readonly logCounts: { readonly errors: number; readonly warnings: number };
  /** The value of a sample (name + label text) in the existing file (metrics_previous), or undefined. */
  readonly previous: (name: string, labels: string) => string | undefined;
}

type Labels = Record<string, string>;
interface Sample { readonly labels: Labels; readonly value: number }

/** Registers one family unless it has no sample (§3: a family without sample is left out entirely). */
function family(registry: Registry, name: string, type: 'gauge' | 'counter', help: string, samples: readonly Sample[]): number {
  if (samples.length === 0) return 0;
  const labelNames = Object.keys(samples[0]?.labels ?? {});
  if (type === 'counter') {
    const counter = new Counter({ name, help, labelNames, registers: [registry] });
    for (const s of samples) counter.inc(s.labels, s.value);
  } else {
    const gauge = new Gauge({ name, help, labelNames, registers: [registry] });
    for (const s of samples) gauge.set(s.labels, s.value);
  }
  return samples.length;
}

const one = (value: number): Sample[] => [{ labels: {}, value }];
const optional = (text: string): Sample[] => (text === '' ? [] : one(Number(text)));

/** metrics_number: `87.50%` → 87.5 (a decimal as JavaScript prints it). */
export function ratioNumber(text: string): number {
  return Number(text.replace(/%$/, ''));
}

export function runSucceeded(get: (key: string) => string, dryRun: boolean): boolean {
  const code = Number(get('RUN_EXIT_CODE') || '0');
  return code <= 1 && get('BACKUP_FILE') !== '' && (get('STATUS_VERIFY') || '2') !== '2' && !dryRun;
}

/** The textfile and its number of sample lines. */
export async function renderMetrics(inputs: MetricsInputs): Promise<{ text: string; series: number }> {
  const { get, facts } = inputs;
  const registry = new Registry();
  let series = 0;
  const add = (name: string, type: 'gauge' | 'counter', help: string, samples: readonly Sample[]): void => {
    series += family(registry, name, type, help, samples);
  };
  const success = runSucceeded(get, facts.DRY_RUN);
  // Identity (#1-4)
  add('proxmox_backup_info', 'gauge', 'Host and tool identity', [{
    labels: { host: facts.HOSTNAME, type: facts.PROXMOX_TYPE, pve_version: facts.PVE_VERSION, pbs_version: facts.PBS_VERSION,
      server_id: facts.SERVER_ID, version: inputs.version }, value: 1 }]);
  add('proxmox_backup_dry_run', 'gauge', '1 when the last run was a dry run', one(facts.DRY_RUN ? 1 : 0));
  add('proxmox_backup_exit_code', 'gauge', 'Exit code of the last run (0 ok, 1 warning, 2 error)', one(Number(get('RUN_EXIT_CODE') || '0')));
  add('proxmox_backup_success', 'gauge', '1 when the last run produced a verified archive', one(success ? 1 : 0));
  // Time (#5-11)
  const start = Number(facts.START_TIME);
  const duration = get('BACKUP_DURATION') !== '' ? Number(get('BACKUP_DURATION')) : inputs.now - start;
  add('proxmox_backup_start_timestamp_seconds', 'gauge', 'Start of the last run, Unix time', one(start));
  add('proxmox_backup_end_timestamp_seconds', 'gauge', 'End of the last run, Unix time', one(inputs.now));
  add('proxmox_backup_duration_seconds', 'gauge', 'Duration of the last run', one(duration));
  const phases = METRICS_PHASES.filter((p) => get(`STATUS_${p}`) !== '');
  add('proxmox_backup_phase_duration_seconds', 'gauge', 'Duration of each phase of the last run',
    phases.map((p) => ({ labels: { phase: p.toLowerCase() }, value: Number(get(`DURATION_${p}`) || '0') })));
  add('proxmox_backup_phase_status', 'gauge', 'Status of each phase (0 ok, 1 warning, 2 error)',
    phases.map((p) => ({ labels: { phase: p.toLowerCase() }, value: Number(get(`STATUS_${p}`)) })));
  const last = success ? String(start) : inputs.previous('proxmox_backup_last_success_timestamp_seconds', '') ?? '';
  add('proxmox_backup_last_success_timestamp_seconds', 'gauge', 'Start of the last run that produced a verified archive', optional(last));
  add('proxmox_backup_log_messages', 'gauge', 'Error and warning lines logged by the last run', [
    { labels: { level: 'error' }, value: inputs.logCounts.errors }, { labels: { level: 'warning' }, value: inputs.logCounts.warnings }]);
  // Archive (#12-18)
  const archive = get('BACKUP_FILE') !== '';
  const ratio = get('COMPRESSION_RATIO') || 'Unknown';
  add('proxmox_backup_size_bytes', 'gauge', 'Size of the last archive', archive ? one(Number(get('ARCHIVE_SIZE') || '0')) : []);
  add('proxmox_backup_size_uncompressed_bytes', 'gauge', 'Size of the staged files of the last archive',
    archive ? one(Number(get('UNCOMPRESSED_SIZE') || '0')) : []);
  add('proxmox_backup_compression_ratio', 'gauge', 'Space saved by compression in percent',
    archive && ratio !== 'Unknown' ? one(ratioNumber(ratio)) : []);
  add('proxmox_backup_included_files', 'gauge', 'Files in the last archive', optional(get('FILES_INCLUDED')));
  add('proxmox_backup_directories', 'gauge', 'Directories in the last archive', optional(get('DIRS_INCLUDED')));
  add('proxmox_backup_missing_files', 'gauge', 'Critical files missing from the last archive', optional(get('FILE_MISSING')));
  add('proxmox_backup_encrypted', 'gauge', '1 when the last archive is age-encrypted', one(inputs.config.ENCRYPT_ARCHIVE ? 1 : 0));
  // Tiers (#19-23)
  const states: Sample[] = [];
  const counts: Sample[] = [];
  const deleted: Sample[] = [];
  for (const tier of TIERS) {
    const upper = tier.toUpperCase();
    const status = get(`STATUS_${upper}`) || 'disabled';
    for (const s of TIER_STATES) states.push({ labels: { tier, status: s }, value: s === status ? 1 : 0 });
    const count = get(`${upper}_BACKUP_COUNT`);
    if (status !== 'disabled' && count !== '') counts.push({ labels: { tier }, value: Number(count) });
    const removed = get(`${upper}_BACKUPS_DELETED`);
    if (removed !== '') deleted.push({ labels: { tier }, value: Number(removed) });
  }
  add('proxmox_backup_tier_status', 'gauge', 'Outcome of each storage tier in the last run', states);
  add('proxmox_backup_tier_backups', 'gauge', 'Backups of this host kept in each tier', counts);
  add('proxmox_backup_deleted', 'gauge', 'Backups deleted by retention in the last run', deleted);
  add('proxmox_backup_cloud_uploaded_bytes', 'gauge', 'Bytes uploaded to the cloud tier in the last run', optional(get('CLOUD_UPLOADED_BYTES')));
  const free: Sample[] = [];
  if (inputs.freeBytes.primary !== undefined) free.push({ labels: { tier: 'primary' }, value: inputs.freeBytes.primary });
  if (inputs.freeBytes.secondary !== undefined) free.push({ labels: { tier: 'secondary' }, value: inputs.freeBytes.secondary });
  add('proxmox_backup_disk_free_bytes', 'gauge', 'Free space where each local tier keeps backups', free);
  // Notifications (#24)
  const sent: Sample[] = [];
  for (const channel of CHANNELS) {
    const result = get(`NOTIFY_${channel.toUpperCase()}`) || 'disabled';
    if (result === 'sent' || result === 'failed') sent.push({ labels: { channel }, value: result === 'sent' ? 1 : 0 });
  }
  add('proxmox_backup_notification_sent', 'gauge', '1 when the channel delivered, 0 when it failed', sent);
  // Migration (#25-28)
  const impls: Sample[] = [];
  const shadows: Sample[] = [];
  const mismatches: Sample[] = [];
  const errors: Sample[] = [];
  const fallbacks: Sample[] = [];
  for (const domain of METRICS_DOMAINS) {
    const upper = domain.toUpperCase();
    const impl = get(`IMPL_${upper}`) || 'legacy';
    impls.push({ labels: { domain, impl: 'legacy' }, value: impl === 'legacy' ? 1 : 0 });
    impls.push({ labels: { domain, impl: 'native' }, value: impl === 'native' ? 1 : 0 });
    const shadow = get(`SHADOW_${upper}`) || '0';
    shadows.push({ labels: { domain }, value: Number(shadow) });
    if (shadow === '1') {
      mismatches.push({ labels: { domain }, value: Number(get(`PARITY_MISMATCHES_${upper}`) || '0') });
      errors.push({ labels: { domain, kind: 'candidate' }, value: Number(get(`PARITY_CANDIDATE_FAILURES_${upper}`) || '0') });
      errors.push({ labels: { domain, kind: 'comparison' }, value: Number(get(`PARITY_COMPARISON_FAILURES_${upper}`) || '0') });
    }
    const before = Number(inputs.previous('proxmox_backup_fallbacks_total', `{domain="${domain}"}`) ?? '0');
    fallbacks.push({ labels: { domain }, value: before + Number(get(`FALLBACK_${upper}`) || '0') });
  }
  add('proxmox_backup_domain_implementation', 'gauge', 'Implementation that ran each domain', impls);
  add('proxmox_backup_shadow', 'gauge', '1 when the domain ran in shadow mode', shadows);
  add('proxmox_backup_parity_mismatches', 'gauge', 'Shadow comparison mismatches in the last run', mismatches);
  add('proxmox_backup_parity_errors', 'gauge', 'Shadow runs that ended without a verdict in the last run: the native candidate failed, or the comparison could not be made', errors);
  add('proxmox_backup_fallbacks_total', 'counter', 'Native stages that failed and were rerun in Bash', fallbacks);
  return { text: await registry.metrics(), series };
}

const SAMPLE_LINE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [0-9]+$/;

/**
 * metrics_previous: the value of the sample `name + labels` in the previous file's text, or undefined. Like
 * legacy, the file is read from the top on each call and every unparsable line met before the match is
 * reported to `unreadable` with its 1-based number (a DEBUG line each, §2 read-back).
 */
export function previousValue(text: string | undefined, name: string, labels: string,
  unreadable: (line: number) => void): string | undefined {
  if (text === undefined || text === '') return undefined;
  const lines = text.replace(/\n$/, '').split('\n');
  for (const [index, line] of lines.entries()) {
    if (line === '' || line.startsWith('#')) continue;
    if (!SAMPLE_LINE.test(line)) {
      unreadable(index + 1);
      continue;
    }
    if (line.startsWith(`${name}${labels} `)) return line.slice(line.lastIndexOf(' ') + 1);
  }
  return undefined;
}
