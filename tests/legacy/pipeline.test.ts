// The legacy pipeline against every fixture host, as run.md and archive.md ask: archives that GNU tar lists and
// `sha256sum -c` accepts in every compressor, the hostile host survived with warnings, dry-run writing
// nothing, compressor fallback and failure, and the lock.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { describe, expect, it } from 'vitest';
import { archiveIn, archiveProblems, EXPECTED_EXIT, EXPECTED_WARNINGS, HOST_COMPRESSION, hostEnv, HOSTS_DIR, logOf, makeSandbox, REPO, runLegacy,
  type Sandbox, tarList, warningsOf } from './run.js';

function execaSyncOk(file: string, args: string[]): boolean {
  try {
    return execaSync(file, args, { reject: false }).exitCode === 0;
  } catch {
    return false;   // the program itself is missing: the capability is absent
  }
}

// Every fixture host once and every compressor at least once, end to end (7 whole runs, not 5 × 7): each host's
// whole run with everything on (tests/legacy/acceptance.test.ts) uses its HOST_COMPRESSION and checks its archive
// as these cases do; the two compressors left are here. The archive stage itself is checked with each
// compressor's real CLI, on both sides, in tests/backup/archive.test.ts.
const CASES = [
  { host: 'pve-single', type: 'lzma', ext: '.tar.lzma', mode: 'standard' }, { host: 'pve-single', type: 'none', ext: '.tar', mode: 'standard' },
] as const;

type Case = (typeof CASES)[number];
interface Run { readonly sandbox: Sandbox; readonly exitCode: number | undefined; readonly stdout: string }

/** One whole run per case, started on first use: the content and cleanup cases read the plain-tar run's outputs. */
const RUNS = new Map<Case, Promise<Run>>();
function caseRun(c: Case): Promise<Run> {
  let run = RUNS.get(c);
  if (run === undefined) {
    const sandbox = makeSandbox({ COMPRESSION_TYPE: c.type, COMPRESSION_MODE: c.mode, COMPRESSION_LEVEL: '6' });
    run = runLegacy(c.host, sandbox).then((r) => ({ sandbox, exitCode: r.exitCode, stdout: String(r.stdout) }));
    RUNS.set(c, run);
  }
  return run;
}
const PLAIN_TAR = CASES.find((c) => c.type === 'none') ?? CASES[0];

describe('legacy pipeline', () => {
  it('covers every compressor, with the acceptance runs', () => {
    const types = [...Object.values(HOST_COMPRESSION), ...CASES].map((c) => c.type);
    expect(types.sort()).toEqual(['bzip2', 'gzip', 'lzma', 'none', 'pigz', 'xz', 'zstd']);
  });

  it.each(CASES)('on $host makes a $type archive GNU tar lists and sha256sum -c accepts', async (c) => {
    const { host, type, ext } = c;
    const { sandbox, ...result } = await caseRun(c);
    expect(result.exitCode, result.stdout).toBe(EXPECTED_EXIT[host]);
    expect(warningsOf(logOf(sandbox))).toEqual(EXPECTED_WARNINGS[host]);
    expect(await archiveProblems(sandbox, host, type, ext)).toEqual([]);
  });
});

// The content rules hold whatever the compressor (the tar stream is the same): read on the plain-tar run of
// pve-single above, not on a whole run of their own.
describe('archive content rules (archive.md §2)', () => {
  it('stores entries sorted bytewise with numeric owners, links as links, and the collected bytes', async () => {
    const { sandbox, exitCode } = await caseRun(PLAIN_TAR);
    expect(PLAIN_TAR.host).toBe('pve-single');
    expect(exitCode).toBe(0);
    const archive = archiveIn(sandbox) ?? '';
    const entries = await tarList(archive);
    const keys = entries.slice(1).map((e) => Buffer.from(e.replace(/\/$/, '')));
    const sorted = [...keys].sort(Buffer.compare);
    expect(keys).toEqual(sorted);
    const verbose = await execa('tar', ['--numeric-owner', '-tvf', archive, './etc/pve/local', './etc/pve/storage.cfg']);
    expect(verbose.stdout).toMatch(/^lrwxrwxrwx \d+\/\d+ .* \.\/etc\/pve\/local -> nodes\/pve1$/m);
    const extracted = await execa('tar', ['-xOf', archive, './etc/pve/storage.cfg'], { encoding: 'buffer', stripFinalNewline: false });
    expect(Buffer.from(extracted.stdout).equals(readFileSync(join(HOSTS_DIR, 'pve-single/root/etc/pve/storage.cfg')))).toBe(true);
    const priv = await execa('tar', ['-tvf', archive, './etc/pve/priv/authkey.key']);
    expect(priv.stdout).toMatch(/^-rw------- /);
  });
});

// One whole run (with -v, so the DEBUG lines reach the log) serves both cases.
let hostileRun: Promise<{ sandbox: Sandbox; exitCode: number | undefined }> | undefined;
function hostile(): Promise<{ sandbox: Sandbox; exitCode: number | undefined }> {
  if (hostileRun === undefined) {
    const sandbox = makeSandbox({ CUSTOM_BACKUP_PATHS: '/root\n/root/hazards/loop\n/etc/missing-on-purpose' });
    hostileRun = runLegacy('hostile', sandbox, ['-v']).then((r) => ({ sandbox, exitCode: r.exitCode }));
  }
  return hostileRun;
}

describe('hostile host', () => {
  it('gives a backup plus warnings, never a crash', async () => {
    const { sandbox, ...result } = await hostile();
    expect(result.exitCode).toBe(1);
    const log = logOf(sandbox);
    expect(log).toContain('[WARNING] Failed to collect PVE users - command: pveum user list --output-format=json - ipcc_send_rec[1] failed: Connection refused');
    expect(log).toContain('[WARNING] Backup process completed with exit code: 1');
    expect(log).toContain('[WARNING] Failed to collect custom path - /root/hazards/loop - symlink loop');
    expect(log).toContain('[WARNING] File not found: /etc/missing-on-purpose');
    expect(log.includes('\u001b')).toBe(false);   // no raw escape byte reaches the log file
    const entries = await tarList(archiveIn(sandbox) ?? '');
    expect(entries).toContain('./etc/pve/new\\nline.cfg');
    expect(entries).toContain('./etc/pve/$(touch PWNED).cfg');
    expect(entries).toContain('./etc/pve/-leading-dash.cfg');
    expect(entries).toContain('./etc/pve/caf\\351.cfg');
    expect(entries).toContain('./etc/pve/loop-a');
    expect(entries).toContain('./etc/pve/outside-link');
    expect(entries).toContain('./etc/pve/empty-dir/');
    expect(entries).toContain('./root/hazards/big-20M.bin');
    expect(entries).not.toContain('./etc/pve/fifo');
    expect(entries).not.toContain('./etc/pve/socket');
    expect(existsSync(join(HOSTS_DIR, 'hostile', 'root', 'etc', 'pve', 'PWNED'))).toBe(false);
    if (process.getuid?.() !== 0) {
      expect(log).toContain('[WARNING] Failed to collect PVE configuration - /etc/pve/priv/unreadable.key');
    }
  });

  it('bounds a hanging command by its timeout (lspci hangs: debug line, no partial file)', async () => {
    const { sandbox, ...result } = await hostile();
    expect(logOf(sandbox)).toContain('[DEBUG] Failed to collect PCI devices - command: lspci -v - timed out');
    const entries = await tarList(archiveIn(sandbox) ?? '');
    expect(entries).not.toContain('./var/lib/proxmox-backup-info/commands/system/lspci.txt');
    expect(entries).toContain('./var/lib/proxmox-backup-info/commands/system/lscpu.txt');   // stderr only, exit 0: kept
    expect(result.exitCode).toBe(1);
  });
});

describe('dry-run (run.md §3)', () => {
  it('collects and reports but writes no archive, checksum or metadata', async () => {
    const sandbox = makeSandbox();
    const result = await runLegacy('pve-cluster', sandbox, ['--dry-run']);
    expect(result.exitCode).toBe(0);
    expect(existsSync(sandbox.backupDir) ? readdirSync(sandbox.backupDir) : []).toEqual([]);
    const log = logOf(sandbox);
    expect(log).toContain('[INFO] Dry run: would create archive pve-backup-pve1.cluster.lab.example-2024-11-25_02-00-00.tar.zst');
    expect(log).toContain('[INFO] Dry run: no archive created');
    expect(log).toMatch(/\[INFO\] Collection finished: \d+ collected, 0 failed, \d+ skipped/);
  });
});

describe('compressors', () => {
  // PATH cannot hide a program: phase 0 appends /usr/bin and /bin (run.md §1). A private mount namespace
  // covers /usr/bin/zstd with /dev/null, which `command -v` does not take for a program.
  const canUnshare = process.getuid?.() === 0
    && execaSyncOk('unshare', ['-m', 'sh', '-c', 'mount --bind /dev/null /usr/bin/true && exit 0']);

  it.runIf(canUnshare)('falls back to gzip with a warning when the compressor is missing (decision 15)', async () => {
    const sandbox = makeSandbox({ COMPRESSION_TYPE: 'zstd' });
    const env = hostEnv('pve-single', sandbox);
    const result = await execa('unshare', ['-m', 'sh', '-c', 'mount --bind /dev/null "$(command -v zstd)" && exec "$0"',
      join(REPO, 'legacy', 'bin', 'proxmox-backup')], { env, extendEnv: false, reject: false });
    expect(result.exitCode, String(result.stderr)).toBe(1);
    expect(logOf(sandbox)).toContain("[WARNING] Compression tool 'zstd' not found, falling back to gzip");
    const archive = archiveIn(sandbox) ?? '';
    expect(archive.endsWith('.tar.gz')).toBe(true);
    expect(readFileSync(`${archive}.metadata`, 'utf8')).toContain('COMPRESSION_TYPE=gzip\n');
    const meta = await execa('tar', ['-xOf', archive, './var/lib/proxmox-backup-info/backup_metadata.txt']);
    expect(meta.stdout).toContain('COMPRESSION=gzip');
  });

  it('leaves nothing under the final name when the compressor fails mid-stream', async () => {
    const sandbox = makeSandbox({ COMPRESSION_TYPE: 'xz' });
    const fake = join(sandbox.baseDir, 'fakebin');
    mkdirSync(fake);
    writeFileSync(join(fake, 'xz'), '#!/bin/sh\nhead -c 1000 >/dev/null; printf "partial"; echo "xz: No space left on device" >&2; exit 1\n');
    chmodSync(join(fake, 'xz'), 0o755);
    const result = await runLegacy('pve-single', sandbox, [], { PATH: `${join(HOSTS_DIR, 'pve-single', 'bin')}:${fake}:${process.env.PATH ?? ''}` });
    expect(result.exitCode).toBe(2);
    expect(logOf(sandbox)).toContain('[ERROR] Failed to create backup archive: xz: No space left on device');
    expect(readdirSync(sandbox.backupDir)).toEqual([]);
  });
});

describe('lock (run.md §7)', () => {
  it('refuses a second run while the first holds the lock, and takes over a stale one', async () => {
    const sandbox = makeSandbox();
    mkdirSync(join(sandbox.baseDir, 'lock'), { mode: 0o700 });
    const lockPath = join(sandbox.baseDir, 'lock', 'proxmox-backup.lock');
    writeFileSync(lockPath, 'pid=999999\nstart=1\n');
    // exec: the lock holder is the process we kill, so no child keeps the descriptor open.
    const holder = execa('sh', ['-c', 'exec 9>>"$0"; flock 9; exec sleep 30', lockPath], { reject: false });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const refused = await runLegacy('pve-single', sandbox);
    holder.kill();
    await holder;
    expect(refused.exitCode).toBe(2);
    expect(refused.stdout).toContain('[ERROR] Another backup run is in progress (PID 999999)');
    // phases 0-8 take the lock (phase 4) and empty it on exit, as a whole run does
    const taken = await runLegacy('pve-single', sandbox, ['--check-only']);
    expect(taken.exitCode).toBe(0);
    expect(logOf(sandbox)).toContain('[INFO] Stale lock from PID 999999 taken over');
    expect(readFileSync(lockPath, 'utf8')).toBe('');   // emptied at the end: no stale holder next time
  });

  it('refuses a lock path that is a symlink, touching nothing', async () => {
    const sandbox = makeSandbox();
    mkdirSync(join(sandbox.baseDir, 'lock'));
    symlinkSync('/etc/passwd', join(sandbox.baseDir, 'lock', 'proxmox-backup.lock'));
    const result = await runLegacy('pve-single', sandbox);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain(`[ERROR] Lock path is not a regular file: ${join(sandbox.baseDir, 'lock', 'proxmox-backup.lock')}`);
  });
});

describe('cleanup on every exit path (run.md §1 phase 16)', () => {
  it('removes RUN_DIR after a good run and after a failed one', async () => {
    const good = await caseRun(PLAIN_TAR);   // a whole good run (pve-single, exit 0)
    expect(good.exitCode).toBe(0);
    expect(readdirSync(join(good.sandbox.baseDir, 'tmp'))).toEqual([]);
    const bad = makeSandbox({ LOCAL_BACKUP_PATH: '/proc/no-such-dir/backup' });
    expect((await runLegacy('pve-single', bad)).exitCode).toBe(2);
    expect(readdirSync(join(bad.baseDir, 'tmp'))).toEqual([]);
  });

  it('on SIGTERM: a clear line, exit 2, no partial archive, run directory gone, lock free again', async () => {
    const sandbox = makeSandbox();
    const running = runLegacy('hostile', sandbox);   // lspci hangs 3 s there: time to interrupt
    // Signal once collection has begun (the traps are set before phase 1), however slow the machine is.
    const collecting = (): boolean => existsSync(sandbox.logDir) && logOf(sandbox).includes('[STEP] Collecting configuration files');
    for (let waited = 0; !collecting() && waited < 120_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(collecting()).toBe(true);
    running.kill('SIGTERM');
    const result = await running;
    expect(result.exitCode).toBe(2);
    expect(logOf(sandbox)).toContain('[ERROR] Backup interrupted by SIGTERM; partial archive removed');
    expect(existsSync(sandbox.backupDir) ? readdirSync(sandbox.backupDir) : []).toEqual([]);
    expect(readdirSync(join(sandbox.baseDir, 'tmp'))).toEqual([]);
    expect((await runLegacy('pve-single', sandbox, ['--check-only'])).exitCode).toBe(0);   // the lock is free: phase 4 takes it
  });
});
