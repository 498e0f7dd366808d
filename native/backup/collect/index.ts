// backup_collect (collect.md), the twin of legacy backup_collect: PVE, PBS, system, custom paths — in table order,
// with legacy's lines, counts and staging tree — then the critical-file check, the metadata file, the directory
// attributes and the counts. What differs is how: the commands of every section start up front in a bounded pool
// (commands.ts) and are read in table order; trees are walked and copied in-process.
import { readFileSync } from 'node:fs';
import type { ExitStatus } from '../../core/exit-code.js';
import { fsPath } from '../../core/bytes-path.js';
import { toolVersion } from '../../core/version.js';
import type { NativeStageContext } from '../../core/stage.js';
import { Progress } from '../../core/progress.js';
import { criticalList } from '../verify.js';
import { CommandRunner, runOnce, type CommandResult } from './commands.js';
import { PASS_THROUGH, replayHostCommand } from '../../core/host-record.js';
import { Collector, listDir, lstatOf, statOf } from './collector.js';
import { discoverDatastores } from './datastores.js';
import { collectPbsFiles, pbsCommandSteps } from './pbs.js';
import { collectPveFiles, hasCeph, isCluster, pveCommandSteps, runSteps, stepArgvs, type CommandStep } from './pve.js';
import { collectPbsDatastores, collectPveStorages } from './scan.js';
import {
  clusterCommandSteps, collectCustomPaths, collectRebuildFiles, collectSystemFiles, rebuildCommandSteps, systemCommandSteps, zfsSteps,
} from './system.js';

/** Commands running at once: enough to hide the latency of pvesh/pveum calls, few enough for a busy node. */
const COMMAND_POOL = 8;

async function runPlain(c: Collector, steps: readonly (CommandStep | { skip: string } | { debug: string })[]): Promise<void> {
  for (const step of steps) {
    if ('skip' in step) c.log.skip(step.skip);
    else if ('debug' in step) c.log.debug(step.debug);
    else await c.command(step.what, step.dest, step.severity, step.argv);
  }
}

function argvsOf(c: Collector, steps: readonly (CommandStep | object)[]): (readonly string[])[] {
  return steps.filter((s): s is CommandStep => 'argv' in s).map((s) => s.argv).filter((argv) => c.hasProgram(argv[0] ?? ''));
}

/** backup_critical_ok: present, non-empty, and shaped like its kind (collect.md §9). */
function criticalOk(path: string): boolean {
  const stat = statOf(path);
  if (stat?.isFile() !== true || stat.size === 0) return false;
  let text: string;
  try {
    text = readFileSync(fsPath(path), 'latin1');
  } catch {
    return false;
  }
  if (path.endsWith('.cfg')) return /^[A-Za-z0-9_-]+[ \t\n\r\f\v]*[:=]|^\[.*\]/m.test(text);
  if (path.endsWith('.json')) {
    try {
      JSON.parse(Buffer.from(text, 'latin1').toString('utf8'));
      return true;
    } catch {
      return false;
    }
  }
  return true;
}

function checkCriticalFiles(c: Collector): number {
  let missing = 0;
  for (const rel of criticalList(c, c.staging)) {
    if (c.isBlacklisted(rel.slice(1))) continue;
    if (!criticalOk(c.stagingPath(rel))) {
      missing += 1;
      c.log.warning(`Missing critical file: ${rel}`);
    }
  }
  return missing;
}

interface Counts { files: number; dirs: number; entries: number; bytes: number }

/** backup_count_staged: non-directories (no *.sha256 names), directories, every entry, bytes of regular files. */
function countStaged(c: Collector): Counts {
  const counts: Counts = { files: 0, dirs: 0, entries: 0, bytes: 0 };
  const visit = (path: string, name: string): void => {
    const stat = lstatOf(path);
    if (stat === undefined) return;
    counts.entries += 1;
    if (stat.isDirectory()) {
      counts.dirs += 1;
      for (const child of listDir(path)) visit(`${path}/${child}`, child);
      return;
    }
    if (!name.endsWith('.sha256')) counts.files += 1;
    if (stat.isFile()) counts.bytes += stat.size;
  };
  visit(c.staging, '');
  return counts;
}

/** backup_write_metadata: ./var/lib/proxmox-backup-info/backup_metadata.txt (archive.md §5.2), written last. */
function writeMetadata(c: Collector): boolean {
  const rel = './var/lib/proxmox-backup-info/backup_metadata.txt';
  const files = countStaged(c).files;
  const count = lstatOf(c.stagingPath(rel)) === undefined ? files + 1 : files;
  const type = c.facts.PROXMOX_TYPE;
  const lines = [`VERSION=${toolVersion()}`, `BACKUP_TYPE=${type}`, `TIMESTAMP=${c.facts.RUN_TIMESTAMP}`, `HOSTNAME=${c.facts.HOSTNAME}`,
    'SUPPORTS_SELECTIVE_RESTORE=true', 'BACKUP_FEATURES=selective_restore,category_mapping,version_detection,auto_directory_creation',
    `HOST_TYPE=${type}`, `COMPRESSION=${c.state.get('COMPRESSION_EFFECTIVE')}`, `ENCRYPTED=${String(c.config.ENCRYPT_ARCHIVE)}`, `FILES_INCLUDED=${count}`];
  return c.generated(rel, Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
}

/** With PBK_REPLAY_DIR (shadow, parity on a live host) each command gets the control run's recorded result. */
function replayRunner(env: Readonly<Record<string, string | undefined>>, timeout: number): ((argv: readonly string[]) => Promise<CommandResult>) | undefined {
  const dir = env.PBK_REPLAY_DIR;
  if (dir === undefined || dir === '') return undefined;
  return async (argv) => {
    if (PASS_THROUGH.has(argv[0] ?? '')) return runOnce(argv, timeout, env);
    const result = replayHostCommand(dir, argv);
    return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('latin1') };
  };
}

export async function backupCollect(context: NativeStageContext): Promise<ExitStatus> {
  const { runDir, log, env } = context;
  log.step('Collecting configuration files');
  const timeout = Number(env.PBK_COMMAND_TIMEOUT ?? '') || 60;
  const progress = Progress.forConsole(env);
  const c = new Collector(context, log, new CommandRunner(timeout, env, COMMAND_POOL, replayRunner(env, timeout)), env, runDir.staging, progress);
  if (!c.setup()) return 2;
  const type = c.facts.PROXMOX_TYPE;
  const pve = type === 'pve' || type === 'dual';
  const pbs = type === 'pbs' || type === 'dual';
  // Every command whose need is known now starts in the pool; each is read below in legacy order.
  const ahead: (readonly string[])[] = [];
  if (c.config.AUTO_DETECT_DATASTORES) {
    if (c.hasProgram('proxmox-backup-manager')) ahead.push(['proxmox-backup-manager', 'datastore', 'list', '--output-format=json']);
    if (c.hasProgram('pvesm')) ahead.push(['pvesm', 'status']);
  }
  const ceph = pve && c.config.BACKUP_CEPH_CONFIG && (await hasCeph(c));
  const pveSteps = pve ? pveCommandSteps(c, ceph) : [];
  const pbsSteps = pbs ? pbsCommandSteps() : [];
  const systemSteps = systemCommandSteps(c);
  const zfs = c.config.BACKUP_ZFS_CONFIG ? zfsSteps(c) : [];
  const rebuild = [...rebuildCommandSteps(c), ...(pve && c.config.BACKUP_CLUSTER_CONFIG && (await isCluster(c)) ? clusterCommandSteps() : [])];
  c.commands.prefetch([...ahead, ...stepArgvs(c, pveSteps), ...argvsOf(c, pbsSteps), ...argvsOf(c, systemSteps), ...argvsOf(c, zfs),
    ...argvsOf(c, rebuild)]);

  let ok = true;
  const datastores = await discoverDatastores(c);
  if (pve) {
    ok = (await collectPveFiles(c, ceph)) && ok;
    await runSteps(c, pveSteps);
    collectPveStorages(c, datastores);
  }
  if (pbs) {
    ok = collectPbsFiles(c) && ok;
    await runPlain(c, pbsSteps);
    collectPbsDatastores(c, datastores);
  }
  ok = collectSystemFiles(c) && ok;
  await runPlain(c, systemSteps);
  if (c.switchOn('BACKUP_ZFS_CONFIG', 'ZFS configuration backup disabled')) {
    ok = c.tree('/etc/zfs', './etc/zfs', 'ZFS configuration', 'skip') && ok;
    await runPlain(c, zfs);
  }
  ok = collectRebuildFiles(c) && ok;
  await runPlain(c, rebuild);
  ok = collectCustomPaths(c) && ok;
  progress.done();
  if (!ok) return 2;
  log.info(`Collection finished: ${c.ok} collected, ${c.failed} failed, ${c.skipped} skipped`);
  const missing = checkCriticalFiles(c);
  if (!writeMetadata(c)) {
    log.error('Failed to write backup metadata');
    return 2;
  }
  c.finishDirs();
  const counts = countStaged(c);
  const state: [string, number][] = [['COLLECT_ITEMS_OK', c.ok], ['COLLECT_ITEMS_FAILED', c.failed], ['COLLECT_ITEMS_SKIPPED', c.skipped],
    ['FILE_MISSING', missing], ['FILES_INCLUDED', counts.files], ['DIRS_INCLUDED', counts.dirs], ['UNCOMPRESSED_SIZE', counts.bytes],
    ['STAGED_ENTRIES', counts.entries]];
  for (const [key, value] of state) runDir.setState(key, String(value));
  return c.failed === 0 && missing === 0 ? 0 : 1;
}
