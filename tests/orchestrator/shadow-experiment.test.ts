// Shadow as an experiment (GitHub Scientist's sense): the control's result is the run's, whatever the candidate or
// the comparison does; a candidate failure, a comparison failure and a mismatch are three different outcomes; the
// host commands the control ran are replayed to the candidate (legacy core_host_run ↔ native/core/host-record.ts).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { makeClock } from '../../native/core/clock.js';
import { ExitCode } from '../../native/core/exit-code.js';
import { commandsArtefact, hostKey, recordedCommands, replayHostCommand, requestedCommands } from '../../native/core/host-record.js';
import { RunLog } from '../../native/core/log.js';
import { Redactor } from '../../native/core/redact.js';
import { RunDir } from '../../native/core/run-dir.js';
import { parseEnvFile } from '../../native/core/state-env.js';
import { StageRunner, type NativeStage, type ShadowCompare } from '../../native/switch/stages.js';
import { REPO } from '../legacy/run.js';

/** A code directory whose only shim is backup_verify: a control that writes one line and exits 0. */
function controlCode(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbk-experiment-code-'));
  mkdirSync(join(dir, 'shims'));
  writeFileSync(join(dir, 'shims', 'backup_verify'), '#!/bin/sh\nprintf "%s [INFO] control ran\\n" "2024-11-25 02:00:00" >> "$1/run.log"\nexit 0\n');
  chmodSync(join(dir, 'shims', 'backup_verify'), 0o755);
  return dir;
}

interface Outcome { status: number; exitCode: number; log: string; state: Map<string, string> }

async function experiment(candidate: NativeStage, compare: ShadowCompare): Promise<Outcome> {
  const runDir = RunDir.create(mkdtempSync(join(tmpdir(), 'pbk-experiment-')));
  runDir.writeContext([['RUN_DIR', runDir.path]]);
  const exitCode = new ExitCode();
  const log = new RunLog({ now: () => new Date(0), debugLevel: 'standard', console: undefined, disableColours: true, redactor: new Redactor([]), exitCode });
  log.attachFile(runDir.logPath);
  const runner = new StageRunner({
    codeDir: controlCode(), runDir, log, env: { PATH: process.env.PATH }, clock: makeClock(), hostRoot: '/', implementation: () => 'shadow', fallback: false,
    natives: { backup_verify: candidate },
    shadow: { scratchContext: () => Promise.resolve(), compare, report: () => '/nonexistent/report.diff' },
  });
  const outcome = await runner.run('backup_verify');
  log.close();
  return { status: outcome.status, exitCode: exitCode.current, log: readFileSync(runDir.logPath, 'utf8'), state: parseEnvFile(readFileSync(runDir.statePath, 'utf8')) };
}

const agree: ShadowCompare = () => Promise.resolve({ changedDuringRun: [], acceptedBy: [] });

describe('shadow cannot reach the exit code', () => {
  it('a candidate that throws: a candidate failure, not a mismatch; exit code and status are the control\'s', async () => {
    const run = await experiment(() => Promise.reject(new Error('boom')), agree);
    expect(run.status).toBe(0);
    expect(run.exitCode).toBe(0);
    expect(run.log).toContain('[WARNING] parity: native backup_verify failed: boom');
    expect(run.state.get('PARITY_CANDIDATE_FAILURES_BACKUP')).toBe('1');
    expect(run.state.get('PARITY_MISMATCHES_BACKUP')).toBeUndefined();
  });

  it('a candidate that logs ERROR and returns 2: only its scratch log sees it; the status difference is a mismatch', async () => {
    const loud: NativeStage = ({ log }) => {
      log.error('candidate error line');
      log.warning('candidate warning line');
      return Promise.resolve(2);
    };
    const run = await experiment(loud, (_stage, _real, _scratch, inputs) =>
      Promise.resolve({ changedDuringRun: [], acceptedBy: [], diff: inputs.statuses.bash === inputs.statuses.ts ? undefined : 'status differs' }));
    expect(run.exitCode).toBe(0);
    expect(run.log).not.toContain('candidate error line');
    expect(run.log).toContain('[WARNING] parity: native backup_verify differs from bash; diff report /nonexistent/report.diff');
    expect(run.state.get('PARITY_MISMATCHES_BACKUP')).toBe('1');
  });

  it('a comparison that throws: a comparison failure, told apart from the other two', async () => {
    const run = await experiment(() => Promise.resolve(0), () => Promise.reject(new Error('normaliser broke')));
    expect(run.exitCode).toBe(0);
    expect(run.log).toContain('[WARNING] parity: shadow backup_verify could not be compared: normaliser broke');
    expect(run.state.get('PARITY_COMPARISON_FAILURES_BACKUP')).toBe('1');
    expect(run.state.get('PARITY_CANDIDATE_FAILURES_BACKUP')).toBeUndefined();
    expect(run.state.get('PARITY_MISMATCHES_BACKUP')).toBeUndefined();
  });
});

describe('host commands: recorded by legacy, replayed by native', () => {
  it('gives back stdout, stderr and status byte for byte, in call order, and names what the control did not run', async () => {
    const record = mkdtempSync(join(tmpdir(), 'pbk-record-'));
    const fail = join(mkdtempSync(join(tmpdir(), 'pbk-fail-')), 'fail.sh');
    writeFileSync(fail, 'printf "a\\377b\\n"; echo oops >&2; exit 3\n');
    const script = `source "${REPO}/legacy/lib/core.sh"; for i in 1 2; do core_host_run 5 10 "$1/out$i" "$1/err$i" date +%N || true; done
      core_host_run 5 10 - /dev/null sh "$2" > "$1/out3" || echo "status $?" > "$1/st3"`;
    const result = await execa('bash', ['-c', script, 'x', record, fail], { env: { ...process.env, PBK_RECORD_DIR: record }, reject: false });
    expect(result.exitCode).toBe(0);
    const first = replayHostCommand(record, ['date', '+%N']);
    const second = replayHostCommand(record, ['date', '+%N']);
    expect(first.stdout).toEqual(readFileSync(join(record, 'out1')));
    expect(second.stdout).toEqual(readFileSync(join(record, 'out2')));
    const failing = replayHostCommand(record, ['sh', fail]);
    expect(failing.status).toBe(3);
    expect(failing.stdout).toEqual(Buffer.from('a\xffb\n', 'latin1'));
    expect(failing.stdout).toEqual(readFileSync(join(record, 'out3')));
    expect(failing.stderr.toString()).toBe('oops\n');
    expect(readFileSync(join(record, 'st3'), 'utf8')).toBe('status 3\n');
    expect(hostKey(['date', '+%N'])).toMatch(/^[0-9a-f]{64}$/);
    expect(commandsArtefact(requestedCommands(record))).toBe(commandsArtefact(recordedCommands(record)));
    // A third call of date, and a command never run: 127, and both show in the candidate's list.
    expect(replayHostCommand(record, ['date', '+%N']).status).toBe(127);
    expect(replayHostCommand(record, ['uptime']).stderr.toString()).toBe('not recorded by the control run: uptime\n');
    expect(commandsArtefact(requestedCommands(record))).toContain('1× uptime\n');
    expect(commandsArtefact(requestedCommands(record))).toContain('3× date +%N\n');
    expect(commandsArtefact(recordedCommands(record))).toContain('2× date +%N\n');
  });

  it('legacy replays what it recorded (the shims of a parity B run), and answers 127 for what it did not', async () => {
    const record = mkdtempSync(join(tmpdir(), 'pbk-record-'));
    const lib = `source "${REPO}/legacy/lib/core.sh"`;
    await execa('bash', ['-c', `${lib}; core_host_run 5 10 - /dev/null date +%N`], { env: { ...process.env, PBK_RECORD_DIR: record } });
    const recorded = readFileSync(join(record, hostKey(['date', '+%N']), '1', 'stdout'), 'utf8');
    const replayed = await execa('bash', ['-c', `${lib}; core_host_run 5 10 - /dev/null date +%N; core_host_run 5 10 - /dev/null date +%N || echo "second: $?"`],
      { env: { ...process.env, PBK_REPLAY_DIR: record } });
    expect(replayed.stdout).toBe(`${recorded}second: 127`);
  });
});
