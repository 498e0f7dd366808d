// metrics_write (phase 14, metrics.md): the Prometheus textfile rendered by prom-client (render.ts) and written
// atomically — a dot-named temp file in the same directory, fsync, 0644, rename over the final name.
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { esc } from '../core/esc.js';
import type { ExitStatus } from '../core/exit-code.js';
import { nowSeconds } from '../core/clock.js';
import { freeBytes, logLines, readLog } from '../core/log-lines.js';
import { toolVersion } from '../core/version.js';
import type { NativeStage, NativeStageContext, StageName } from '../core/stage.js';
import { previousValue, renderMetrics } from './render.js';

function readPrevious(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * DIR and any parent made here 0755 whatever the umask (a run's is 077): node_exporter reads the file
 * unprivileged (metrics.md §1), as legacy's `umask 022; mkdir -p` does. An existing directory is left as it is.
 */
function makeReadableDir(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (first === undefined) return;
  for (let path = dir; path.length >= first.length; path = dirname(path)) {
    chmodSync(path, 0o755);
    if (path === first) break;
  }
}

function writeAtomically(dir: string, file: string, text: string): void {
  const tmp = join(dir, `.proxmox_backup.prom.${process.pid}.tmp`);
  try {
    makeReadableDir(dir);
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, 0o644);
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** The reason of a failed write as one line: `<path>: <strerror>` for a system error. */
function reasonOf(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (typeof e.code === 'string' && typeof e.syscall === 'string') {
    // `ENOTDIR: not a directory, open '…'` → `Not a directory`, as strerror words it.
    const bare = e.message.replace(/^[A-Z]+: /, '').replace(/, [a-z]+ .*$/, '');
    const text = `${bare.charAt(0).toUpperCase()}${bare.slice(1)}`;
    return e.path !== undefined ? `${e.path}: ${text}` : text;
  }
  return error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
}

export async function metricsWrite(context: NativeStageContext): Promise<ExitStatus> {
  const { runDir, log, clock, shadow, config, facts, state } = context;
  // In shadow the file goes to the scratch copy; free space and the previous file are read where the real ones are.
  const real = (key: 'PROMETHEUS_TEXTFILE_DIR' | 'LOCAL_BACKUP_PATH' | 'SECONDARY_BACKUP_PATH'): string =>
    (shadow === true && context.shadowOriginal(key)) || config[key];
  if (!config.PROMETHEUS_ENABLED) {
    log.skip('Prometheus metrics disabled');
    return 0;
  }
  if (facts.CHECK_ONLY) return 0;
  log.step('Writing Prometheus metrics');
  const dir = config.PROMETHEUS_TEXTFILE_DIR.replace(/\/$/, '');
  const file = `${dir}/proxmox_backup.prom`;
  const previousText = readPrevious(`${real('PROMETHEUS_TEXTFILE_DIR').replace(/\/$/, '')}/proxmox_backup.prom`);
  const runLog = readLog(runDir.logPath);
  const { text, series } = await renderMetrics({
    config, facts, get: (key) => state.get(key), version: toolVersion(), now: nowSeconds(clock),
    freeBytes: {
      primary: freeBytes(real('LOCAL_BACKUP_PATH')),
      secondary: (state.get('STATUS_SECONDARY') || 'disabled') === 'disabled' ? undefined : freeBytes(real('SECONDARY_BACKUP_PATH')),
    },
    logCounts: { errors: logLines('ERROR', runLog).length, warnings: logLines('WARNING', runLog).length },
    previous: (name, labels) => previousValue(previousText, name, labels,
      (n) => log.debug(`Ignoring unreadable line ${n} of the previous metrics file`)),
  });
  try {
    writeAtomically(dir, file, text);
  } catch (error) {
    log.warning(`Cannot write metrics to ${esc(dir)}: ${esc(reasonOf(error))}`);
    return 1;
  }
  log.success(`Metrics written to ${esc(file)} (${series} series)`);
  return 0;
}

export const NATIVE_METRICS_STAGES: Partial<Record<StageName, NativeStage>> = { metrics_write: metricsWrite };
