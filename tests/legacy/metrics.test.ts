// The metrics domain of the legacy pipeline (metrics.md §7), checked with the real promtool and read back. One
// real run (and one dry run) writes its textfile; the other cases run the stage alone (shims/metrics_write) on
// run directories made from them, or a whole run where the case is about what runs leave to each other.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseEnvFile } from '../../native/core/state-env.js';
import { Orchestrator } from '../../native/switch/orchestrator.js';
import { keptRun, legacyStage, type KeptRun } from '../backup/stage-run.js';
import { hostEnv, logOf, makeSandbox, REPO, runLegacy, type Sandbox } from './run.js';

const LIB = join(REPO, 'legacy', 'lib');
const METRICS = { PROMETHEUS_ENABLED: 'true', PROMETHEUS_TEXTFILE_DIR: '${BASE_DIR}/metrics' };

function metricsSandbox(extra: Record<string, string> = {}): Sandbox & { prom: string } {
  const sandbox = makeSandbox({ ...METRICS, ...extra });
  return { ...sandbox, prom: join(sandbox.baseDir, 'metrics', 'proxmox_backup.prom') };
}

let kept: KeptRun;
let dryRun: KeptRun;
beforeAll(async () => {
  [kept, dryRun] = await Promise.all([keptRun('pve-single', METRICS), keptRun('pve-single', METRICS, ['--dry-run'])]);
}, 240_000);
const keptProm = (run: KeptRun): string => join(run.sandbox.baseDir, 'metrics', 'proxmox_backup.prom');

/** metrics_write alone on a run directory made from FROM, writing into a fresh directory (or DIR). */
async function writeMetrics(from: KeptRun, context: Record<string, string> = {}, dir = mkdtempSync(join(tmpdir(), 'pbk-prom-')),
  env: Record<string, string> = {}) {
  const run = await legacyStage('metrics_write', from, { PROMETHEUS_TEXTFILE_DIR: dir, ...context }, env);
  return { ...run, dir, prom: join(dir, 'proxmox_backup.prom') };
}

/** sample name{labels} → value, every sample of the file. */
function samples(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    map.set(line.slice(0, at), line.slice(at + 1));
  }
  return map;
}

async function promtool(text: string): Promise<{ exitCode: number | undefined; output: string }> {
  const result = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
  return { exitCode: result.exitCode, output: `${result.stdout}${result.stderr}` };
}

describe('the textfile (metrics.md §1-3)', () => {
  it('passes promtool, holds every family once, and its values are the run state', async () => {
    const text = readFileSync(keptProm(kept), 'utf8');
    expect(await promtool(text)).toEqual({ exitCode: 0, output: '' });
    const helps = text.split('\n').filter((l) => l.startsWith('# HELP ')).map((l) => l.split(' ')[2]);
    expect(new Set(helps).size).toBe(helps.length);
    expect(text.endsWith('} 0\n') || text.endsWith(' 0\n')).toBe(true);
    expect(text).not.toMatch(/\n\n\n/);
    const state = parseEnvFile(readFileSync(join(kept.runDir, 'state.env'), 'utf8'));
    const s = samples(text);
    expect(s.get('proxmox_backup_included_files')).toBe(state.get('FILES_INCLUDED'));
    expect(s.get('proxmox_backup_directories')).toBe(state.get('DIRS_INCLUDED'));
    expect(s.get('proxmox_backup_size_bytes')).toBe(state.get('ARCHIVE_SIZE'));
    expect(s.get('proxmox_backup_compression_ratio')).toBe(String(Number(state.get('COMPRESSION_RATIO')?.replace('%', ''))));
    expect(s.get('proxmox_backup_success')).toBe('1');
    expect(s.get('proxmox_backup_start_timestamp_seconds')).toBe('1732500000');
    expect(s.get('proxmox_backup_last_success_timestamp_seconds')).toBe('1732500000');
    expect(s.get('proxmox_backup_tier_status{tier="primary",status="ok"}')).toBe('1');
    expect(s.get('proxmox_backup_tier_status{tier="cloud",status="disabled"}')).toBe('1');
    expect(s.get('proxmox_backup_domain_implementation{domain="backup",impl="legacy"}')).toBe('1');
    expect(s.get('proxmox_backup_fallbacks_total{domain="backup"}')).toBe('0');
    expect(logOf(kept.sandbox)).toMatch(/\[SUCCESS\] Metrics written to \S+proxmox_backup\.prom \(\d+ series\)/);
    expect(readdirSync(join(kept.sandbox.baseDir, 'metrics'))).toEqual(['proxmox_backup.prom']);
  });

  it('after a failed run: written, success 0, exit code 2, the last success carried over (§7.3)', async () => {
    const sandbox = metricsSandbox();
    mkdirSync(join(sandbox.baseDir, 'metrics'));
    copyFileSync(keptProm(kept), sandbox.prom);   // what the good run of the day before left
    const fake = join(sandbox.baseDir, 'fakebin');
    mkdirSync(fake);
    writeFileSync(join(fake, 'zstd'), '#!/bin/sh\nfor a in "$@"; do case "$a" in -d*) echo "zstd: simulated corruption" >&2; exit 1;; esac; done\nexec /usr/bin/zstd "$@"\n');
    chmodSync(join(fake, 'zstd'), 0o755);
    const failed = await runLegacy('pve-single', sandbox, [], {
      PBK_NOW: '1732586400', PATH: `${join(REPO, 'parity', 'hosts', 'pve-single', 'bin')}:${fake}:${process.env.PATH ?? ''}`,
    });
    expect(failed.exitCode).toBe(2);
    const s = samples(readFileSync(sandbox.prom, 'utf8'));
    expect(s.get('proxmox_backup_success')).toBe('0');
    expect(s.get('proxmox_backup_exit_code')).toBe('2');
    expect(s.get('proxmox_backup_start_timestamp_seconds')).toBe('1732586400');
    expect(s.get('proxmox_backup_last_success_timestamp_seconds')).toBe('1732500000');
    expect(Number(s.get('proxmox_backup_log_messages{level="error"}'))).toBeGreaterThan(0);
  });

  it('dry-run: written with dry_run 1 and no archive series; check mode and PROMETHEUS_ENABLED=false: no file (§7.7-8)', async () => {
    const s = samples(readFileSync(keptProm(dryRun), 'utf8'));
    expect(s.get('proxmox_backup_dry_run')).toBe('1');
    expect(s.has('proxmox_backup_size_bytes')).toBe(false);
    expect(s.has('proxmox_backup_last_success_timestamp_seconds')).toBe(false);
    const check = await writeMetrics(kept, { CHECK_ONLY: 'true' });
    expect(check.status).toBe(0);
    expect(existsSync(check.prom)).toBe(false);
    const off = await writeMetrics(kept, { PROMETHEUS_ENABLED: 'false' }, join(mkdtempSync(join(tmpdir(), 'pbk-prom-')), 'metrics'));
    expect(off.status).toBe(0);
    expect(existsSync(off.dir)).toBe(false);
    expect(off.log).toContain('[SKIP] Prometheus metrics disabled');
  });

  it('an unwritable target is a WARNING, leaves no temp file, and never a half-written final file (§7.5)', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pbk-prom-')), 'metrics');
    mkdirSync(join(dir, 'proxmox_backup.prom'), { recursive: true });   // the final name is taken by a directory: rename must fail
    const result = await writeMetrics(kept, {}, dir);
    expect(result.status).toBe(1);
    expect(result.log).toMatch(/\[WARNING\] Cannot write metrics to \S+\/metrics: mv: cannot overwrite directory/);
    expect(readdirSync(dir)).toEqual(['proxmox_backup.prom']);
    expect(readdirSync(result.prom)).toEqual([]);
    const proc = await writeMetrics(kept, {}, '/proc/pbk-metrics');
    expect(proc.status).toBe(1);
    expect(proc.log).toMatch(/\[WARNING\] Cannot write metrics to \/proc\/pbk-metrics: mkdir: cannot create directory/);
  });

  it('a reader looping on the final name never sees a partial file (§7.6)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-prom-'));
    const prom = join(dir, 'proxmox_backup.prom');
    copyFileSync(keptProm(kept), prom);
    const reader = execa('bash', ['-c', 'n=0; bad=0; while [[ -e "$1.stop" ]] || (( n < 200000 )); do [[ -e "$1.stop" ]] && break; t="$(cat "$1")"; [[ "$t" == *"fallbacks_total{domain=\\"metrics\\"} "* ]] || bad=$((bad+1)); n=$((n+1)); done; echo "$n $bad"', 'reader', prom],
      { reject: false });
    for (const day of [1, 2, 3, 4]) expect((await writeMetrics(kept, {}, dir, { PBK_NOW: String(1732500000 + day * 86400) })).status).toBe(0);
    writeFileSync(`${prom}.stop`, '');
    const [reads, bad] = (await reader).stdout.trim().split(' ').map(Number);
    expect(reads).toBeGreaterThan(10);
    expect(bad).toBe(0);
  });
});

describe('migration series (metrics.md §2 #25-28)', () => {
  it('count fallbacks across runs: two runs with a failing native stage give fallbacks_total 2', async () => {
    const sandbox = metricsSandbox();
    for (const day of [0, 1]) {
      const orchestrator = new Orchestrator({
        codeDir: REPO, baseDir: sandbox.baseDir, env: hostEnv('pve-single', sandbox, { PBK_NOW: String(1732500000 + day * 86400) }),
        dryRun: false, checkOnly: false, implementation: (d) => (d === 'backup' ? 'ts' : 'bash'), fallback: true,
        natives: { backup_verify: () => Promise.reject(new Error('boom')) },
        stdout: { write: () => undefined, isTTY: false }, stderr: () => undefined,
      });
      expect(await orchestrator.run()).toBe(1);
    }
    const s = samples(readFileSync(sandbox.prom, 'utf8'));
    expect(s.get('proxmox_backup_fallbacks_total{domain="backup"}')).toBe('2');
    expect(s.get('proxmox_backup_fallbacks_total{domain="storage"}')).toBe('0');
    expect(s.get('proxmox_backup_domain_implementation{domain="orchestrator",impl="native"}')).toBe('1');
    expect(s.get('proxmox_backup_domain_implementation{domain="backup",impl="native"}')).toBe('1');
    expect(await promtool(readFileSync(sandbox.prom, 'utf8'))).toEqual({ exitCode: 0, output: '' });
  });

  it('escapes label values, and promtool accepts the result (§7.9)', async () => {
    const script = `source "${LIB}/log.sh"; source "${LIB}/core.sh"; source "${LIB}/metrics.sh"; metrics_label "$1"`;
    const result = await execa('bash', ['-c', script, 'x', 'pve"1\\lab\nnext']);
    expect(result.stdout).toBe('pve\\"1\\\\lab\\nnext');
    const line = `# HELP proxmox_backup_info Host and tool identity\n# TYPE proxmox_backup_info gauge\nproxmox_backup_info{host="${result.stdout}"} 1\n`;
    expect(await promtool(line)).toEqual({ exitCode: 0, output: '' });
  });
});

describe('shadow outcomes (parity/README.md "Shadow mode: an experiment")', () => {
  it('exports candidate and comparison failures apart from mismatches, for domains in shadow only; promtool accepts it', async () => {
    const script = `set -euo pipefail; for l in exit log core metrics; do source "${LIB}/$l.sh"; done
      METRICS_TEXT=''; METRICS_SERIES=0; METRICS_FILE=/nonexistent; SHADOW_BACKUP=1; PARITY_MISMATCHES_BACKUP=1
      PARITY_CANDIDATE_FAILURES_BACKUP=2; PARITY_COMPARISON_FAILURES_STORAGE=5; metrics_migration_families; printf '%s' "$METRICS_TEXT"`;
    const { stdout } = await execa('bash', ['-c', script]);
    const found = samples(stdout);
    expect(found.get('proxmox_backup_parity_mismatches{domain="backup"}')).toBe('1');
    expect(found.get('proxmox_backup_parity_errors{domain="backup",kind="candidate"}')).toBe('2');
    expect(found.get('proxmox_backup_parity_errors{domain="backup",kind="comparison"}')).toBe('0');
    expect([...found.keys()].filter((k) => k.includes('domain="storage"') && k.startsWith('proxmox_backup_parity'))).toEqual([]);
    expect(await promtool(`${stdout}\n`)).toEqual({ exitCode: 0, output: '' });
  });
});
