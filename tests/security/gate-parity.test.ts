// The security gate stage through both implementations (security.md §11 scenarios 1-17): shims/security_gate
// (legacy/lib/security.sh) and native/security/gate.ts run on the same installation and an identical run
// directory; the log lines, state.env, exit status and the manifest afterwards must be the same bytes.
import { chmodSync, cpSync, statSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { describe, expect, it } from 'vitest';
import { stageContext } from '../../native/core/stage.js';
import { ExitCode } from '../../native/core/exit-code.js';
import { RunLog } from '../../native/core/log.js';
import { Redactor } from '../../native/core/redact.js';
import { RunDir } from '../../native/core/run-dir.js';
import { securityGate } from '../../native/security/gate.js';
import { REPO } from '../legacy/run.js';

interface Install { readonly base: string; readonly stubs: string; readonly backup: string }

const DEFAULTS: Record<string, string> = {
  FULL_SECURITY_CHECK: 'false', ABORT_ON_SECURITY_ISSUES: 'false', AUTO_UPDATE_HASHES: 'true', REMOVE_UNAUTHORIZED_FILES: 'false',
  CHECK_NETWORK_SECURITY: 'false', CHECK_FIREWALL: 'true', CHECK_OPEN_PORTS: 'true', SECURITY_ALLOWED_PORTS: '',
  DRY_RUN: 'false', CHECK_ONLY: 'false', DEBUG_LEVEL: 'advanced', DISABLE_COLORS: 'true', HOSTNAME: 'pve1.example.com',
  LOG_FILE: '',
};

/** BASE_DIR with a copy of the code (bin, legacy, shims), a small node_modules, VERSION, flags.json, backup.env. */
function install(): Install {
  const base = mkdtempSync(join(tmpdir(), 'pbk-gate-'));
  chmodSync(base, 0o755);
  for (const part of ['bin', 'legacy', 'shims', 'VERSION', 'flags.json']) cpSync(join(REPO, part), join(base, part), { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(base, 'node_modules', 'pkg', 'lib'), { recursive: true });
  writeFileSync(join(base, 'node_modules', 'pkg', 'lib', 'index.js'), 'module.exports = 1;\n');
  mkdirSync(join(base, 'env'), { mode: 0o700 });
  writeFileSync(join(base, 'env', 'backup.env'), 'FULL_SECURITY_CHECK="false"\n', { mode: 0o600 });
  const backup = join(base, 'backup');
  mkdirSync(backup, { mode: 0o700 });
  mkdirSync(join(base, 'log'), { mode: 0o700 });
  const stubs = join(base, 'stubs');
  mkdirSync(stubs);
  return { base, stubs, backup };
}

function stub(i: Install, name: string, output: string | Buffer, status = 0): void {
  writeFileSync(join(i.stubs, `${name}.out`), output);
  writeFileSync(join(i.stubs, name), `#!/bin/sh\ncat "$(dirname "$0")/${name}.out"\nexit ${status}\n`, { mode: 0o755 });
}

/** Records the manifest as the install step does (the legacy tool). */
function recordManifest(i: Install): void {
  execaSync(join(i.base, 'bin', 'switch-mode'), ['security-check', '--update-hashes'], {
    extendEnv: false, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BASE_DIR: i.base, DISABLE_COLORS: 'true', LC_ALL: 'C.UTF-8' },
  });
}

function runDirFor(i: Install, config: Record<string, string>): RunDir {
  const runDir = RunDir.create(tmpdir());
  const values = { ...DEFAULTS, ...config, BASE_DIR: i.base, CONFIG_FILE: join(i.base, 'env', 'backup.env'), RUN_DIR: runDir.path,
    LOCAL_BACKUP_PATH: i.backup, LOCAL_LOG_PATH: join(i.base, 'log') };
  runDir.writeContext(Object.entries(values));
  return runDir;
}

const env = (i: Install): Record<string, string> => ({ PATH: `${i.stubs}:${process.env.PATH ?? '/usr/bin:/bin'}`, TZ: 'UTC', LC_ALL: 'C.UTF-8' });

interface Outcome { status: number; lines: string[]; state: string; manifest: string | undefined }

function outcome(i: Install, runDir: RunDir, status: number): Outcome {
  const manifestPath = join(i.base, 'config', 'integrity.sha256');
  const text = readFileSync(runDir.logPath, 'utf8').replaceAll(runDir.path, '<RUN_DIR>');
  return {
    status,
    lines: text.split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+ \S+ /, '')),
    state: readFileSync(runDir.statePath, 'latin1'),
    manifest: existsSync(manifestPath) ? readFileSync(manifestPath, 'latin1') : undefined,
  };
}

async function bashSide(i: Install, config: Record<string, string>): Promise<Outcome> {
  const runDir = runDirFor(i, config);
  const result = await execa(join(REPO, 'shims', 'security_gate'), [runDir.path], { reject: false, extendEnv: false, env: env(i) });
  const out = outcome(i, runDir, result.exitCode ?? -1);
  rmSync(runDir.path, { recursive: true, force: true });
  return out;
}

async function tsSide(i: Install, config: Record<string, string>): Promise<Outcome> {
  const runDir = runDirFor(i, config);
  const log = new RunLog({ now: () => new Date(), debugLevel: 'advanced', console: undefined, disableColours: true, redactor: new Redactor([]), exitCode: new ExitCode() });
  log.attachFile(runDir.logPath);
  let status: number;
  try {
    status = await securityGate(stageContext({ runDir, log, env: env(i) }));
  } finally {
    log.close();
  }
  const out = outcome(i, runDir, status);
  rmSync(runDir.path, { recursive: true, force: true });
  return out;
}

/** Runs the gate through bash, puts config/ back as it was, runs it natively: both outcomes must be equal. */
async function both(i: Install, config: Record<string, string> = {}): Promise<Outcome> {
  const config0 = join(i.base, 'config');
  const saved = mkdtempSync(join(tmpdir(), 'pbk-gate-config-'));
  const had = existsSync(config0);
  const mode = had ? statSync(config0).mode & 0o7777 : 0o700;
  if (had) cpSync(config0, join(saved, 'config'), { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  const bash = await bashSide(i, config);
  rmSync(config0, { recursive: true, force: true });
  if (had) {
    cpSync(join(saved, 'config'), config0, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    chmodSync(config0, mode);
  }
  rmSync(saved, { recursive: true, force: true });
  const ts = await tsSide(i, config);
  expect(ts.lines).toEqual(bash.lines);
  expect(ts.state).toBe(bash.state);
  expect(ts.status).toBe(bash.status);
  expect(ts.manifest).toBe(bash.manifest);
  return ts;
}

describe('security_gate: bash and ts give the same lines, state and manifest', () => {
  it('clean (1), a change recorded (2), then clean again', async () => {
    const i = install();
    recordManifest(i);
    expect((await both(i)).lines).toContain(`[SUCCESS] Security checks passed`);
    appendFileSync(join(i.base, 'legacy', 'lib', 'exit.sh'), '# edited\n');
    writeFileSync(join(i.base, 'legacy', 'lib', 'helper.sh'), '# new\n');
    rmSync(join(i.base, 'legacy', 'lib', 'json-fields.pl'));
    const changed = await both(i);
    expect(changed.lines).toContain('[WARNING] Integrity: file changed: legacy/lib/exit.sh');
    expect(changed.lines).toContain('[INFO] Integrity manifest updated (AUTO_UPDATE_HASHES=true): 1 changed, 1 added, 1 missing');
    expect(changed.status).toBe(1);
  });

  it('AUTO_UPDATE_HASHES=false (3), dry run (10), abort (9), a missing manifest (5)', async () => {
    const i = install();
    recordManifest(i);
    appendFileSync(join(i.base, 'legacy', 'lib', 'exit.sh'), '# edited\n');
    expect((await both(i, { AUTO_UPDATE_HASHES: 'false' })).lines).toContain('[INFO] Integrity manifest not updated (AUTO_UPDATE_HASHES=false); review the changes, then run security-check --update-hashes');
    expect((await both(i, { DRY_RUN: 'true' })).lines).toContain('[INFO] Dry run: would update integrity manifest');
    const aborted = await both(i, { ABORT_ON_SECURITY_ISSUES: 'true' });
    expect(aborted.status).toBe(2);
    rmSync(join(i.base, 'config', 'integrity.sha256'));
    expect((await both(i, { AUTO_UPDATE_HASHES: 'false' })).state).toContain("SECURITY_MANIFEST='missing'");
    const created = await both(i);
    expect(created.lines.some((l) => /^\[INFO\] Integrity manifest created: \d+ files$/.test(l))).toBe(true);
  });

  it('a garbage manifest (6), a symlinked manifest (7), a symlink and a FIFO in legacy/lib (8)', async () => {
    const i = install();
    recordManifest(i);
    const manifest = join(i.base, 'config', 'integrity.sha256');
    const good = readFileSync(manifest, 'utf8');
    const first = good.split('\n')[0] ?? '';
    writeFileSync(manifest, `${good}garbage\n${'0'.repeat(64)}  ../etc/passwd\n${first}\n\n${'a'.repeat(64)}  legacy/lib/\xff.sh\n`, { mode: 0o600 });
    symlinkSync('/etc/hostname', join(i.base, 'legacy', 'lib', 'link.sh'));
    execaSync('mkfifo', [join(i.base, 'legacy', 'lib', 'pipe')]);
    writeFileSync(Buffer.from(`${i.base}/legacy/lib/bad\xffname`, 'latin1'), 'x');
    writeFileSync(join(i.base, 'legacy', 'lib', 'new\nline'), 'x');
    const garbage = await both(i);
    expect(garbage.lines).toContain('[WARNING] Integrity: unexpected symlink: legacy/lib/link.sh -> /etc/hostname');
    expect(garbage.lines).toContain('[WARNING] Integrity: unsupported entry skipped: legacy/lib/pipe');
    rmSync(manifest);
    symlinkSync('/etc/hostname', manifest);
    expect((await both(i)).lines).toContain(`[WARNING] Cannot write integrity manifest ${manifest}: not a regular file`);
  });

  it('permissions: backup.env 0644 (11), group-writable files past the cap (12), node_modules and ancestors', async () => {
    const i = install();
    recordManifest(i);
    chmodSync(join(i.base, 'env', 'backup.env'), 0o644);
    for (let n = 0; n < 22; n += 1) {
      const file = join(i.base, 'node_modules', 'pkg', `f${String(n).padStart(2, '0')}.js`);
      writeFileSync(file, '');
      chmodSync(file, 0o664);
    }
    chmodSync(join(i.base, 'legacy', 'lib', 'log.sh'), 0o666);
    const result = await both(i);
    expect(result.lines).toContain(`[WARNING] Insecure permissions on configuration file ${i.base}/env/backup.env: 0644 (expected 0600 or 0400)`);
    expect(result.state).toContain("SECURITY_PERMISSION_ISSUES='24'");
    expect(result.lines).toContain('[WARNING] … and 3 more permission issue(s)');
  });

  it('full mode: sensitive files (D), processes (14), firewall (15), ports (16), hostile bytes (17)', async () => {
    const i = install();
    recordManifest(i);
    chmodSync(join(i.base, 'config'), 0o755);
    writeFileSync(join(i.backup, 'pve-backup-pve1.example.com-2024-11-25_02-00-00.tar.zst'), '', { mode: 0o644 });
    writeFileSync(join(i.backup, 'pve-backup-other.example.com-2024-11-25_02-00-00.tar.zst'), '', { mode: 0o644 });
    stub(i, 'ps', Buffer.concat([Buffer.from('    1     0 systemd\n  200     0 xmrig\n   50  1000 xmrig-notls\n   70     0 concat\n   80     0 determiner\n'
      + '   90     0 kworker/0:1\n  100     0 \x1b[31mred\n  110     0 bad\xffname\ngarbage line\n', 'latin1')]));
    stub(i, 'iptables-save', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n-A INPUT -p tcp -j DROP\nCOMMIT\n');
    stub(i, 'nft', 'table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\ttcp dport 22 accept\n\t\tcomment "x"\n\t}\n}\n');
    stub(i, 'ss', 'tcp LISTEN 0 4096 0.0.0.0:8006 0.0.0.0:*\ntcp LISTEN 0 128 [::]:22 [::]:*\ntcp LISTEN 0 100 127.0.0.1:25 0.0.0.0:*\n'
      + 'udp UNCONN 0 0 [fe80::1]%vmbr0:123 [::]:*\ntcp LISTEN 0 5 0.0.0.0:4444 0.0.0.0:*\nudp UNCONN 0 0 *:5405 *:*\nTCP LISTEN 0 5 10.0.0.1:9999 *:*\n'
      + 'tcp LISTEN 0 5 0.0.0.0:4444 0.0.0.0:*\nbogus\nudp UNCONN 0 0 *:* *:*\ntcp LISTEN 0 5 0.0.0.0:http *:*\n');
    const config = { FULL_SECURITY_CHECK: 'true', CHECK_NETWORK_SECURITY: 'true', SECURITY_ALLOWED_PORTS: 'tcp/9990-9999,udp/1' };
    const full = await both(i, config);
    expect(full.lines).toContain('[WARNING] Suspicious process: xmrig (PID 200, UID 0)');
    expect(full.lines).toContain('[WARNING] Listening port not in allowed set: tcp/4444 on 0.0.0.0');
    expect(full.lines).toContain('[INFO] Firewall rules loaded: iptables 2, nftables 1');
    stub(i, 'iptables-save', '', 0);
    stub(i, 'nft', '', 3);
    stub(i, 'ss', 'oops\n', 1);
    await both(i, config);
    rmSync(join(i.stubs, 'nft'));
    rmSync(join(i.stubs, 'iptables-save'));
    await both(i, { ...config, CHECK_OPEN_PORTS: 'false', REMOVE_UNAUTHORIZED_FILES: 'true' });
  });
});
