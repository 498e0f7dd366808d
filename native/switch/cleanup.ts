// Clean-up on every exit path of the TypeScript orchestrator (legacy/lib/orchestrator.sh orchestrator_cleanup and
// orchestrator_interrupted, run.md §1): the archive under construction, RUN_DIR (or only its staging with
// PBK_KEEP_RUN_DIR=1), the log, the lock; and the SIGTERM/SIGINT traps that lead there.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RunLock } from '../core/lock.js';
import type { RunLog } from '../core/log.js';
import type { RunDir } from '../core/run-dir.js';

/** A run that got as far as its run directory. */
export interface RunFiles {
  readonly runDir: RunDir;
  /** LOCAL_BACKUP_PATH, where this run's `<prefix>*.tmp` files are under construction. */
  readonly backupDir: string;
  /** `<type>-backup-<host>-<run timestamp>`, each part `x` when unknown. */
  readonly archivePrefix: string;
  /** PBK_KEEP_RUN_DIR=1: RUN_DIR stays (without its staging and owner file) for inspection. */
  readonly keepRunDir: boolean;
}

export interface CleanupInputs {
  readonly run: RunFiles | undefined;
  readonly log: RunLog | undefined;
  readonly lock: RunLock | undefined;
  readonly stderr: (line: string) => void;
}

export function cleanUp({ run, log, lock, stderr }: CleanupInputs): void {
  if (run !== undefined && existsSync(run.runDir.path)) {
    const { runDir, backupDir, archivePrefix } = run;
    try {
      for (const name of readdirSync(backupDir)) {
        if (name.startsWith(archivePrefix) && name.endsWith('.tmp')) rmSync(join(backupDir, name), { force: true });
      }
    } catch {
      // no backup directory: nothing under construction
    }
    if (run.keepRunDir) {
      rmSync(runDir.staging, { recursive: true, force: true });
      rmSync(join(runDir.path, 'owner'), { force: true });   // kept on purpose: not a leftover for the next run
      stderr(`Run directory kept (PBK_KEEP_RUN_DIR=1): ${runDir.path}`);
    } else {
      rmSync(runDir.path, { recursive: true, force: true });
    }
  }
  log?.close();
  lock?.release();
}

/** SIGTERM and SIGINT call `onSignal` (once each) until the returned function removes the traps. */
export function trapSignals(onSignal: (signal: 'SIGTERM' | 'SIGINT') => void): () => void {
  const handlers = (['SIGTERM', 'SIGINT'] as const).map((signal) => {
    const handler = (): void => {
      onSignal(signal);
    };
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  };
}
