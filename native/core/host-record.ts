// Host commands recorded by a control run and replayed to a candidate (parity/README.md "Same inputs on both
// sides"), the twin of core_host_run in legacy/lib/core.sh. Layout of a recording directory:
//   KEY/argv        the argv, each argument NUL-terminated; KEY is the sha256 of exactly these bytes
//   KEY/N/stdout    the Nth run of that argv: its stdout, stderr and exit status (124: timed out)
//   KEY/N/stderr
//   KEY/N/status
//   .replay/KEY.argv, .replay/KEY.count   what the replaying side asked for, and how often
// The Nth call of an argv gets the Nth recorded result; a call the control did not make gets status 127 and
// shows in `commandsArtefact`, so a command the control did not run is a mismatch in itself.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { esc } from './esc.js';
import { execCommand, type ExecOptions, type ExecResult } from './exec.js';

export interface ReplayedResult {
  readonly status: number;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

/**
 * Programs that are run on both sides instead of replayed: `sqlite3 .backup` writes the copy of config.db into the
 * staging tree (its argv names the side's own staging path); the file it reads is compared by the rule for files
 * changed during the run.
 */
export const PASS_THROUGH: ReadonlySet<string> = new Set(['sqlite3']);

function argvBytes(argv: readonly string[]): Buffer {
  return Buffer.concat(argv.map((arg) => Buffer.from(`${arg}\0`, 'utf8')));
}

export function hostKey(argv: readonly string[]): string {
  return createHash('sha256').update(argvBytes(argv)).digest('hex');
}

/** The recorded result of the next call of this argv, counted in DIR/.replay/ (synchronous: calls stay in order). */
export function replayHostCommand(dir: string, argv: readonly string[]): ReplayedResult {
  const key = hostKey(argv);
  const state = join(dir, '.replay');
  mkdirSync(state, { recursive: true, mode: 0o700 });
  const argvFile = join(state, `${key}.argv`);
  if (!existsSync(argvFile)) writeFileSync(argvFile, argvBytes(argv), { mode: 0o600 });
  const countFile = join(state, `${key}.count`);
  const n = (existsSync(countFile) ? Number(readFileSync(countFile, 'utf8').trim()) || 0 : 0) + 1;
  writeFileSync(countFile, `${n}\n`, { mode: 0o600 });
  const entry = join(dir, key, String(n));
  if (!existsSync(join(entry, 'status'))) {
    return { status: 127, stdout: Buffer.alloc(0), stderr: Buffer.from(`not recorded by the control run: ${argv.join(' ')}\n`, 'utf8') };
  }
  return {
    status: Number(readFileSync(join(entry, 'status'), 'utf8').trim()),
    stdout: readFileSync(join(entry, 'stdout')),
    stderr: readFileSync(join(entry, 'stderr')),
  };
}

/** Records one run of ARGV into DIR as legacy's _core_host_record does (the Nth run of an argv under KEY/N). */
export function recordHostCommand(dir: string, argv: readonly string[], result: ReplayedResult): void {
  const keyDir = join(dir, hostKey(argv));
  mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  if (!existsSync(join(keyDir, 'argv'))) writeFileSync(join(keyDir, 'argv'), argvBytes(argv), { mode: 0o600 });
  let n = 1;
  while (existsSync(join(keyDir, String(n)))) n += 1;
  const entry = join(keyDir, String(n));
  mkdirSync(entry, { mode: 0o700 });
  writeFileSync(join(entry, 'stdout'), result.stdout, { mode: 0o600 });
  writeFileSync(join(entry, 'stderr'), result.stderr, { mode: 0o600 });
  writeFileSync(join(entry, 'status'), `${result.status}\n`, { mode: 0o600 });
}

/** execCommand, or the replay of the recording named by PBK_REPLAY_DIR in the environment (detection probes). */
export async function execHost(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
  const dir = options.env?.PBK_REPLAY_DIR;
  if (dir === undefined || dir === '' || PASS_THROUGH.has(argv[0] ?? '')) return execCommand(argv, options);
  const result = replayHostCommand(dir, argv);
  return {
    argv, exitCode: result.status === 124 ? undefined : result.status, signal: undefined,
    stdout: result.stdout.toString('utf8'), stderr: result.stderr.toString('utf8'),
    timedOut: result.status === 124, notFound: false, durationMs: 0,
  };
}

function readArgv(file: string): string[] {
  const text = readFileSync(file).toString('latin1');
  return text.split('\0').slice(0, -1);
}

/** Each recorded argv (shown as a log shows it) with how many times the control ran it. */
export function recordedCommands(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(dir)) return out;
  for (const key of readdirSync(dir)) {
    if (!/^[0-9a-f]{64}$/.test(key) || !existsSync(join(dir, key, 'argv'))) continue;
    const runs = readdirSync(join(dir, key)).filter((n) => /^\d+$/.test(n)).length;
    out.set(shown(readArgv(join(dir, key, 'argv'))), runs);
  }
  return out;
}

/** Each argv the replaying side asked for, with how many times. */
export function requestedCommands(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const state = join(dir, '.replay');
  if (!existsSync(state)) return out;
  for (const name of readdirSync(state)) {
    const key = /^([0-9a-f]{64})\.argv$/.exec(name)?.[1];
    if (key === undefined) continue;
    const count = existsSync(join(state, `${key}.count`)) ? Number(readFileSync(join(state, `${key}.count`), 'utf8').trim()) || 0 : 0;
    out.set(shown(readArgv(join(state, name))), count);
  }
  return out;
}

function shown(argv: readonly string[]): string {
  return argv.map((arg) => esc(Buffer.from(arg, 'latin1').toString('utf8'))).join(' ');
}

/** One sorted line per argv, `N× argv`: equal on both sides when the candidate asked for what the control ran. */
export function commandsArtefact(commands: ReadonlyMap<string, number>): string {
  return [...commands].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([argv, n]) => `${n}× ${argv}\n`).join('');
}
