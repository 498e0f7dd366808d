// fix-permissions, bash vs ts (issue 19 tool parity, security.md §7): legacy/bin/fix-permissions and the native
// tool (dist/native/cli/main.js fix-permissions) on two installed copies built and seeded the same way, with wrong
// modes and owners on the installation, on this host's backups and logs of every type, on another host's files,
// behind a symlink, in a protected directory, on a read-only mount: the same exit code, stdout (timestamps
// aside), stderr, and the same modes and owners afterwards, entry by entry. Also the run lock held by another
// process, usage errors, --help, and bin/switch-mode routing the tool by the cli flag. As root (owners change).
import { appendFileSync, chmodSync, chownSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { execa, execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../legacy/run.js';
import { setCliFlag } from './cli-flag.js';

const FQDN = 'pve1.fixperm.test';
const TS = '2026-03-10_02-00-00';
const made: string[] = [];
let hostBin = '';
const deadPid = spawnSync('true').pid ?? 0;

beforeAll(() => {
  hostBin = mkdtempSync(join(tmpdir(), 'pbk-fixperm-bin-'));
  made.push(hostBin);
  writeFileSync(join(hostBin, 'hostname'), `#!/bin/sh\nif [ "$1" = -f ]; then echo ${FQDN}; else echo pve1; fi\n`, { mode: 0o755 });
  chmodSync(hostBin, 0o755);
});
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function file(base: string, rel: string, mode: number, owner?: number): void {
  mkdirSync(join(base, rel, '..'), { recursive: true });
  writeFileSync(join(base, rel), 'x\n');
  chmodSync(join(base, rel), mode);
  if (owner !== undefined) chownSync(join(base, rel), owner, owner);
}

/** An installed copy (as tests/security/tool-parity.test.ts makes one) with wrong modes and owners seeded. */
function install(config: Record<string, string> = {}): string {
  const base = mkdtempSync(join(tmpdir(), 'pbk-fixperm-'));
  made.push(base);
  for (const part of ['bin', 'legacy', 'shims', 'VERSION', 'flags.json']) cpSync(join(REPO, part), join(base, part), { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(base, 'env'), { mode: 0o755 });
  const lines = {
    LOCAL_BACKUP_PATH: '${BASE_DIR}/backup', LOCAL_LOG_PATH: '${BASE_DIR}/log',
    SECONDARY_BACKUP_PATH: '${BASE_DIR}/secondary', SECONDARY_LOG_PATH: '${BASE_DIR}/absent', ...config,
  };
  writeFileSync(join(base, 'env', 'backup.env'), Object.entries(lines).map(([k, v]) => `${k}="${v}"\n`).join(''), { mode: 0o644 });
  // R1: the installation
  chmodSync(base, 0o775);
  chmodSync(join(base, 'legacy', 'lib', 'exit.sh'), 0o666);
  chmodSync(join(base, 'legacy', 'bin', 'fix-permissions'), 0o777);
  chownSync(join(base, 'legacy', 'lib', 'log.sh'), 1000, 1000);
  chmodSync(join(base, 'VERSION'), 0o600);
  chownSync(join(base, 'VERSION'), 1, 1);
  chmodSync(join(base, 'flags.json'), 0o666);
  file(base, 'config/.server_identity', 0o644, 1000);
  chmodSync(join(base, 'config'), 0o755);
  file(base, 'native/cli/x.ts', 0o666);
  file(base, 'native/tool', 0o4755);
  chmodSync(join(base, 'native', 'cli'), 0o2777);                                // setgid dir: legacy kept 2750
  file(base, 'dist/native/a.js', 0o604, 1000);
  file(base, 'native/sub/node_modules/dep.js', 0o666);                           // pruned: left alone
  file(base, 'node_modules/pkg/index.js', 0o666, 1000);                          // write bits off, owner kept
  file(base, 'node_modules/pkg/run', 0o775);
  chmodSync(join(base, 'node_modules', 'pkg'), 0o2777);
  file(base, 'legacy/odd\nname', 0o666);                                         // names shown with esc()
  const bad = Buffer.concat([Buffer.from(`${base}/legacy/bad-`), Buffer.from([0xff, 0x0a])]);
  writeFileSync(bad, 'x');
  chmodSync(bad, 0o666);
  mkdirSync(join(base, 'tmp'));                                                 // TMPDIR of both sides
  file(base, 'tmp/proxmox-backup-run.dead/owner', 0o600);                       // a dead run's leftover (run.md §7)
  writeFileSync(join(base, 'tmp', 'proxmox-backup-run.dead', 'owner'), `base_dir=${base}\npid=${deadPid}\nstart=1\n`);
  file(base, 'outside.txt', 0o666);                                              // not covered: left alone
  symlinkSync(join(base, 'outside.txt'), join(base, 'legacy', 'link'));
  execaSync('mkfifo', ['-m', '0666', join(base, 'legacy', 'fifo')]);
  // R2: backups (archives, sidecars) and logs of every type, this host's and another's
  file(base, `backup/pve-backup-${FQDN}-${TS}.tar.zst`, 0o644);
  file(base, `backup/pve-backup-${FQDN}-${TS}.tar.zst.sha256`, 0o600);
  file(base, `backup/pve-backup-${FQDN}-${TS}.tar.zst.metadata`, 0o666, 1000);
  file(base, `backup/pbs-backup-${FQDN}-${TS}.tar.xz.age`, 0o644);
  file(base, `backup/dual-backup-${FQDN}-${TS}.tar`, 0o600);
  chownSync(join(base, 'backup', `dual-backup-${FQDN}-${TS}.tar`), 34, 34);
  file(base, `backup/unknown-backup-${FQDN}-${TS}.tar.gz.sha256`, 0o666);
  file(base, `backup/pve-backup-${FQDN}-${TS}.tar.zst.tmp`, 0o666);
  file(base, `backup/pve-backup-other.example-${TS}.tar.zst`, 0o666);
  file(base, `backup/pve-backup-other.example-${TS}.tar.zst.sha256`, 0o666);
  file(base, `backup/pve-backup-${FQDN}-garbage.tar.zst`, 0o666);
  file(base, 'backup/notes.txt', 0o666);
  mkdirSync(join(base, 'backup', `pve-backup-${FQDN}-2026-03-12_02-00-00.tar`));
  chmodSync(join(base, 'backup', `pve-backup-${FQDN}-2026-03-12_02-00-00.tar`), 0o777);
  symlinkSync(join(base, 'outside.txt'), join(base, 'backup', `pve-backup-${FQDN}-2026-03-11_02-00-00.tar.zst`));
  chmodSync(join(base, 'backup'), 0o2775);
  file(base, `log/pve-backup-${FQDN}-${TS}.log`, 0o600);
  file(base, `log/pbs-backup-${FQDN}-${TS}.log.json`, 0o644);
  file(base, `log/dual-backup-${FQDN}-${TS}.json`, 0o666, 1000);
  file(base, `log/unknown-backup-${FQDN}-${TS}.log.jsonl`, 0o644);
  file(base, `log/pve-backup-other.example-${TS}.log`, 0o666);
  chmodSync(join(base, 'log'), 0o777);
  file(base, `secondary/pve-backup-${FQDN}-${TS}.tar.zst`, 0o666);
  file(base, `secondary/pbs-backup-other.example-${TS}.tar.zst`, 0o666);
  return base;
}

const env = (base: string): Record<string, string> => ({
  PATH: `${hostBin}:${process.env.PATH ?? '/usr/bin:/bin'}`, BASE_DIR: base, TZ: 'UTC', LC_ALL: 'C.UTF-8', DISABLE_COLORS: 'true',
  TMPDIR: join(base, 'tmp'),
});

interface Result { exitCode: number; stdout: string[]; stderr: string }

function argvOf(which: 'bash' | 'ts', base: string, args: readonly string[]): string[] {
  return which === 'bash'
    ? [join(base, 'legacy', 'bin', 'fix-permissions'), ...args]
    : [process.execPath, join(REPO, 'dist', 'native', 'cli', 'main.js'), 'fix-permissions', ...args];
}

/** One side; with `wrap`, inside that command (a private mount namespace). Paths of BASE read `<BASE>`. */
async function side(which: 'bash' | 'ts', base: string, args: readonly string[], wrap: readonly string[] = []): Promise<Result> {
  const argv = [...wrap, ...argvOf(which, base, args)];
  const result = await execa(argv[0] ?? '', argv.slice(1), { reject: false, extendEnv: false, env: env(base), encoding: 'buffer' });
  const text = Buffer.from(result.stdout as Uint8Array).toString('utf8');
  return {
    exitCode: result.exitCode ?? -1,
    stdout: text.split('\n').filter((l) => l !== '').map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, '').replaceAll(base, '<BASE>')),
    stderr: Buffer.from(result.stderr as Uint8Array).toString('utf8').replaceAll(base, '<BASE>'),
  };
}

/** Every entry under BASE (and the extra paths) by relative path: type, mode, owner; never through a link. */
function snapshot(base: string): string[] {
  const out: string[] = [];
  const walk = (rel: Buffer): void => {
    const path = Buffer.concat([Buffer.from(base), rel]);
    const st = lstatSync(path);
    const type = st.isSymbolicLink() ? 'l' : st.isDirectory() ? 'd' : st.isFile() ? 'f' : 'o';
    out.push(`${rel.toString('latin1') || '.'} ${type} ${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${st.uid}:${st.gid}`);
    if (type !== 'd') return;
    for (const name of readdirSync(path, { encoding: 'buffer' })) walk(Buffer.concat([rel, Buffer.from('/'), name]));
  };
  walk(Buffer.alloc(0));
  return out.sort();
}

/** Both sides on two copies built alike; the same exit code, lines, stderr and the same tree afterwards. */
async function both(args: readonly string[], config: Record<string, string> = {}, wrap: readonly string[] = []):
  Promise<{ bash: Result; ts: Result; a: string; b: string; before: string[] }> {
  const a = install(config);
  const b = install(config);
  const before = snapshot(a);
  expect(snapshot(b)).toEqual(before);
  const bash = await side('bash', a, args, wrap);
  const ts = await side('ts', b, args, wrap);
  expect(ts.stdout).toEqual(bash.stdout);
  expect(ts.stderr).toBe(bash.stderr);
  expect(ts.exitCode).toBe(bash.exitCode);
  expect(snapshot(b)).toEqual(snapshot(a));
  return { bash, ts, a, b, before };
}

const entryOf = (tree: string[], rel: string): string | undefined => tree.find((l) => l.startsWith(`${rel} `));

describe.runIf(process.getuid?.() === 0)('fix-permissions: the legacy tool and the native one agree', () => {
  it('--dry-run: the same lines, nothing changed on disk', async () => {
    const { ts, a, b, before } = await both(['--dry-run']);
    expect(ts.exitCode).toBe(0);
    // the lock directory and file are the only things a dry run may create (run.md §7)
    const unchanged = (tree: string[]): string[] => tree.filter((l) => !/^\/lock[/ ]/.test(l));
    expect(unchanged(snapshot(a))).toEqual(before);
    expect(unchanged(snapshot(b))).toEqual(before);
    expect(ts.stdout).toContain('[INFO] Dry run: would change mode of <BASE>/legacy/lib/exit.sh: 0666 -> 0640');
    expect(ts.stdout).toContain(`[INFO] Dry run: would change owner of <BASE>/backup/pve-backup-${FQDN}-${TS}.tar.zst: 0:0 -> 34:34`);
    expect(ts.stdout).toContain('[INFO] Directory not found: <BASE>/absent');
    expect(ts.stdout).toContain('[INFO] Would remove leftover of an interrupted run: <BASE>/tmp/proxmox-backup-run.dead');
    expect(ts.stdout.at(-1)).toMatch(/^\[SUCCESS\] Permissions fixed: \d+ change\(s\)$/);
  });

  it('the real run: the same lines and the same modes and owners, entry by entry; a second run changes nothing', async () => {
    const { ts, a, b } = await both([]);
    expect(ts.exitCode).toBe(0);
    const after = snapshot(b);
    const expected: Record<string, string> = {
      '.': 'd 0755 0:0', '/env': 'd 0700 0:0', '/env/backup.env': 'f 0600 0:0', '/config': 'd 0700 0:0',
      '/config/.server_identity': 'f 0600 0:0', '/VERSION': 'f 0640 0:0', '/flags.json': 'f 0640 0:0',
      '/legacy/lib/exit.sh': 'f 0640 0:0', '/legacy/lib/log.sh': 'f 0640 0:0', '/legacy/bin/fix-permissions': 'f 0750 0:0',
      '/native/cli': 'd 0750 0:0', '/native/tool': 'f 0750 0:0', '/dist/native/a.js': 'f 0640 0:0',
      '/native/sub/node_modules/dep.js': 'f 0666 0:0', '/node_modules/pkg': 'd 2755 0:0',
      '/node_modules/pkg/index.js': 'f 0644 1000:1000', '/node_modules/pkg/run': 'f 0755 0:0',
      '/legacy/fifo': 'o 0666 0:0', '/outside.txt': 'f 0666 0:0', '/legacy/odd\nname': 'f 0640 0:0',
      '/backup': 'd 0750 34:34', [`/backup/pve-backup-${FQDN}-${TS}.tar.zst`]: 'f 0600 34:34',
      [`/backup/pve-backup-${FQDN}-${TS}.tar.zst.sha256`]: 'f 0640 34:34',
      [`/backup/pve-backup-${FQDN}-${TS}.tar.zst.metadata`]: 'f 0640 34:34',
      [`/backup/pbs-backup-${FQDN}-${TS}.tar.xz.age`]: 'f 0600 34:34', [`/backup/dual-backup-${FQDN}-${TS}.tar`]: 'f 0600 34:34',
      [`/backup/unknown-backup-${FQDN}-${TS}.tar.gz.sha256`]: 'f 0640 34:34',
      [`/backup/pve-backup-${FQDN}-${TS}.tar.zst.tmp`]: 'f 0666 0:0', [`/backup/pve-backup-other.example-${TS}.tar.zst`]: 'f 0666 0:0',
      [`/backup/pve-backup-${FQDN}-garbage.tar.zst`]: 'f 0666 0:0', '/backup/notes.txt': 'f 0666 0:0',
      [`/backup/pve-backup-${FQDN}-2026-03-12_02-00-00.tar`]: 'd 0777 0:0',
      '/log': 'd 0750 34:34', [`/log/pve-backup-${FQDN}-${TS}.log`]: 'f 0640 34:34', [`/log/pbs-backup-${FQDN}-${TS}.log.json`]: 'f 0640 34:34',
      [`/log/dual-backup-${FQDN}-${TS}.json`]: 'f 0640 34:34', [`/log/unknown-backup-${FQDN}-${TS}.log.jsonl`]: 'f 0640 34:34',
      [`/log/pve-backup-other.example-${TS}.log`]: 'f 0666 0:0',
      '/secondary': 'd 0750 34:34', [`/secondary/pve-backup-${FQDN}-${TS}.tar.zst`]: 'f 0600 34:34',
      [`/secondary/pbs-backup-other.example-${TS}.tar.zst`]: 'f 0666 0:0',
    };
    for (const [rel, want] of Object.entries(expected)) expect(entryOf(after, rel), rel).toBe(`${rel} ${want}`);
    expect(ts.stdout).toContain('[INFO] Changed mode of <BASE>/legacy/bad-\\xff\\n: 0666 -> 0640');
    expect(ts.stdout[0]).toBe('[INFO] Removed leftover of an interrupted run: <BASE>/tmp/proxmox-backup-run.dead');
    expect(entryOf(after, '/tmp/proxmox-backup-run.dead')).toBeUndefined();
    expect(ts.stdout.some((l) => /link|outside|fifo|other\.example|garbage|notes|\.tmp|03-11|03-12|sub\/node_modules/.test(l))).toBe(false);
    const again = { bash: await side('bash', a, []), ts: await side('ts', b, []) };
    expect(again.ts.stdout).toEqual(again.bash.stdout);
    expect(again.ts.stdout.filter((l) => l.includes('Changed'))).toEqual([]);
    expect(again.ts.stdout.at(-1)).toBe('[SUCCESS] Permissions fixed: 0 change(s)');
  });

  it('a protected directory (F4), a read-only backup dir (F5) and a read-only root (F2), in a mount namespace', async () => {
    // Per side, a private mount namespace: a tmpfs on /media (protected) holding this host's log and another
    // host's; BASE/secondary and BASE/shims bind-mounted read-only. Nothing of it is visible outside.
    const script = [
      'set -e', 'mount -t tmpfs -o mode=0755 pbk-fixperm /media',
      `printf x > /media/pve-backup-${FQDN}-${TS}.log`, `chmod 0666 /media/pve-backup-${FQDN}-${TS}.log`,
      `printf x > /media/pve-backup-other.example-${TS}.log`, `chmod 0666 /media/pve-backup-other.example-${TS}.log`,
      'for d in secondary shims; do mount --bind "$BASE_DIR/$d" "$BASE_DIR/$d"; mount -o remount,bind,ro "$BASE_DIR/$d"; done',
      'set +e', '"$@"', 'status=$?', 'stat -c "%n %a %u:%g" /media /media/* > "$BASE_DIR/media.txt"', 'exit "$status"',
    ].join('\n');
    const wrap = ['unshare', '-m', '--propagation', 'private', 'bash', '-c', script, 'namespace'];
    const { ts, a, b } = await both([], { LOCAL_LOG_PATH: '/media' }, wrap);
    expect(ts.exitCode).toBe(1);
    expect(ts.stdout).toContain('[INFO] Protected system directory left unchanged: /media');
    expect(ts.stdout).toContain(`[INFO] Changed mode of /media/pve-backup-${FQDN}-${TS}.log: 0666 -> 0640`);
    expect(ts.stdout).toContain('[INFO] Ownership not supported on <BASE>/secondary; left unchanged');
    expect(ts.stdout).toContain('[WARNING] Cannot change mode of <BASE>/shims: Read-only file system');
    expect(ts.stdout.at(-1)).toMatch(/^\[WARNING\] Permissions fixed with \d+ problem\(s\): \d+ change\(s\)$/);
    const media = readFileSync(join(b, 'media.txt'), 'utf8');
    expect(media).toBe(readFileSync(join(a, 'media.txt'), 'utf8'));
    expect(media).toBe(`/media 755 0:0\n/media/pve-backup-other.example-${TS}.log 666 0:0\n/media/pve-backup-${FQDN}-${TS}.log 640 34:34\n`);
  });

  it('the backup user missing (F7) and the step off (F8)', async () => {
    expect((await both(['--dry-run'], { BACKUP_USER: 'pbk-no-such-user' })).ts.stdout)
      .toContain("[WARNING] Backup user 'pbk-no-such-user' or group 'backup' not found; backup and log paths left unchanged");
    const off = await both(['--dry-run', '-v'], { SET_BACKUP_PERMISSIONS: 'false' });
    expect(off.ts.stdout).toContain('[SKIP] Backup and log path permissions not managed (SET_BACKUP_PERMISSIONS=false)');
    expect(off.ts.exitCode).toBe(0);
  });

  it('not root: modes only (F3) with a fixture root; refused with SYSTEM_ROOT_PREFIX=/', async () => {
    const nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
    const prefix = { SYSTEM_ROOT_PREFIX: join(REPO, 'parity', 'hosts', 'pve-single', 'root') };
    const a = install(prefix);
    const b = install(prefix);
    for (const base of [a, b]) execaSync('chown', ['-R', '65534:65534', base]);
    for (const base of [a, b]) {
      chownSync(join(base, 'legacy', 'lib', 'log.sh'), 1000, 1000);                          // not ours: F2 (R1)
      chownSync(join(base, 'log', `dual-backup-${FQDN}-${TS}.json`), 1000, 1000);            // not ours: F5 (R2)
    }
    const bash = await side('bash', a, [], nobody);
    const ts = await side('ts', b, [], nobody);
    expect(ts).toEqual(bash);
    expect(snapshot(b)).toEqual(snapshot(a));
    expect(ts.stdout).toContain('[INFO] Not running as root: ownership left unchanged');
    expect(ts.stdout).toContain('[WARNING] Cannot change mode of <BASE>/legacy/lib/log.sh: Operation not permitted');
    expect(ts.stdout).toContain('[INFO] Ownership not supported on <BASE>/log; left unchanged');
    expect(ts.stdout.some((l) => l.includes('owner of'))).toBe(false);
    expect(ts.exitCode).toBe(1);
    expect(entryOf(snapshot(b), '/legacy/lib/exit.sh')).toBe('/legacy/lib/exit.sh f 0640 65534:65534');
    const c = install();
    execaSync('chown', ['-R', '65534:65534', c]);
    const refused = { bash: await side('bash', c, [], nobody), ts: await side('ts', c, [], nobody) };
    expect(refused.ts).toEqual(refused.bash);
    expect(refused.ts).toEqual({ exitCode: 2, stdout: [], stderr: 'ERROR: This tool must run as root' });
  });

  it('the run lock held by another process: the same ERROR, exit 2, nothing changed', async () => {
    const holders: { base: string; pid: number }[] = [];
    const results: Result[] = [];
    const before: string[][] = [];
    try {
      for (const which of ['bash', 'ts'] as const) {
        const base = install();
        mkdirSync(join(base, 'lock'), { mode: 0o700 });
        const lock = join(base, 'lock', 'proxmox-backup.lock');
        const holder = execa('bash', ['-c', 'exec 9>> "$1"; flock -n 9; printf "pid=%s\\n" "$$" > "$1"; echo locked; exec sleep 600', 'hold', lock]);
        await new Promise<void>((resolve) => holder.stdout?.once('data', () => resolve()));
        holders.push({ base, pid: holder.pid ?? 0 });
        holder.catch(() => undefined);
        before.push(snapshot(base));
        results.push(await side(which, base, []));
        expect(snapshot(base)).toEqual(before.at(-1));
      }
    } finally {
      for (const { pid } of holders) process.kill(pid, 'SIGTERM');
    }
    const [bash, ts] = results as [Result, Result];
    expect(bash.stdout).toEqual([`[ERROR] Another backup run is in progress (PID ${holders[0]?.pid})`]);
    expect(ts.stdout).toEqual([`[ERROR] Another backup run is in progress (PID ${holders[1]?.pid})`]);
    expect([ts.exitCode, bash.exitCode]).toEqual([2, 2]);
  });

  it('usage: unknown option, a missing file, --help', async () => {
    const base = install();
    for (const args of [['--bogus'], ['--config'], ['--help'], ['--dry-run', '-h']]) {
      const bash = await side('bash', base, args);
      const ts = await side('ts', base, args);
      expect(ts, args.join(' ')).toEqual(bash);
    }
    const help = await side('ts', base, ['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout[0]).toBe('Usage: fix-permissions [--config FILE] [--dry-run] [-v] [-h]');
    expect((await side('ts', base, ['--bogus'])).stderr.split('\n')[0]).toBe('Unknown option: --bogus');
  });

  it('bin/switch-mode runs the native tool when cli is ts', async () => {
    const base = install();
    // The installation's launcher needs the built front end and its modules (links: not walked, not changed).
    symlinkSync(join(REPO, 'dist'), join(base, 'dist-link'));
    rmSync(join(base, 'dist'), { recursive: true });
    renameSync(join(base, 'dist-link'), join(base, 'dist'));
    rmSync(join(base, 'node_modules'), { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(base, 'node_modules'));
    // Proof by absence: without the legacy tool only the native one can answer.
    renameSync(join(base, 'legacy', 'bin', 'fix-permissions'), join(base, 'legacy', 'bin', 'fix-permissions.off'));
    const launcher = join(base, 'bin', 'switch-mode');
    const asBash = await execa(launcher, ['fix-permissions', '--dry-run'], { reject: false, extendEnv: false, env: env(base) });
    expect(asBash.exitCode).not.toBe(0);
    expect(asBash.stdout).not.toContain('Permissions fixed');
    setCliFlag(base, 'ts');
    const asTs = await execa(launcher, ['fix-permissions', '--dry-run'], { reject: false, extendEnv: false, env: env(base) });
    expect(asTs.stdout).toContain(`[INFO] Dry run: would change mode of ${base}/legacy/lib/exit.sh: 0666 -> 0640`);
    expect(asTs.stdout).toMatch(/\[SUCCESS\] Permissions fixed: \d+ change\(s\)\n?$/);
    expect(asTs.exitCode).toBe(0);
    appendFileSync(join(base, 'env', 'backup.env'), 'BACKUP_USER="pbk-no-such-user"\n');
    const warned = await execa(launcher, ['fix-permissions'], { reject: false, extendEnv: false, env: env(base) });
    expect(warned.exitCode).toBe(1);
    expect(lstatSync(join(base, 'legacy', 'lib', 'exit.sh')).mode & 0o7777).toBe(0o640);
  });
});
