// The TypeScript orchestrator itself (issue 6 §0, §7): fallback, shadow, signals and the lock shared with the
// legacy pipeline. Whole-run equality with bash is the parity harness's job (tests/parity, make test-parity).
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExitStatus } from '../../native/core/exit-code.js';
import { parseEnvFile } from '../../native/core/state-env.js';
import type { DomainName } from '../../native/switch/flags.js';
import { Orchestrator } from '../../native/switch/orchestrator.js';
import { NATIVE_BACKUP_STAGES } from '../../native/backup/index.js';
import { securityGate } from '../../native/security/gate.js';
import type { Implementation, NativeStage, NativeStageContext, StageName } from '../../native/switch/stages.js';
import { backupCollect } from '../../native/backup/collect/index.js';
import { NATIVE_METRICS_STAGES } from '../../native/metrics/index.js';
import { NATIVE_NOTIFY_STAGES } from '../../native/notify/index.js';
import { fakeSendmail, startHttpSink, TELEGRAM_OK, type HttpSink } from '../../native/parity/sinks.js';
import { appendConfig, archiveIn, EXPECTED_EXIT, hostEnv, HOSTS, logOf, makeSandbox, REPO, runLegacy, tarList, type Sandbox } from '../legacy/run.js';

const savedUmask = process.umask();
const savedTz = process.env.TZ;
afterEach(() => {
  process.umask(savedUmask);
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

interface NativeRun { status: ExitStatus; stdout: string; stderr: string; state: Map<string, string> }

async function runNative(host: string, sandbox: Sandbox, options: {
  natives?: Partial<Record<StageName, NativeStage>>; flags?: Partial<Record<DomainName, Implementation>>; fallback?: boolean; codeDir?: string;
  checkOnly?: boolean;
}): Promise<NativeRun> {
  let stdout = '';
  let stderr = '';
  const orchestrator = new Orchestrator({
    codeDir: options.codeDir ?? REPO, baseDir: sandbox.baseDir, env: hostEnv(host, sandbox, { PBK_KEEP_RUN_DIR: '1' }),
    dryRun: false, checkOnly: options.checkOnly ?? false, implementation: (domain) => options.flags?.[domain] ?? 'bash',
    fallback: options.fallback ?? false, natives: options.natives,
    stdout: { write: (text) => { stdout += text; }, isTTY: false },
    stderr: (line) => { stderr += `${line}\n`; },
  });
  const status = await orchestrator.run();
  const tmp = join(sandbox.baseDir, 'tmp');
  const runDir = readdirSync(tmp).find((n) => n.startsWith('proxmox-backup-run.'));
  const state = runDir === undefined ? new Map<string, string>() : parseEnvFile(readFileSync(join(tmp, runDir, 'state.env'), 'utf8'));
  return { status, stdout, stderr, state };
}

/** The native collection (equal to bash's on every fixture host: the shadow cases below and tests/backup/collect.test.ts),
 * then one file more in its staging tree: a difference the shadow comparison must see. */
const collectOneMore: NativeStage = async (context: NativeStageContext) => {
  const status = await backupCollect(context);
  writeFileSync(join(context.runDir.staging, 'etc', 'only-in-ts.cfg'), 'x\n');
  return status;
};

const throwing: NativeStage = () => Promise.reject(new Error('boom'));

describe('fallback (ARCHITECTURE: "fallback": true)', () => {
  it('reruns a native stage that failed internally in bash, says so, and counts it', async () => {
    const sandbox = makeSandbox();
    const run = await runNative('pve-single', sandbox, { natives: { backup_verify: throwing }, flags: { backup: 'ts' }, fallback: true });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('[WARNING] Native stage backup_verify failed internally (boom); rerunning it in bash');
    expect(logOf(sandbox)).toContain('[SUCCESS] Archive verification completed successfully');   // a shim's line
    expect(run.state.get('FALLBACK_BACKUP')).toBe('1');
    expect(run.state.get('STATUS_VERIFY')).toBe('0');
  });

  it('without fallback, the internal failure is an error of the run', async () => {
    const sandbox = makeSandbox();
    const run = await runNative('pve-single', sandbox, { natives: { backup_verify: throwing }, flags: { backup: 'ts' } });
    expect(run.status).toBe(2);
    expect(run.stdout).toContain('[ERROR] Internal failure in native stage backup_verify: boom');
    expect(archiveIn(sandbox)).toBeDefined();   // the archive made before stays
  });
});

// Silence when the native twin produces the same outputs is the every-host case below (each native backup stage in
// shadow, the run's exit code, one archive): a run of its own with legacy stages as twins proved no more.
describe('shadow (ARCHITECTURE: bash result used, ts compared on a scratch copy)', () => {
  it('reports a mismatch with a parity: warning and a diff beside the log, changing neither exit code nor archive', async () => {
    const sandbox = makeSandbox();
    const run = await runNative('pve-single', sandbox, { natives: { backup_collect: collectOneMore }, flags: { backup: 'shadow' } });
    expect(run.status).toBe(0);
    const report = join(sandbox.logDir, 'pve-backup-pve1.lab.example-2024-11-25_02-00-00.parity-backup_collect.diff');
    expect(run.stdout).toContain(`[WARNING] parity: native backup_collect differs from bash; diff report ${report}`);
    expect(readFileSync(report, 'utf8')).toMatch(/^\+"\.\/etc\/only-in-ts\.cfg" f 0600 /m);
    expect(run.state.get('PARITY_MISMATCHES_BACKUP')).toBe('1');
    const archive = archiveIn(sandbox);
    expect(archive).toBeDefined();
    expect(await tarList(archive ?? '')).not.toContain('./etc/only-in-ts.cfg');
  });

  it('takes parity/known-differences.json as its ignore list (scenario "shadow", the harness\'s artefact names)', async () => {
    const code = mkdtempSync(join(tmpdir(), 'pbk-code-'));
    for (const part of ['bin', 'legacy', 'shims', 'dist', 'VERSION', 'node_modules']) symlinkSync(join(REPO, part), join(code, part));
    mkdirSync(join(code, 'parity'));
    const entry = { match: { scenario: 'shadow', artefact: 'staging.txt', line: 'only-in-ts\\.cfg' }, reason: 'test: excused in shadow', expires: '2099-12-31' };
    writeFileSync(join(code, 'parity', 'known-differences.json'), JSON.stringify({ entries: [entry] }));
    const extra = collectOneMore;
    const run = await runNative('pve-single', makeSandbox(), { natives: { backup_collect: extra }, flags: { backup: 'shadow' }, codeDir: code });
    expect(run.stdout).not.toContain('parity:');
    expect(run.state.get('PARITY_MISMATCHES_BACKUP')).toBeUndefined();
    // The same difference with an expired entry is a mismatch again.
    writeFileSync(join(code, 'parity', 'known-differences.json'), JSON.stringify({ entries: [{ ...entry, expires: '2020-01-01' }] }));
    const again = await runNative('pve-single', makeSandbox(), { natives: { backup_collect: extra }, flags: { backup: 'shadow' }, codeDir: code });
    expect(again.state.get('PARITY_MISMATCHES_BACKUP')).toBe('1');
  });

  it('counts a native failure in shadow as a candidate failure (not a mismatch), never as a failure of the run', async () => {
    const sandbox = makeSandbox();
    const run = await runNative('pve-single', sandbox, { natives: { backup_verify: throwing }, flags: { backup: 'shadow' } });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('[WARNING] parity: native backup_verify failed: boom');
    expect(run.state.get('PARITY_CANDIDATE_FAILURES_BACKUP')).toBe('1');
    expect(run.state.get('PARITY_MISMATCHES_BACKUP')).toBeUndefined();
  });
});

function switchMode(host: string, sandbox: Sandbox, flags: string[]) {
  return execa(join(REPO, 'bin', 'switch-mode'), ['run-backup', ...flags], {
    env: hostEnv(host, sandbox), extendEnv: false, reject: false, timeout: 200_000,
  });
}

// Every domain with native stages in shadow at once, one whole run per host (each domain's comparison is its own:
// bash's result is what the run goes on with). notify and metrics (notify.md §10.31): bash delivers for real, the
// native twins render on a scratch copy and send nothing, so the sinks see exactly one set of requests.
const TOKEN = '123456789:AAH-test_token_abcdefghijklmnopqrstuvwx';
let sinks: HttpSink[] = [];
afterEach(async () => {
  await Promise.all(sinks.map((s) => s.close()));
  sinks = [];
});

describe('the native backup, security, notify and metrics stages in shadow on every fixture host', () => {
  it.each(HOSTS)('%s: gate, detect, compressor choice, verify, notifications and metrics agree with bash; one set of requests', async (host) => {
    const sink = await startHttpSink([TELEGRAM_OK]);
    sinks.push(sink);
    const sandbox = makeSandbox({
      PROMETHEUS_ENABLED: 'true', PROMETHEUS_TEXTFILE_DIR: '${BASE_DIR}/metrics',
      TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '-100123', TELEGRAM_API_BASE: sink.base,
      EMAIL_ENABLED: 'true', EMAIL_RECIPIENT: 'admin@example.com',
      WEBHOOK_ENABLED: 'true', WEBHOOK_URLS: `${sink.base}/hook`, ENABLE_LOG_MANAGEMENT: 'true',
    });
    appendConfig(sandbox, { SENDMAIL_PATH: fakeSendmail(sandbox.baseDir) });
    const run = await runNative(host, sandbox, {
      natives: { ...NATIVE_BACKUP_STAGES, security_gate: securityGate, ...NATIVE_NOTIFY_STAGES, ...NATIVE_METRICS_STAGES },
      flags: { backup: 'shadow', security: 'shadow', notify: 'shadow', metrics: 'shadow' },
    });
    expect(run.stdout).not.toContain('parity:');
    expect(run.status).toBe(EXPECTED_EXIT[host]);   // bash's outcome
    expect(readdirSync(sandbox.backupDir).filter((n) => !n.endsWith('.sha256') && !n.endsWith('.metadata'))).toHaveLength(1);
    // the gate's candidate checked the real installation (not the scratch copy of config/) with the live probes replayed
    for (const domain of ['BACKUP', 'SECURITY', 'NOTIFY', 'METRICS']) {
      expect(run.state.get(`SHADOW_${domain}`), domain).toBe('1');
      expect(run.state.get(`PARITY_MISMATCHES_${domain}`), domain).toBeUndefined();
    }
    expect(sink.requests.map((r) => r.url.replace(TOKEN, '***'))).toEqual(['/bot***/sendMessage', '/hook']);
    expect(readFileSync(join(sandbox.baseDir, 'sendmail.log'), 'utf8').match(/^argv: /gm)).toHaveLength(1);
  });

  it('a gate candidate that finds one issue more is a parity mismatch, and the run keeps bash\'s outcome', async () => {
    const sandbox = makeSandbox();
    const stricter: NativeStage = async (context) => {
      const status = await securityGate(context);
      context.log.warning('Unexpected file in the installation: bin/extra');
      return status;
    };
    // phases 0-8 (--check-only): the gate runs in shadow as in a whole run, and nothing after it needs to
    const run = await runNative('pve-single', sandbox, { natives: { security_gate: stricter }, flags: { security: 'shadow' }, checkOnly: true });
    expect(run.stdout).toMatch(/\[WARNING\] parity: native security_gate differs from bash; diff report /);
    expect(run.state.get('PARITY_MISMATCHES_SECURITY')).toBe('1');
    expect(run.status).toBe(0);
  });
});

/** The pids of zstd processes whose environment names BASEDIR (a run's compressor). */
function compressorsOf(baseDir: string): string[] {
  return readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'zstd' && readFileSync(`/proc/${pid}/environ`, 'latin1').includes(`BASE_DIR=${baseDir}\0`);
    } catch {
      return false;
    }
  });
}

/** Resolves once a run holds the sandbox's lock (its pid= line is written). */
async function lockHeld(sandbox: Sandbox): Promise<void> {
  const lockFile = join(sandbox.baseDir, 'lock', 'proxmox-backup.lock');
  for (let i = 0; i < 150 && !(existsSync(lockFile) && readFileSync(lockFile, 'utf8').startsWith('pid=')); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('signals and the lock (run.md §1 phase 16, §7)', () => {
  it('on SIGTERM: a clear line, exit 2, no partial archive, run directory gone, lock free again', async () => {
    const sandbox = makeSandbox();
    const running = switchMode('hostile', sandbox, ['--flag', 'orchestrator=ts']);   // lspci hangs 3 s there
    await lockHeld(sandbox);
    // the signal must arrive once the log file exists (a loaded machine takes longer to get there), then 1 s on
    const logDir = sandbox.logDir;
    for (let i = 0; i < 600 && !(existsSync(logDir) && readdirSync(logDir).length > 0); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    running.kill('SIGTERM');
    const result = await running;
    expect(result.exitCode).toBe(2);
    expect(logOf(sandbox)).toContain('[ERROR] Backup interrupted by SIGTERM; partial archive removed');
    expect(existsSync(sandbox.backupDir) ? readdirSync(sandbox.backupDir) : []).toEqual([]);
    expect(readdirSync(join(sandbox.baseDir, 'tmp'))).toEqual([]);
    // the lock is free again: phases 0-8 take it (phase 4)
    expect((await switchMode('pve-single', sandbox, ['--check-only', '--flag', 'orchestrator=ts'])).exitCode).toBe(0);
  });

  it('on SIGTERM while a native archive compresses (zstd ultra): exit 2, no partial archive, no compressor left', async () => {
    // 16 MiB that does not compress: level 22 takes seconds on it, where libzstd's in-process flush once held the
    // main thread (and the signal) for minutes on a large host.
    const host = mkdtempSync(join(tmpdir(), 'pbk-big-host-'));
    cpSync(join(REPO, 'parity', 'hosts', 'pve-single'), host, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    writeFileSync(join(host, 'root', 'etc', 'pve', 'random.bin'), randomBytes(16 << 20));
    const sandbox = makeSandbox({ COMPRESSION_MODE: 'ultra' });
    const running = switchMode(host, sandbox, ['--flag', 'orchestrator=ts', '--flag', 'backup=ts']);
    const underway = (): boolean => existsSync(sandbox.backupDir) && readdirSync(sandbox.backupDir).some((n) => n.endsWith('.tmp'));
    for (let i = 0; i < 1800 && !underway() && running.exitCode === null; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(underway()).toBe(true);
    running.kill('SIGTERM');
    const result = await running;
    expect(result.exitCode).toBe(2);
    expect(logOf(sandbox)).toContain('[ERROR] Backup interrupted by SIGTERM; partial archive removed');
    expect(readdirSync(sandbox.backupDir)).toEqual([]);
    // no zstd of this run outlives it (it would go on compressing what its pipe held)
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(compressorsOf(sandbox.baseDir)).toEqual([]);
  });

  it('excludes a legacy run while it holds the lock, and is excluded by one', async () => {
    const sandbox = makeSandbox();
    const native = switchMode('hostile', sandbox, ['--flag', 'orchestrator=ts']);
    await lockHeld(sandbox);
    const legacy = await runLegacy('pve-single', sandbox);
    expect(legacy.exitCode).toBe(2);
    expect(legacy.stdout).toMatch(/\[ERROR\] Another backup run is in progress \(PID \d+\)/);
    expect((await native).exitCode).toBe(1);

    mkdirSync(join(sandbox.baseDir, 'lock'), { recursive: true });
    const lockPath = join(sandbox.baseDir, 'lock', 'proxmox-backup.lock');
    writeFileSync(lockPath, 'pid=4242\nstart=1\n');
    const holder = execa('sh', ['-c', 'exec 9>>"$0"; flock 9; exec sleep 30', lockPath], { reject: false });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const refused = await switchMode('pve-single', sandbox, ['--flag', 'orchestrator=ts']);
    holder.kill();
    await holder;
    expect(refused.exitCode).toBe(2);
    expect(refused.stdout).toContain('[ERROR] Another backup run is in progress (PID 4242)');
    const taken = await switchMode('pve-single', sandbox, ['--check-only', '--flag', 'orchestrator=ts']);   // phase 4 takes it over
    expect(taken.exitCode).toBe(0);
    expect(taken.stdout).toContain('[INFO] Stale lock from PID 4242 taken over');
    expect(readFileSync(lockPath, 'utf8')).toBe('');
  });
});
