// The native metrics_write (metrics.md §7.2): on the same RUN_DIR, the textfile native writes is byte for byte
// the one the legacy shim writes, across the states a run can leave; promtool checks the native file.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { metricsWrite } from '../../native/metrics/index.js';
import { keptRun, runNativeStage, runShim, stageDir, stageEnv, type KeptRun } from '../backup/stage-run.js';

let kept: KeptRun;

beforeAll(async () => {
  kept = await keptRun('pve-single', { PROMETHEUS_ENABLED: 'true', PROMETHEUS_TEXTFILE_DIR: '${BASE_DIR}/metrics' });
}, 240_000);

/** Both sides on twin run directories whose textfile dirs hold the same previous file; their outputs. */
async function both(context: Record<string, string>, state: Record<string, string>, previous?: string) {
  const out: { text: string | undefined; lines: string[]; status: number; files: string[] }[] = [];
  for (const side of ['bash', 'ts'] as const) {
    const metricsDir = join(kept.sandbox.baseDir, `metrics-${side}`);
    rmSync(metricsDir, { recursive: true, force: true });
    mkdirSync(metricsDir);
    if (previous !== undefined) writeFileSync(join(metricsDir, 'proxmox_backup.prom'), previous);
    const dir = stageDir(kept, { PROMETHEUS_TEXTFILE_DIR: metricsDir, ...context }, state);
    const env = stageEnv(kept, { PBK_NOW: '1732500042' });
    const result = side === 'bash' ? await runShim('metrics_write', dir, env) : await runNativeStage(metricsWrite, dir, env);
    const file = join(metricsDir, 'proxmox_backup.prom');
    out.push({ text: existsSync(file) ? readFileSync(file, 'utf8') : undefined, status: result.status,
      lines: result.lines.map((l) => l.replaceAll(metricsDir, '<DIR>')), files: existsSync(metricsDir) ? readdirSync(metricsDir) : [] });
  }
  return { bash: out[0]!, ts: out[1]! };
}

const STATES: [string, Record<string, string>, Record<string, string>, string?][] = [
  ['the kept successful run', {}, {}],
  ['a failed run with a previous file (last success and fallbacks read back, an unreadable line)', { DEBUG_LEVEL: 'advanced' },
    { RUN_EXIT_CODE: '2', STATUS_VERIFY: '2', FALLBACK_BACKUP: '1', STATUS_SECONDARY: 'error', SECONDARY_BACKUP_COUNT: '3',
      PRIMARY_BACKUPS_DELETED: '2', NOTIFY_EMAIL: 'sent', NOTIFY_TELEGRAM: 'failed', NOTIFY_WEBHOOK: 'skipped' },
    '# HELP x\nproxmox_backup_last_success_timestamp_seconds 1732400000\nnot a sample line\nproxmox_backup_fallbacks_total{domain="backup"} 4\n'],
  ['a dry run without archive, hostile host name, shadow on notify', { DRY_RUN: 'true', ENCRYPT_ARCHIVE: 'true' },
    { BACKUP_FILE: '', HOSTNAME: 'a"b\\c\nd', IMPL_NOTIFY: 'native', SHADOW_NOTIFY: '1', PARITY_MISMATCHES_NOTIFY: '3',
      COMPRESSION_RATIO: '-12.00%', CLOUD_UPLOADED_BYTES: '12345', STATUS_CLOUD: 'ok', CLOUD_BACKUP_COUNT: '7' }],
  ['a ratio with two decimals and Unknown', {}, { COMPRESSION_RATIO: '87.50%' }],
  ['a ratio Unknown', {}, { COMPRESSION_RATIO: 'Unknown' }],
];

describe('native metrics_write = legacy metrics_write (metrics.md §7.2)', () => {
  it.each(STATES)('%s', async (_name, context, state, previous) => {
    const { bash, ts } = await both(context, state, previous);
    expect(bash.lines.join("\n")).toMatch(/Metrics written to/);
    expect(bash.text).toBeDefined();
    // Free space is read live on a shared disk: the only value that may move between the two writes.
    const free = (t: string | undefined): string | undefined => t?.replace(/^(proxmox_backup_disk_free_bytes\{[^}]*\}) \d+$/gm, '$1 <FREE>');
    expect(free(ts.text)).toBe(free(bash.text));
    expect(ts.lines).toEqual(bash.lines);
    expect(ts.status).toBe(bash.status);
    expect(ts.files).toEqual(['proxmox_backup.prom']);
    const check = await execa('promtool', ['check', 'metrics'], { input: ts.text, reject: false });
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.exitCode).toBe(0);
  });

  it('disabled: the SKIP line, no file; check mode: nothing', async () => {
    const off = await both({ PROMETHEUS_ENABLED: 'false' }, {});
    expect(off.ts.lines).toEqual(['[SKIP] Prometheus metrics disabled']);
    expect(off.ts.lines).toEqual(off.bash.lines);
    expect(off.ts.files).toEqual([]);
    const check = await both({ CHECK_ONLY: 'true' }, {});
    expect(check.ts.lines).toEqual([]);
    expect(check.ts.files).toEqual([]);
  });

  it('an unwritable textfile dir: WARNING, the old file untouched, no temp file (§7.5)', async () => {
    const metricsDir = join(kept.sandbox.baseDir, 'metrics-ro');
    mkdirSync(metricsDir, { recursive: true });
    writeFileSync(join(metricsDir, 'proxmox_backup.prom'), 'old 1\n');
    writeFileSync(join(metricsDir, 'blocker'), '');   // a file where the directory should be (root ignores modes)
    const blocked = stageDir(kept, { PROMETHEUS_TEXTFILE_DIR: join(metricsDir, 'blocker') }, {});
    const result = await runNativeStage(metricsWrite, blocked, stageEnv(kept));
    expect(result.status).toBe(1);
    expect(result.lines.at(-1)).toMatch(/^\[WARNING\] Cannot write metrics to \S+blocker: \S+blocker\/\.proxmox_backup\.prom\.\d+\.tmp: Not a directory$/);
    expect(readFileSync(join(metricsDir, 'proxmox_backup.prom'), 'utf8')).toBe('old 1\n');
    expect(readdirSync(metricsDir).sort()).toEqual(['blocker', 'proxmox_backup.prom']);
  });
});
