// The stage contract's run directory on the TypeScript side (ARCHITECTURE "The stage contract"): RUN_DIR
// (0700) with context.env (immutable inputs), state.env (outputs, later lines win) and run.log.
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownerText } from './leftovers.js';
import { formatEnvLine, parseEnvFile } from './state-env.js';

export class RunDir {
  readonly contextPath: string;
  readonly statePath: string;
  readonly logPath: string;
  readonly staging: string;

  private constructor(readonly path: string) {
    this.contextPath = join(path, 'context.env');
    this.statePath = join(path, 'state.env');
    this.logPath = join(path, 'run.log');
    this.staging = join(path, 'staging');
  }

  /** A fresh `TMPDIR/proxmox-backup-run.XXXXXX`, as core_make_run_dir makes it; with BASEDIR, its owner file
   * (this installation and this process: what makes it a leftover once the process is gone, run.md §7). */
  static create(tmpDir: string, baseDir?: string): RunDir {
    const dir = new RunDir(mkdtempSync(join(tmpDir, 'proxmox-backup-run.')));
    chmodSync(dir.path, 0o700);
    writeFileSync(dir.statePath, '', { mode: 0o600 });
    writeFileSync(dir.logPath, '', { mode: 0o600 });
    if (baseDir !== undefined) writeFileSync(join(dir.path, 'owner'), ownerText(baseDir, process.pid), { mode: 0o600 });
    return dir;
  }

  static open(path: string): RunDir {
    return new RunDir(path);
  }

  /** Rewrites context.env (0600) with these keys in this order, as core_write_context does. */
  writeContext(entries: Iterable<readonly [string, string]>): void {
    let text = '';
    for (const [key, value] of entries) text += formatEnvLine(key, value);
    writeFileSync(this.contextPath, text, { mode: 0o600 });
  }

  setState(key: string, value: string): void {
    appendFileSync(this.statePath, formatEnvLine(key, value));
  }

  readState(): Map<string, string> {
    return parseEnvFile(readFileSync(this.statePath, 'utf8'));
  }

  readContext(): Map<string, string> {
    return parseEnvFile(readFileSync(this.contextPath, 'utf8'));
  }

  /** Byte length of run.log: where the lines of the next stage start. */
  logSize(): number {
    return readFileSync(this.logPath).length;
  }

  logSince(offset: number): string {
    return readFileSync(this.logPath).subarray(offset).toString('utf8');
  }
}
