// The metrics domain of the legacy pipeline (metrics.md §7), checked with the real promtool and read back.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseEnvFile } from '../../native/core/state-env.js';
import { Orchestrator } from '../../native/switch/orchestrator.js';
import { hostEnv, logOf, makeSandbox, REPO, runLegacy, type Sandbox } from './run.js';

const LIB = join(REPO, 'legacy', 'lib');

function metricsSandbox(extra: Record<string, string> = {}): Sandbox & { prom: string } {
  const sandbox = makeSandbox({ PROMETHEUS_ENABLED: 'true', PROMETHEUS_TEXTFILE_DIR: '${BASE_DIR}/metrics', ...extra });
  return { ...sandbox, prom: join(sandbox.baseDir, 'metrics', 'proxmox_backup.prom') };
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
    const sandbox = metricsSandbox();
    const result = await runLegacy('pve-single', sandbox, [], { PBK_KEEP_RUN_DIR: '1' });
    expect(result.exitCode).toBe(0);
    const text = readFileSync(sandbox.prom, 'utf8');
    expect(await promtool(text)).toEqual({ exitCode: 0, output: '' });
    const helps = text.split('\n').filter((l) => l.startsWith('# HELP ')).map((l) => l.split(' ')[2]);
    expect(new Set(helps).size).toBe(helps.length);
    expect(text.endsWith('} 0\n') || text.endsWith(' 0\n')).toBe(true);
    expect(text).not.toMatch(/\n\n\n/);
    const tmp = join(sandbox.baseDir, 'tmp');
    const state = parseEnvFile(readFileSync(join(tmp, readdirSync(tmp)[0] ?? '', 'state.env'), 'utf8'));
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
    expect(logOf(sandbox)).toMatch(/\[SUCCESS\] Metrics written to \S+proxmox_backup\.prom \(\d+ series\)/);
    expect(readdirSync(join(sandbox.baseDir, 'metrics'))).toEqual(['proxmox_backup.prom']);
  });

  it('after a failed run: written, success 0, exit code 2, the last success carried over (§7.3)', async () => {
    const sandbox = metricsSandbox();
    expect((await runLegacy('pve-single', sandbox)).exitCode).toBe(0);
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
    const dry = metricsSandbox();
    expect((await runLegacy('pve-single', dry, ['--dry-run'])).exitCode).toBe(0);
    const s = samples(readFileSync(dry.prom, 'utf8'));
    expect(s.get('proxmox_backup_dry_run')).toBe('1');
    expect(s.has('proxmox_backup_size_bytes')).toBe(false);
    expect(s.has('proxmox_backup_last_success_timestamp_seconds')).toBe(false);
    const check = metricsSandbox();
    expect((await runLegacy('pve-single', check, ['--check-only'])).exitCode).toBe(0);
    expect(existsSync(check.prom)).toBe(false);
    const off = metricsSandbox({ PROMETHEUS_ENABLED: 'false' });
    expect((await runLegacy('pve-single', off)).exitCode).toBe(0);
    expect(existsSync(join(off.baseDir, 'metrics'))).toBe(false);
    expect(logOf(off)).toContain('[SKIP] Prometheus metrics disabled');
  });

  it('an unwritable target is a WARNING, leaves no temp file, and never a half-written final file (§7.5)', async () => {
    const sandbox = metricsSandbox();
    mkdirSync(sandbox.prom, { recursive: true });   // the final name is taken by a directory: rename must fail
    const result = await runLegacy('pve-single', sandbox);
    expect(result.exitCode).toBe(1);
    expect(logOf(sandbox)).toMatch(/\[WARNING\] Cannot write metrics to \S+\/metrics: mv: cannot overwrite directory/);
    expect(readdirSync(join(sandbox.baseDir, 'metrics'))).toEqual(['proxmox_backup.prom']);
    expect(readdirSync(sandbox.prom)).toEqual([]);
    const proc = metricsSandbox({ PROMETHEUS_TEXTFILE_DIR: '/proc/pbk-metrics' });
    expect((await runLegacy('pve-single', proc)).exitCode).toBe(1);
    expect(logOf(proc)).toMatch(/\[WARNING\] Cannot write metrics to \/proc\/pbk-metrics: mkdir: cannot create directory/);
  });

  it('a reader looping on the final name never sees a partial file (§7.6)', async () => {
    const sandbox = metricsSandbox();
    expect((await runLegacy('pve-single', sandbox)).exitCode).toBe(0);
    const reader = execa('bash', ['-c', 'n=0; bad=0; while [[ -e "$1.stop" ]] || (( n < 200000 )); do [[ -e "$1.stop" ]] && break; t="$(cat "$1")"; [[ "$t" == *"fallbacks_total{domain=\\"metrics\\"} "* ]] || bad=$((bad+1)); n=$((n+1)); done; echo "$n $bad"', 'reader', sandbox.prom],
      { reject: false });
    for (const day of [1, 2]) expect((await runLegacy('pve-single', sandbox, [], { PBK_NOW: String(1732500000 + day * 86400) })).exitCode).toBe(0);
    writeFileSync(`${sandbox.prom}.stop`, '');
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
