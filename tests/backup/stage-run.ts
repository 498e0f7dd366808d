// One backup stage run alone, legacy (its shim) or native, on a run directory made from a real legacy run's
// context.env and state.env (tests only). The real run gives every key a stage reads, as the orchestrator wrote it.
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ExitCode, type ExitStatus } from '../../native/core/exit-code.js';
import { RunLog } from '../../native/core/log.js';
import { Redactor } from '../../native/core/redact.js';
import { RunDir } from '../../native/core/run-dir.js';
import { formatEnvLine, parseEnvFile } from '../../native/core/state-env.js';
import { stageContext, type NativeStage } from '../../native/core/stage.js';
import { hostEnv, makeSandbox, REPO, runLegacy, sharedOnce, type Sandbox } from '../legacy/run.js';

export interface KeptRun { readonly host: string; readonly sandbox: Sandbox; readonly runDir: string }

/** A full legacy run on HOST (with ARGS, e.g. --dry-run) and PBK_KEEP_RUN_DIR=1: its run directory (staging removed) for stage runs. */
export async function keptRun(host: string, config: Record<string, string> = {}, args: string[] = []): Promise<KeptRun> {
  const sandbox = makeSandbox(config);
  const result = await runLegacy(host, sandbox, args, { PBK_KEEP_RUN_DIR: '1' });
  const match = /Run directory kept \(PBK_KEEP_RUN_DIR=1\): (.+)/.exec(String(result.stderr));
  if (match?.[1] === undefined) throw new Error(`legacy run kept no run directory: ${String(result.stderr)}`);
  return { host, sandbox, runDir: match[1] };
}

/**
 * keptRun(HOST) with the default sandbox, shared by the files of one vitest run (sharedOnce): only for files that
 * never write to it. Their stage runs get a fresh run directory (stageDir, LOG_FILE emptied) and their own output
 * paths, and they change nothing under its BASE_DIR. Outside a vitest run: a fresh run.
 */
export function sharedKeptRun(host: string): Promise<KeptRun> {
  return sharedOnce(`kept run ${host}`, () => keptRun(host));
}

/** A fresh run directory with the kept context (keys overridden by `context`) and state (plus `state`). */
export function stageDir(kept: KeptRun, context: Record<string, string> = {}, state: Record<string, string> = {}): RunDir {
  const dir = RunDir.open(mkdtempSync(join(tmpdir(), 'pbk-stage-')));
  chmodSync(dir.path, 0o700);
  copyFileSync(join(kept.runDir, 'context.env'), dir.contextPath);
  copyFileSync(join(kept.runDir, 'state.env'), dir.statePath);
  writeFileSync(dir.logPath, '', { mode: 0o600 });
  const extra = { ...context, RUN_DIR: dir.path, LOG_FILE: '' };
  appendFileSync(dir.contextPath, Object.entries(extra).map(([k, v]) => formatEnvLine(k, v)).join(''));
  appendFileSync(dir.statePath, Object.entries(state).map(([k, v]) => formatEnvLine(k, v)).join(''));
  mkdirSync(dir.staging, { recursive: true });
  return dir;
}

export interface StageResult { readonly status: number; readonly lines: string[]; readonly state: Map<string, string> }

function outcome(dir: RunDir, status: number): StageResult {
  const lines = readFileSync(dir.logPath, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+ \S+ /, ''));
  return { status, lines, state: parseEnvFile(readFileSync(dir.statePath, 'utf8')) };
}

export function stageEnv(kept: KeptRun, extra: Record<string, string> = {}): Record<string, string> {
  return hostEnv(kept.host, kept.sandbox, extra);
}

export async function runShim(stage: string, dir: RunDir, env: Record<string, string>): Promise<StageResult> {
  const result = await execa(join(REPO, 'shims', stage), [dir.path], { reject: false, env, extendEnv: false });
  return outcome(dir, result.exitCode ?? 70);
}

export async function runNativeStage(stage: NativeStage, dir: RunDir, env: Record<string, string>): Promise<StageResult> {
  const context = parseEnvFile(readFileSync(dir.contextPath, 'utf8'));
  const log = new RunLog({
    now: () => new Date(), debugLevel: (context.get('DEBUG_LEVEL') ?? 'standard') as 'standard', disableColours: true,
    exitCode: new ExitCode(), redactor: new Redactor([]), console: undefined,
  });
  log.attachFile(dir.logPath);
  let status: ExitStatus;
  try {
    status = await stage(stageContext({ runDir: dir, log, env }));
  } finally {
    log.close();
  }
  return outcome(dir, status);
}

export interface LegacyStageRun { readonly status: number; readonly log: string; readonly dir: RunDir }

/** The legacy STAGE (its shim) alone on a run directory made from FROM, with CONTEXT on top of its context. */
export async function legacyStage(stage: string, from: KeptRun, context: Record<string, string> = {},
  env: Record<string, string> = {}): Promise<LegacyStageRun> {
  const dir = stageDir(from, context);
  const result = await runShim(stage, dir, stageEnv(from, env));
  return { status: result.status, log: result.lines.join('\n'), dir };
}
