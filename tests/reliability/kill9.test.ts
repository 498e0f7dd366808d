// kill -9 at several points of a run with the local and secondary tiers on (issue 14, "Deliver"), on both sides:
// nothing partial under a final name, the next run removes the leftovers (one INFO line each) and succeeds,
// retention intact. Fast variant here (3 points per side); PBK_KILL9_LONG=1 (the nightly job) kills at 15.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';
import { describe, expect, it } from 'vitest';
import { hostEnv, logOf, makeSandbox, REPO, type Sandbox } from '../legacy/run.js';

const LONG = process.env.PBK_KILL9_LONG === '1';
const ARCHIVE = /^pve-backup-.*\.tar\.zst$/;
type Side = 'bash' | 'ts';

function start(side: Side, sandbox: Sandbox, now: string): ResultPromise {
  const argv = side === 'bash'
    ? [join(REPO, 'legacy', 'bin', 'proxmox-backup')]
    : [join(REPO, 'bin', 'switch-mode'), 'run-backup', '--flag', 'orchestrator=ts', '--flag', 'backup=ts'];
  return execa(argv[0] ?? '', argv.slice(1), {
    env: hostEnv('pve-cluster', sandbox, { PBK_NOW: now, PBK_COMMAND_TIMEOUT: '5' }), extendEnv: false, reject: false,
    detached: true, timeout: 240_000,
  });
}

const list = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);
const tiers = (sandbox: Sandbox): string[] => [sandbox.backupDir, join(sandbox.baseDir, 'secondary')];

/** Kill points: a predicate on the sandbox, polled until it holds. */
const POINTS: Record<string, (sandbox: Sandbox) => boolean> = {
  'lock taken': (s) => existsSync(join(s.baseDir, 'lock', 'proxmox-backup.lock')) && readFileSync(join(s.baseDir, 'lock', 'proxmox-backup.lock'), 'utf8').startsWith('pid='),
  'collecting': (s) => list(join(s.baseDir, 'tmp')).some((d) => d.startsWith('proxmox-backup-run.') && existsSync(join(s.baseDir, 'tmp', d, 'staging', 'etc'))),
  'archive being written': (s) => list(s.backupDir).some((n) => n.endsWith('.tar.zst.tmp')),
  'archive final, storage next': (s) => list(s.backupDir).some((n) => ARCHIVE.test(n)),
  'secondary copy': (s) => list(join(s.baseDir, 'secondary')).some((n) => n.endsWith('.tmp') || ARCHIVE.test(n)),
};
const FAST = ['collecting', 'archive being written', 'archive final, storage next'];
const delays = LONG ? [0, 150, 400, 800, 1500, 2500, 4000, 6000] : [];

async function killAt(run: ResultPromise, sandbox: Sandbox, point: (s: Sandbox) => boolean, delayMs: number): Promise<boolean> {
  const running = (): boolean => run.exitCode === null && run.signalCode === null;
  for (let i = 0; i < 4000 && running() && !point(sandbox); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  const alive = run.pid !== undefined && running();
  if (alive) process.kill(-(run.pid ?? 0), 'SIGKILL');
  await run;
  return alive;
}

/** Every archive under a final name reads to the end, and its final .sha256 (if any) matches. */
function finalNamesWhole(sandbox: Sandbox): void {
  for (const dir of tiers(sandbox)) {
    for (const name of list(dir).filter((n) => ARCHIVE.test(n))) {
      const path = join(dir, name);
      expect(execaSync('tar', ['-I', 'zstd', '-tf', path], { reject: false }).exitCode, `${path} reads`).toBe(0);
      if (existsSync(`${path}.sha256`)) {
        const sum = execaSync('sha256sum', [path]).stdout.split(' ')[0];
        expect(readFileSync(`${path}.sha256`, 'utf8').split(' ')[0], `${path}.sha256 matches`).toBe(sum);
      }
    }
  }
}

function leftovers(sandbox: Sandbox): string[] {
  const tmp = list(join(sandbox.baseDir, 'tmp')).filter((n) => n.startsWith('proxmox-backup-run.')).map((n) => join(sandbox.baseDir, 'tmp', n));
  const dirs = [...tiers(sandbox), sandbox.logDir, join(sandbox.baseDir, 'secondary-log')];
  return [...tmp, ...dirs.flatMap((dir) => list(dir).filter((n) => n.endsWith('.tmp')).map((n) => join(dir, n)))];
}

const cases: [Side, string, number][] = [];
for (const side of ['bash', 'ts'] as const) {
  for (const point of LONG ? Object.keys(POINTS) : FAST) {
    for (const delay of LONG ? delays.slice(0, 3) : [0]) cases.push([side, point, delay]);
  }
}

describe('kill -9 mid-run, then the next run', () => {
  it.each(cases)('%s: killed at "%s" (+%i ms)', async (side, point, delay) => {
    const sandbox = makeSandbox({
      ENABLE_SECONDARY_BACKUP: 'true', SECONDARY_BACKUP_PATH: '${BASE_DIR}/secondary', SECONDARY_LOG_PATH: '${BASE_DIR}/secondary-log',
      MAX_LOCAL_BACKUPS: '1', MAX_SECONDARY_BACKUPS: '1',
    });
    const killed = await killAt(start(side, sandbox, '1732500000'), sandbox, POINTS[point] ?? (() => true), delay);
    if (!LONG) expect(killed, 'the run was still going at the kill point').toBe(true);
    finalNamesWhole(sandbox);
    const left = leftovers(sandbox);
    // An archive under its final name without its .sha256 (killed between the rename and the checksum) is an
    // unverified set (decision 22): the next run keeps it, names it in a WARNING, and retention does not count it.
    const unverified = tiers(sandbox).flatMap((dir) => list(dir).filter((n) => ARCHIVE.test(n) && !existsSync(join(dir, `${n}.sha256`)))
      .map((n) => ({ dir, name: n })));
    const next = await start(side, sandbox, '1732586400');
    expect(next.exitCode, String(next.stdout)).toBeLessThan(2);
    const log = `${String(next.stdout)}\n${logOf(sandbox)}`;
    for (const path of left) expect(log).toContain(`[INFO] Removed leftover of an interrupted run: ${path}`);
    expect(leftovers(sandbox)).toEqual([]);
    finalNamesWhole(sandbox);
    // retention (1 per tier) intact: the new archive with its sidecars on each tier, beside it only the unverified
    // sets the kill left, each named in a WARNING
    const fresh = 'pve-backup-pve1.cluster.lab.example-2024-11-26_02-00-00.tar.zst';
    for (const dir of tiers(sandbox)) {
      const held = unverified.filter((u) => u.dir === dir).map((u) => u.name);
      expect(list(dir).filter((n) => ARCHIVE.test(n))).toEqual([...held, fresh].sort());
      expect(existsSync(join(dir, `${fresh}.sha256`))).toBe(true);
      for (const name of held) expect(log).toContain(`[WARNING] Unverified backup ${name} in `);
    }
  }, 600_000);
});
