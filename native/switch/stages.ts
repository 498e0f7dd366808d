// Per-stage dispatch of the TypeScript orchestrator (ARCHITECTURE "Domains and flags"): each stage runs
// in-process (ts), through its legacy shim (bash, via zx), or both (shadow). A native stage that fails for an
// internal reason is rerun in bash when flags.json says `"fallback": true`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { $, type ProcessPromise } from 'zx';
import type { Clock } from '../core/clock.js';
import type { ExitStatus } from '../core/exit-code.js';
import { asExitStatus } from '../core/exit-code.js';
import type { RunLog } from '../core/log.js';
import { RunDir } from '../core/run-dir.js';
import { STAGES, stageContext, type DomainName, type NativeStage, type NativeStages, type StageName } from '../core/stage.js';
import type { ShadowInputs, ShadowVerdict } from './shadow.js';

// The stage list and the native stage signature are the stage contract's (native/core/stage.ts); re-exported for
// the callers of this module.
export { STAGES, type NativeStage, type NativeStageContext, type StageName } from '../core/stage.js';

export type Implementation = 'bash' | 'ts' | 'shadow';

export interface StageOutcome {
  readonly status: ExitStatus;
  /** The implementation whose result counts. */
  readonly ran: 'bash' | 'ts';
  readonly fellBack: boolean;
}

/** Compares a shadow run with the real one (native/switch/shadow.ts): what differs, what changed on disk meanwhile. */
export type ShadowCompare = (stage: StageName, real: RunDir, scratch: RunDir, inputs: ShadowInputs) => Promise<ShadowVerdict>;

export interface StageRunnerOptions {
  readonly codeDir: string;
  readonly runDir: RunDir;
  readonly log: RunLog;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The run's clock (native/core/clock.ts), handed to every native stage. */
  readonly clock: Clock;
  /** SYSTEM_ROOT_PREFIX of the run, handed to every native stage. */
  readonly hostRoot: string;
  readonly implementation: (domain: DomainName) => Implementation;
  readonly fallback: boolean;
  readonly natives: NativeStages;
  readonly shadow?: {
    readonly scratchContext: (scratch: RunDir, stage: StageName) => Promise<void>;
    readonly compare: ShadowCompare;
    readonly report: (stage: StageName, diff: string) => string;
  };
}

const LOG_LINE_LEVEL = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[(WARNING|ERROR)\] (.*)$/;

/** The exit status the lines of a legacy stage imply (run.md §2: the code can be recomputed from the log). */
export function statusFromLogLines(text: string): ExitStatus {
  let status: ExitStatus = 0;
  for (const line of text.split('\n')) {
    const match = LOG_LINE_LEVEL.exec(line);
    if (match === null) continue;
    if (match[1] === 'ERROR') return 2;
    if (!(match[2] ?? '').startsWith('parity: ')) status = 1;
  }
  return status;
}

export class StageRunner {
  private running: ProcessPromise | undefined;

  constructor(private readonly options: StageRunnerOptions) {}

  /** Runs one stage with the implementation its domain's flag selects; the run's exit code is raised here. */
  async run(stage: StageName): Promise<StageOutcome> {
    const { domain } = STAGES[stage];
    const native = this.options.natives[stage];
    const wanted = this.options.implementation(domain);
    if (native === undefined || wanted === 'bash') return { status: await this.bash(stage), ran: 'bash', fellBack: false };
    if (wanted === 'shadow') return { status: await this.shadow(stage, native), ran: 'bash', fellBack: false };
    return this.ts(stage, native);
  }

  /** The running shim, if any, is stopped (its whole process group): used on SIGTERM/SIGINT. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.running;
    if (child === undefined) return;
    const pid = child.pid;
    try {
      if (pid !== undefined) process.kill(-pid, signal);
    } catch {
      // already gone
    }
    await Promise.race([child, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }

  private async bash(stage: StageName, runDir: RunDir = this.options.runDir, quiet = false,
    extraEnv: Readonly<Record<string, string>> = {}): Promise<ExitStatus> {
    const offset = runDir.logSize();
    const shim = join(this.options.codeDir, 'shims', stage);
    const child = $({
      nothrow: true, quiet: true, detached: true, env: { ...this.options.env, ...extraEnv },
      stdio: ['ignore', quiet ? 'ignore' : 'inherit', quiet ? 'ignore' : 'inherit'],
    })`${shim} ${runDir.path}`;
    if (!quiet) this.running = child;
    const result = await child;
    if (!quiet) this.running = undefined;
    const status = asExitStatus(result.exitCode ?? undefined);
    if (status === undefined) {
      const how = result.signal !== null ? `signal ${result.signal}` : `status ${result.exitCode ?? 'unknown'}`;
      if (!quiet) this.options.log.error(`Internal failure in phase ${stage} (${how})`);
      return 2;
    }
    if (!quiet) this.options.log.exitCode.raise(statusFromLogLines(runDir.logSince(offset)));
    if (!quiet) this.options.log.exitCode.raise(status);
    return status;
  }

  private async ts(stage: StageName, native: NativeStage): Promise<StageOutcome> {
    const { runDir, log } = this.options;
    const stateSize = statSync(runDir.statePath).size;
    try {
      const status = await native(stageContext({ runDir, log, env: this.options.env, clock: this.options.clock, hostRoot: this.options.hostRoot }));
      log.exitCode.raise(status);
      return { status, ran: 'ts', fellBack: false };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (!this.options.fallback) {
        log.error(`Internal failure in native stage ${stage}: ${reason}`);
        return { status: 2, ran: 'ts', fellBack: false };
      }
      log.warning(`Native stage ${stage} failed internally (${reason}); rerunning it in bash`);
      truncateSync(runDir.statePath, stateSize);
      for (const output of STAGES[stage].outputs) rmSync(join(runDir.path, output), { recursive: true, force: true });
      runDir.setState(`FALLBACK_${STAGES[stage].domain.toUpperCase()}`, '1');
      return { status: await this.bash(stage), ran: 'bash', fellBack: true };
    }
  }

  /**
   * Shadow, an experiment in GitHub Scientist's sense (ARCHITECTURE): bash is the control and runs for real,
   * recording every host command it runs (core_host_run); the native stage is the candidate and runs on a scratch
   * copy of the run directory (its context pointed at scratch output paths), replaying those recordings instead of
   * asking the host again. Then the two are compared. Three outcomes are told apart, each a `parity:` WARNING
   * (which never changes the exit code) and a counter in state: a mismatch (PARITY_MISMATCHES_<DOMAIN>, a diff
   * report beside the log), a candidate that failed (PARITY_CANDIDATE_FAILURES_<DOMAIN>), and a comparison that
   * could not be made (PARITY_COMPARISON_FAILURES_<DOMAIN>). Nothing the candidate or the comparison does
   * reaches the run's exit code or its outputs: the control's status is returned, whatever happens here.
   */
  private async shadow(stage: StageName, native: NativeStage): Promise<ExitStatus> {
    const { runDir, log } = this.options;
    const shadow = this.options.shadow;
    if (shadow === undefined) return this.bash(stage);
    const { domain } = STAGES[stage];
    let scratchPath: string | undefined;
    let record: string | undefined;
    let prepared: string | undefined;
    const marks = { log: runDir.logSize(), state: statSync(runDir.statePath).size };
    try {
      scratchPath = mkdtempSync(join(runDir.path, '..', 'proxmox-backup-shadow.'));
      // GNU cp -a: staging may hold any byte in a name, fifos and sockets (the hostile host has them all).
      const copied = spawnSync('cp', ['-a', '--', `${runDir.path}/.`, scratchPath], { stdio: 'ignore' });
      if (copied.status !== 0) throw new Error('cannot copy the run directory for the shadow run');
      // The control's recording of host commands lives (and goes) with the scratch copy.
      record = join(scratchPath, 'host-commands');
      mkdirSync(record, { mode: 0o700 });
      // The native side must see the inputs as they were before the real stage ran (the identity file…).
      await shadow.scratchContext(RunDir.open(scratchPath), stage);
    } catch (error) {
      prepared = error instanceof Error ? error.message : String(error);
    }
    const startedMs = this.options.clock.wallMs();
    const recording = prepared === undefined && record !== undefined && this.options.env.PBK_REPLAY_DIR === undefined;
    // Host commands (core_host_run) and rclone calls (storage_rclone) are recorded for the candidate to replay.
    const status = await this.bash(stage, runDir, false,
      recording && record !== undefined ? { PBK_RECORD_DIR: record, PBK_RCLONE_RECORD_DIR: record } : {});
    try {
      if (prepared !== undefined || scratchPath === undefined) {
        this.shadowOutcome(domain, 'COMPARISON', `parity: shadow ${stage} could not be compared: ${prepared ?? 'no scratch directory'}`);
        return status;
      }
      const scratch = RunDir.open(scratchPath);
      let candidate: ExitStatus;
      const quietLog = log.scratch(scratch.logPath);
      try {
        candidate = await native(stageContext({
          runDir: scratch, log: quietLog,
          env: recording ? { ...this.options.env, PBK_REPLAY_DIR: record, PBK_RCLONE_REPLAY_DIR: record } : this.options.env,
          clock: this.options.clock, hostRoot: this.options.hostRoot, shadow: true,
        }));
      } catch (error) {
        this.shadowOutcome(domain, 'CANDIDATE', `parity: native ${stage} failed: ${error instanceof Error ? error.message : String(error)}`);
        return status;
      } finally {
        quietLog.close();
      }
      let verdict: ShadowVerdict;
      try {
        verdict = await shadow.compare(stage, runDir, scratch, {
          marks, record: recording ? record : undefined, startedMs, statuses: { bash: status, ts: candidate }, env: this.options.env,
        });
        if (verdict.changedDuringRun.length > 0) {
          log.info(`parity: ${stage}: ${verdict.changedDuringRun.length} file(s) changed during the run, not compared: `
            + `${verdict.changedDuringRun.slice(0, 5).map((n) => n.slice(1, -1)).join(', ')}${verdict.changedDuringRun.length > 5 ? ', …' : ''}`);
        }
        if (verdict.diff !== undefined) {
          const report = shadow.report(stage, verdict.diff);
          this.shadowOutcome(domain, 'MISMATCHES', `parity: native ${stage} differs from bash; diff report ${report}`);
        }
      } catch (error) {
        this.shadowOutcome(domain, 'COMPARISON', `parity: shadow ${stage} could not be compared: ${error instanceof Error ? error.message : String(error)}`);
      }
    } finally {
      try {
        if (scratchPath !== undefined) rmSync(scratchPath, { recursive: true, force: true });
      } catch {
        // a leftover scratch directory is not the run's business
      }
    }
    return status;
  }

  /** One shadow outcome: its `parity:` WARNING (never counted in the exit code) and its counter in state. */
  private shadowOutcome(domain: DomainName, kind: 'MISMATCHES' | 'CANDIDATE' | 'COMPARISON', line: string): void {
    try {
      this.options.log.warning(line);
      const key = kind === 'MISMATCHES' ? `PARITY_MISMATCHES_${domain.toUpperCase()}` : `PARITY_${kind}_FAILURES_${domain.toUpperCase()}`;
      const current = Number(this.options.runDir.readState().get(key) ?? '0');
      this.options.runDir.setState(key, String(current + 1));
    } catch {
      // the experiment never fails the run
    }
  }
}
