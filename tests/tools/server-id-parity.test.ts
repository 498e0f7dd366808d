// server-id, bash vs ts (issue 19 tool parity, run.md §8): legacy/bin/server-id of an installed copy and the
// native tool (dist/native/cli/main.js server-id) on twin copies prepared alike, with the pve-single fixture
// host's `hostname` first on PATH. Compared: exit code, stdout (timestamps aside), stderr, and the identity file
// (bytes and mode) and its directory's mode afterwards. The id is derived from the running host's
// machine-id, MACs and product uuid (never under SYSTEM_ROOT_PREFIX, which the tool does not read) and the
// stub's short name, so both sides derive the same one. And bin/switch-mode routes by the cli flag.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { deriveServerId, formatIdentityFile, readIdentitySources } from '../../native/core/identity.js';
import { REPO } from '../legacy/run.js';
import { setCliFlag } from './cli-flag.js';

const FIXTURE_BIN = join(REPO, 'parity', 'hosts', 'pve-single', 'bin');
const MAIN = join(REPO, 'dist', 'native', 'cli', 'main.js');
const SEEDED = '0000000000000042';
/** The id both sides must derive on this machine: the running host's inputs and the stub's short name. */
const DERIVED = deriveServerId(readIdentitySources('pve1'));
const AS_ROOT = process.geteuid?.() === 0;

const scratch = mkdtempSync(join(tmpdir(), 'pbk-server-id-tool-'));
chmodSync(scratch, 0o755);
/** stdin on a pseudo-terminal (stdout and stderr stay pipes): the answer is typed before the tool reads it. */
const TTY_HELPER = join(scratch, 'on-tty.py');
writeFileSync(TTY_HELPER, [
  'import os, subprocess, sys',
  'master, slave = os.openpty()',
  'os.write(master, sys.argv[1].encode())',
  'sys.exit(subprocess.run(sys.argv[2:], stdin=slave).returncode)', ''].join('\n'));

function install(): string {
  const base = mkdtempSync(join(scratch, 'base-'));
  chmodSync(base, 0o755);
  for (const part of ['bin', 'legacy', 'VERSION', 'flags.json']) cpSync(join(REPO, part), join(base, part), { recursive: true, verbatimSymlinks: true });
  return base;
}

const env = (base: string, extra: Record<string, string> = {}): Record<string, string> => ({
  PATH: `${FIXTURE_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`, BASE_DIR: base, TZ: 'UTC', LC_ALL: 'C.UTF-8', ...extra,
});

interface FileState { text: string; mode: string }
interface Result { exitCode: number; stdout: string[]; stderr: string; file: FileState | 'directory' | undefined; dirMode: string | undefined }

const mode = (path: string): string | undefined => existsSync(path) ? (statSync(path).mode & 0o7777).toString(8) : undefined;

function fileState(base: string): Result['file'] {
  const path = join(base, 'config', '.server_identity');
  if (!existsSync(path)) return undefined;
  if (statSync(path).isDirectory()) return 'directory';
  return { text: readFileSync(path).toString('latin1'), mode: mode(path) ?? '' };
}

interface Options { tty?: string; asNobody?: boolean }

async function side(which: 'bash' | 'ts', base: string, args: readonly string[], options: Options = {}): Promise<Result> {
  let argv = which === 'bash' ? [join(base, 'legacy', 'bin', 'server-id'), ...args] : [process.execPath, MAIN, 'server-id', ...args];
  if (options.asNobody === true && AS_ROOT) argv = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...argv];
  if (options.tty !== undefined) argv = ['python3', TTY_HELPER, options.tty, ...argv];
  const result = await execa(argv[0] ?? '', argv.slice(1), { reject: false, extendEnv: false, env: env(base), encoding: 'buffer', stripFinalNewline: false });
  const text = (bytes: unknown): string => Buffer.from(bytes as Uint8Array).toString('utf8').replaceAll(base, '<BASE>');
  return {
    exitCode: result.exitCode ?? -1,
    stdout: text(result.stdout).split('\n').filter((l) => l !== '').map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, '')),
    stderr: text(result.stderr),
    file: fileState(base),
    dirMode: mode(join(base, 'config')),
  };
}

type Prepare = (config: string) => void;

/** Both tools on twin installations prepared alike; they must agree on everything. Returns the bash side. */
async function same(prepare: Prepare | undefined, args: readonly string[], options: Options = {}): Promise<Result> {
  const results: Result[] = [];
  for (const which of ['bash', 'ts'] as const) {
    const base = install();
    if (prepare !== undefined) {
      mkdirSync(join(base, 'config'), { mode: 0o700 });
      prepare(join(base, 'config'));
    }
    results.push(await side(which, base, args, options));
  }
  const [bash, ts] = results;
  expect(ts).toEqual(bash);
  if (bash === undefined) throw new Error('no result');
  return bash;
}

const FILE = 'File: <BASE>/config/.server_identity';
const written = (id: string): FileState => ({ text: formatIdentityFile(id), mode: '600' });
const seed = (text: string, fileMode = 0o600): Prepare => (config) => writeFileSync(join(config, '.server_identity'), text, { mode: fileMode });
const valid = seed(formatIdentityFile(SEEDED));
const badChecksum = seed(`SERVER_ID=${SEEDED}\nCHECKSUM=0123456789abcdef\n`);
/** A valid file only root can read, in a directory others can search but not write. */
const unreadable: Prepare = (config) => {
  chmodSync(config, 0o755);   // searchable, or the file would read as missing
  seed(formatIdentityFile(SEEDED), 0o000)(config);
};
const directory: Prepare = (config) => mkdirSync(join(config, '.server_identity'));

describe('server-id show: the legacy tool and the native one agree', () => {
  it('a missing file (and config dir) is generated: INFO line, mode 0600 in a 0700 dir', async () => {
    const r = await same(undefined, ['show']);
    expect(r).toMatchObject({ exitCode: 0, stderr: '', file: written(DERIVED), dirMode: '700' });
    expect(r.stdout).toEqual(['[INFO] Server ID generated', `Server ID: ${DERIVED}`, FILE]);
  });

  it('a valid file is read and left as it is, even when the host would derive another id', async () => {
    const r = await same(valid, ['show']);
    expect(r).toMatchObject({ exitCode: 0, stdout: [`Server ID: ${SEEDED}`, FILE], file: written(SEEDED) });
  });

  it('a corrupt file (checksum mismatch) is regenerated with a WARNING, exit 1', async () => {
    const r = await same(badChecksum, ['show']);
    expect(r).toMatchObject({ exitCode: 1, file: written(DERIVED) });
    expect(r.stdout).toEqual(['[WARNING] Server identity file corrupt; regenerated', `Server ID: ${DERIVED}`, FILE]);
  });

  it('an unreadable file (run as an unprivileged user): corrupt, not missing; it cannot be rewritten either', async () => {
    const r = await same(unreadable, ['show'], { asNobody: true });
    expect(r).toMatchObject({ exitCode: 1, file: { text: formatIdentityFile(SEEDED), mode: '0' }, dirMode: '755' });
    expect(r.stdout).toEqual(['[WARNING] Server identity file corrupt; regenerated',
      '[WARNING] Cannot write server identity file <BASE>/config/.server_identity; using the computed id for this run',
      `Server ID: ${DERIVED}`, FILE]);
  });

  it('a directory at the path: corrupt, cannot be written (nothing written into it), the computed id used', async () => {
    const r = await same(directory, ['show']);
    expect(r).toMatchObject({ exitCode: 1, file: 'directory' });
    expect(r.stdout).toEqual(['[WARNING] Server identity file corrupt; regenerated',
      '[WARNING] Cannot write server identity file <BASE>/config/.server_identity; using the computed id for this run',
      `Server ID: ${DERIVED}`, FILE]);
  });
});

describe('server-id validate: 0 valid, 1 missing, 2 corrupt, on both sides', () => {
  it.each<{ name: string; prepare: Prepare | undefined; code: number; line: string }>([
    { name: 'valid', prepare: valid, code: 0, line: `valid: ${SEEDED}` },
    { name: 'valid, trailing blank lines ignored', prepare: seed(`${formatIdentityFile(SEEDED)}\n\n`), code: 0, line: `valid: ${SEEDED}` },
    { name: 'missing', prepare: undefined, code: 1, line: 'missing: <BASE>/config/.server_identity' },
    { name: 'corrupt: checksum mismatch', prepare: badChecksum, code: 2, line: 'corrupt: <BASE>/config/.server_identity' },
    { name: 'corrupt: an extra line', prepare: seed(`${formatIdentityFile(SEEDED)}EXTRA=1\n`), code: 2, line: 'corrupt: <BASE>/config/.server_identity' },
    { name: 'corrupt: empty', prepare: seed(''), code: 2, line: 'corrupt: <BASE>/config/.server_identity' },
    { name: 'corrupt: a directory', prepare: directory, code: 2, line: 'corrupt: <BASE>/config/.server_identity' },
  ])('$name → $code', async ({ prepare, code, line }) => {
    const r = await same(prepare, ['validate']);
    expect(r).toMatchObject({ exitCode: code, stdout: [line], stderr: '' });
  });

  it('unreadable (mode 0000, run as an unprivileged user) → corrupt, 2; nothing changed', async () => {
    const r = await same(unreadable, ['validate'], { asNobody: true });
    expect(r).toMatchObject({ exitCode: 2, stdout: ['corrupt: <BASE>/config/.server_identity'], stderr: '',
      file: { text: formatIdentityFile(SEEDED), mode: '0' } });
  });
});

describe('server-id reset: the same prompt, refusal, old and new id, and file', () => {
  it('--yes on a valid file: old and new id, the file rewritten', async () => {
    const r = await same(valid, ['reset', '--yes']);
    expect(r).toMatchObject({ exitCode: 0, stderr: '', file: written(DERIVED), dirMode: '700' });
    expect(r.stdout).toEqual(['[INFO] Server ID generated', `Old ID: ${SEEDED}`, `New ID: ${DERIVED}`]);
  });

  it('-y on a corrupt file: the old id is none', async () => {
    const r = await same(badChecksum, ['reset', '-y']);
    expect(r).toMatchObject({ exitCode: 0, file: written(DERIVED) });
    expect(r.stdout).toEqual(['[INFO] Server ID generated', 'Old ID: none', `New ID: ${DERIVED}`]);
  });

  it('--yes with a directory at the path: ERROR cannot remove, 2', async () => {
    const r = await same(directory, ['reset', '--yes']);
    expect(r).toMatchObject({ exitCode: 2, stdout: [], stderr: 'ERROR: cannot remove <BASE>/config/.server_identity\n', file: 'directory' });
  });

  it('without --yes off a terminal: refused, 2, the file untouched', async () => {
    const r = await same(valid, ['reset']);
    expect(r).toMatchObject({ exitCode: 2, stdout: [], stderr: 'ERROR: reset needs --yes when not running on a terminal\n', file: written(SEEDED) });
  });

  const PROMPT = 'Regenerate the server ID? Notifications and dashboards keyed on the old one will change. [y/N]: ';
  it.each([
    { answer: 'y\r', yes: true }, { answer: ' YES \r', yes: true }, { answer: 'n\r', yes: false },
    { answer: 'yes please\r', yes: false }, { answer: '\r', yes: false }, { answer: '\u0004', yes: false },
  ])('on a terminal, answer $answer: the prompt on stderr, then regenerated or Cancelled (0)', async ({ answer, yes }) => {
    const r = await same(valid, ['reset'], { tty: answer });
    expect(r).toMatchObject({ exitCode: 0, stderr: PROMPT, file: written(yes ? DERIVED : SEEDED) });
    expect(r.stdout).toEqual(yes ? ['[INFO] Server ID generated', `Old ID: ${SEEDED}`, `New ID: ${DERIVED}`] : ['Cancelled']);
  });
});

describe('server-id usage: the legacy header, unknown arguments, no command', () => {
  const usage = readFileSync(join(REPO, 'legacy', 'bin', 'server-id'), 'utf8').split('\n').slice(1, 9).map((l) => l.replace(/^# ?/, '')).join('\n');

  it.each([['--help'], ['-h'], ['help'], ['show', '-h'], ['reset', '--yes', '--help']])('%s → usage on stdout, 0', async (...args) => {
    const r = await same(valid, args);
    expect(r).toMatchObject({ exitCode: 0, stdout: usage.split('\n').filter((l) => l !== ''), stderr: '', file: written(SEEDED) });
  });

  it.each([
    ['show', '--bogus'], ['show', '-v'], ['validate', '--config', 'x'], ['show', '-e', 'x'], ['reset', '--env=x'],
    ['--yes', 'show'], ['show', 'b\u001bad'],
  ])('%s %s → Unknown argument, usage on stderr, 2', async (...args) => {
    const r = await same(valid, args);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toEqual([]);
    expect(r.stderr.split('\n')[0]).toMatch(/^Unknown argument: /);
    expect(r.stderr).toContain(usage);
  });

  it.each([[], ['frobnicate']])('no or an unknown command %s → usage on stderr, 2', async (...args) => {
    const r = await same(undefined, args);
    expect(r).toMatchObject({ exitCode: 2, stdout: [], stderr: `${usage}\n`, file: undefined });
  });
});

describe('bin/switch-mode server-id follows the cli flag', () => {
  it('cli=bash runs legacy/bin/server-id, cli=ts the native front end; both print the same', async () => {
    // A hostname first on PATH that records its ancestors' command lines, then answers as the fixture host.
    const tracer = join(scratch, 'tracer');
    mkdirSync(tracer);
    writeFileSync(join(tracer, 'hostname'), [
      '#!/bin/sh',
      'p=$PPID; n=0',
      '# Up to the tool (a server-id command line), never the launcher or above it (the test runner\'s lines).',
      'while [ "$p" -gt 1 ] && [ "$n" -lt 3 ]; do',
      '  n=$((n + 1))',
      '  line=$(tr \'\\0\' \' \' < "/proc/$p/cmdline")',
      '  case "$line" in *bin/switch-mode*) break ;; esac',
      '  printf \'%s\\n\' "$line"',
      '  case "$line" in *server-id*) break ;; esac',
      '  p=$(sed -n \'s/^PPid:[[:space:]]*//p\' "/proc/$p/status")',
      'done >> "$SID_TRACE"',
      `exec ${FIXTURE_BIN}/hostname "$@"`, ''].join('\n'), { mode: 0o755 });
    const runs: Record<string, { stdout: string[]; trace: string; exitCode: number }> = {};
    for (const cli of ['bash', 'ts'] as const) {
      const base = install();
      symlinkSync(join(REPO, 'dist'), join(base, 'dist'));
      symlinkSync(join(REPO, 'node_modules'), join(base, 'node_modules'));
      setCliFlag(base, cli);
      const trace = join(scratch, `trace-${cli}`);
      const result = await execa(join(base, 'bin', 'switch-mode'), ['server-id', 'show'], {
        reject: false, extendEnv: false, env: { ...env(base), PATH: `${tracer}:${env(base).PATH ?? ''}`, SID_TRACE: trace },
      });
      runs[cli] = {
        exitCode: result.exitCode ?? -1, trace: readFileSync(trace, 'utf8'),
        stdout: result.stdout.replaceAll(base, '<BASE>').split('\n').map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, '')),
      };
    }
    expect(runs.bash?.stdout).toEqual(['[INFO] Server ID generated', `Server ID: ${DERIVED}`, FILE]);
    expect(runs.ts?.stdout).toEqual(runs.bash?.stdout);
    expect(runs.bash?.exitCode).toBe(0);
    expect(runs.ts?.exitCode).toBe(0);
    expect(runs.bash?.trace).toMatch(/legacy\/bin\/server-id show/);
    expect(runs.bash?.trace).not.toMatch(/main\.js server-id/);
    expect(runs.ts?.trace).toMatch(/dist\/native\/cli\/main\.js server-id show/);
    expect(runs.ts?.trace).not.toMatch(/legacy\/bin\/server-id/);
    expect(`${runs.bash?.trace ?? ''}${runs.ts?.trace ?? ''}`).not.toMatch(/vitest/);   // the walk stayed inside the tool
  });
});
