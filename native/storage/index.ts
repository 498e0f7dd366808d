// The storage domain (storage.md), the twin of legacy/lib/storage.sh: storage_check_tiers (phase 8), storage_run
// (phase 12: secondary copy, cloud upload and verification, retention, consistency, disk usage, permissions) and
// storage_logs (phase 15). Same state keys, lines and files as legacy; decisions are pure (rotation.ts,
// retention.ts, permissions.ts), file and rclone work at the edge (tier-fs.ts, cloud.ts, permissions-fs.ts).
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { esc } from '../core/esc.js';
import type { ExitStatus } from '../core/exit-code.js';
import { basename } from 'node:path';
import { hasProgram, isDirectory } from '../core/programs.js';
import type { NativeStage, NativeStageContext, StageName } from '../core/stage.js';
import { Cloud, storageReason } from './cloud.js';
import { getentId, isRealDirectory, PermissionFixer } from './permissions-fs.js';
import type { Owner } from './permissions.js';
import type { GfsCounts, RetentionKind } from './retention.js';
import { orphanedSidecars, planRotation, type TierName } from './rotation.js';
import { changeMode, copyIntoTier, deleteSet, makeDirs, readText, regularFiles, sha256File, usePercent } from './tier-fs.js';

const CLOUD_DELETE_BATCH = 50;

/**
 * What the storage stages of one run share: the typed configuration and run facts, state keys with this stage's
 * writes (and storage_defaults' assumptions) on top, the warning flag.
 */
class Storage {
  warned = false;
  private readonly assumed = new Map<string, string>();
  private cloudTier: Cloud | undefined;

  constructor(readonly context: NativeStageContext) {}

  get config(): NativeStageContext['config'] {
    return this.context.config;
  }

  get facts(): NativeStageContext['facts'] {
    return this.context.facts;
  }

  /** A state key (TIER_…, STATUS_…, BACKUP_FILE): state.env with this stage's writes, then its assumptions. */
  get(key: string): string {
    return this.context.state.get(key) || (this.assumed.get(key) ?? '');
  }

  /** A value legacy reads as `${KEY:=default}` (storage_defaults). */
  getOr(key: string, fallback: string): string {
    const value = this.get(key);
    return value === '' ? fallback : value;
  }

  set(key: string, value: string): void {
    this.context.state.set(key, value);
  }

  /** `${KEY:=VALUE}`: VALUE when KEY is empty, for this stage only. */
  assume(key: string, value: string): void {
    if (this.get(key) === '') this.assumed.set(key, value);
  }

  warn(message: string): void {
    this.context.log.warning(message);
    this.warned = true;
  }

  get log(): NativeStageContext['log'] {
    return this.context.log;
  }

  get cloud(): Cloud {
    this.cloudTier ??= new Cloud({
      remote: this.config.RCLONE_REMOTE, flags: this.config.RCLONE_FLAGS, bandwidthLimit: this.config.RCLONE_BANDWIDTH_LIMIT,
      env: this.context.env, shadow: this.context.shadow === true, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    });
    return this.cloudTier;
  }

  get backupFile(): string {
    return this.get('BACKUP_FILE');
  }

  /** This run's log file (phase 6): in shadow the real one, which the candidate reads but never writes. */
  get logFile(): string {
    return this.context.shadow === true ? this.get('SHADOW_LOG_FILE') : this.facts.LOG_FILE;
  }

  /** The archive's name, '' when the run made none. */
  get archiveName(): string {
    return basename(this.backupFile);
  }

  get gfs(): GfsCounts {
    return { daily: this.config.RETENTION_DAILY, weekly: this.config.RETENTION_WEEKLY, monthly: this.config.RETENTION_MONTHLY, yearly: this.config.RETENTION_YEARLY };
  }

  /** The archive and its sidecars in copy and upload order: sidecars first, the archive last. */
  setNames(): string[] {
    const name = this.archiveName;
    return [`${name}.sha256`, `${name}.metadata`, name];
  }
}

// ---- phase 8 ----

function checkSecondary(s: Storage): void {
  // In shadow the candidate's tiers are scratch copies: whether the real secondary can be written is what counts.
  let dir = realPath(s, 'SECONDARY_BACKUP_PATH');
  while (!existsSync(dir) && /^\/.*\//s.test(dir)) dir = dir.slice(0, dir.lastIndexOf('/'));
  let writable = isDirectory(dir);
  try {
    if (writable) accessSync(dir, constants.W_OK);
  } catch {
    writable = false;
  }
  if (!writable) {
    s.log.warning(`Secondary storage not writable: ${esc(dir)}; secondary tier disabled for this run`);
    s.set('STATUS_SECONDARY', 'error');
    return;
  }
  s.set('TIER_SECONDARY', 'on');
}

async function checkCloud(s: Storage): Promise<void> {
  if (!hasProgram('rclone', s.context.env.PATH ?? '')) {
    s.log.warning('Required tool not found: rclone (ENABLE_CLOUD_BACKUP=true); cloud tier disabled for this run');
    s.set('STATUS_CLOUD', 'error');
    return;
  }
  if (!await s.cloud.reachable(s.config.CLOUD_CONNECTIVITY_TIMEOUT, s.config.CLOUD_BACKUP_PATH)) {
    s.log.warning(`Cloud remote ${esc(s.config.RCLONE_REMOTE)} unreachable: ${storageReason(s.cloud.lastError)}; cloud tier disabled for this run`);
    s.set('STATUS_CLOUD', 'error');
    return;
  }
  s.set('TIER_CLOUD', 'on');
}

export async function storageCheckTiers(context: NativeStageContext): Promise<ExitStatus> {
  const s = new Storage(context);
  s.set('TIER_SECONDARY', 'off');
  s.set('TIER_CLOUD', 'off');
  s.set('STATUS_SECONDARY', 'disabled');
  s.set('STATUS_CLOUD', 'disabled');
  if (s.config.ENABLE_SECONDARY_BACKUP) checkSecondary(s);
  if (s.config.ENABLE_CLOUD_BACKUP) await checkCloud(s);
  return 0;
}

// ---- phase 12 ----

/** tiers.primary.status of notify.md §2.1. */
function primaryStatus(s: Storage): string {
  if (s.facts.DRY_RUN || s.facts.CHECK_ONLY) return 'skipped';
  const archive = s.getOr('STATUS_ARCHIVE', '2');
  const verify = s.getOr('STATUS_VERIFY', '2');
  if (archive === '2' || verify === '2') return 'error';
  return verify === '1' ? 'warning' : 'ok';
}

/** A copied or uploaded set that failed: the tier's set removed quietly (storage_delete_local_set … quiet). */
function dropSecondarySet(s: Storage, reason: string): void {
  deleteSet(s.config.SECONDARY_BACKUP_PATH, s.archiveName);
  s.warn(`Secondary copy failed for ${s.archiveName}: ${reason}`);
  s.set('STATUS_SECONDARY', 'error');
}

/** Whether a tier's phase-12 step runs: its SKIP line when the tier is off by configuration, nothing when phase 8
 * turned it off, its STEP line when it runs. */
function tierStep(s: Storage, tier: 'SECONDARY' | 'CLOUD', skip: string, step: string): boolean {
  if (!(tier === 'SECONDARY' ? s.config.ENABLE_SECONDARY_BACKUP : s.config.ENABLE_CLOUD_BACKUP)) {
    s.log.skip(skip);
    return false;
  }
  if (s.getOr(`TIER_${tier}`, 'off') !== 'on') return false;
  s.log.step(step);
  return true;
}

async function secondaryCopy(s: Storage): Promise<void> {
  if (!tierStep(s, 'SECONDARY', 'Secondary backup disabled', 'Storage: secondary copy')) return;
  const dir = s.config.SECONDARY_BACKUP_PATH;
  const local = s.config.LOCAL_BACKUP_PATH;
  const name = s.archiveName;
  const madeError = makeDirs(dir, s.context.env) ?? changeMode(dir, 0o700);
  if (madeError !== undefined) {
    s.warn(`Secondary copy failed for ${name}: ${storageReason(madeError)}`);
    s.set('STATUS_SECONDARY', 'error');
    return;
  }
  for (const file of s.setNames()) {
    const copyError = await copyIntoTier(`${local}/${file}`, dir);
    if (copyError !== undefined) {
      dropSecondarySet(s, storageReason(copyError));
      return;
    }
  }
  const expected = readText(`${s.backupFile}.sha256`).split(' ', 1)[0] ?? '';
  const actual = await sha256File(`${dir}/${name}`) ?? '';
  if (expected !== actual) {
    dropSecondarySet(s, 'checksum mismatch after copy');
    return;
  }
  s.set('STATUS_SECONDARY', 'ok');
  s.log.success(`Backup copied to secondary storage: ${esc(`${dir}/${name}`)}`);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function cloudUpload(s: Storage): Promise<void> {
  if (!tierStep(s, 'CLOUD', 'Cloud backup disabled', 'Storage: cloud upload')) return;
  const remote = s.cloud.spec(s.config.CLOUD_BACKUP_PATH);
  const local = s.config.LOCAL_BACKUP_PATH;
  let bytes = 0;
  for (const file of s.setNames()) {
    if (!await s.cloud.upload(s.config.CLOUD_LIST_TIMEOUT, s.config.CLOUD_PARALLEL_UPLOAD_TIMEOUT, `${local}/${file}`, remote)) {
      s.warn(`Cloud upload failed for ${file}: ${storageReason(s.cloud.lastError)}`);
      s.set('STATUS_CLOUD', 'error');
      return;
    }
    bytes += fileSize(`${local}/${file}`);
  }
  s.set('CLOUD_UPLOADED_BYTES', String(bytes));
  s.log.success(`Backup uploaded to cloud: ${remote}/${s.archiveName}`);
  if (!await cloudVerify(s, remote)) return;
  s.set('STATUS_CLOUD', 'ok');
}

async function cloudVerifyFailed(s: Storage, remote: string, reason: string): Promise<false> {
  s.warn(`Cloud verification failed for ${s.archiveName}: ${reason}`);
  await s.cloud.deleteSets(s.config.CLOUD_LIST_TIMEOUT, remote, [s.archiveName]);
  s.set('STATUS_CLOUD', 'error');
  return false;
}

/** storage.md §3.3: each file listed with the local size, and the local SHA-256 when the backend has one. */
async function cloudVerify(s: Storage, remote: string): Promise<boolean> {
  if (s.config.SKIP_CLOUD_VERIFICATION) {
    s.log.skip('Cloud verification skipped');
    return true;
  }
  const listed = await s.cloud.listWithHashes(s.config.CLOUD_LIST_TIMEOUT, remote, s.archiveName);
  if (listed === undefined) return cloudVerifyFailed(s, remote, storageReason(s.cloud.lastError));
  const local = s.config.LOCAL_BACKUP_PATH;
  let bySize = false;
  for (const file of s.setNames()) {
    const entry = listed.get(file);
    const size = entry?.size ?? '';
    if (size !== String(fileSize(`${local}/${file}`))) return cloudVerifyFailed(s, remote, `${file} listed with size ${size || 'none'}`);
    if (entry === undefined || entry.sha256 === '') {
      bySize = true;
      continue;
    }
    if (entry.sha256 !== await sha256File(`${local}/${file}`)) return cloudVerifyFailed(s, remote, `${file} has a different SHA-256`);
  }
  if (bySize) s.log.info('Cloud backend has no SHA-256; verified by size');
  s.log.success('Cloud upload verified (3 files)');
  return true;
}

interface Rotation {
  readonly tier: TierName;
  readonly kind: RetentionKind;
  readonly max: number;
}

function currentOf(s: Storage, kind: RetentionKind): string {
  return kind === 'backup' ? s.archiveName : basename(s.logFile);
}

/** The rotation's lines before any deletion: unverified sets, the header, GFS's keep lines. */
function planAndAnnounce(s: Storage, rotation: Rotation, names: readonly string[], current: string): ReturnType<typeof planRotation> {
  const plan = planRotation({
    tier: rotation.tier, kind: rotation.kind, names, current, max: rotation.max, gfs: s.gfs,
    type: s.facts.PROXMOX_TYPE, fqdn: s.facts.HOSTNAME,
  });
  for (const line of plan.unverified) s.warn(line);
  s.log.info(plan.header);
  for (const line of plan.keepDebug) s.log.debug(line);
  return plan;
}

/** storage_rotate_local (storage.md §4, §5, §9). */
function rotateLocal(s: Storage, rotation: Rotation, dir: string): void {
  const dryRun = s.facts.DRY_RUN;
  let current = currentOf(s, rotation.kind);
  const names = regularFiles(dir);
  if (dryRun && rotation.kind === 'backup') {
    // The archive this run would make counts as the newest: the lines say what a real run would delete.
    current = `${s.facts.PROXMOX_TYPE}-backup-${s.facts.HOSTNAME}-${s.facts.RUN_TIMESTAMP}.tar`;
    names.push(current);
  }
  const plan = planAndAnnounce(s, rotation, names, current);
  let deleted = 0;
  for (const name of plan.deletions) {
    if (dryRun) {
      s.log.info(`Dry run: would delete ${name}`);
      continue;
    }
    const failure = deleteSet(dir, name);
    if (failure !== undefined) {
      s.warn(`Deletion failed for ${failure.part}: ${storageReason(failure.reason)}`);
      continue;
    }
    s.log.info(`Deleted ${name}`);
    deleted += 1;
  }
  if (dryRun) return;
  const upper = rotation.tier.toUpperCase();
  if (rotation.kind === 'backup') {
    removeOrphans(s, dir);
    s.set(`${upper}_BACKUP_COUNT`, String(plan.count - deleted));
    s.set(`${upper}_BACKUPS_DELETED`, String(deleted));
  } else {
    s.set(`${upper}_LOG_COUNT`, String(plan.count - deleted));
  }
}

function removeOrphans(s: Storage, dir: string): void {
  const orphans = orphanedSidecars(regularFiles(dir), s.facts.PROXMOX_TYPE, s.facts.HOSTNAME, (name) => existsSync(`${dir}/${name}`));
  for (const file of orphans) {
    if (deleteSet(dir, file) === undefined) s.log.info(`Removed orphaned ${file}`);
  }
}

/** storage_rotate_cloud (storage.md §4 item 7): like rotateLocal, one rclone delete per 50 sets. */
async function rotateCloud(s: Storage, rotation: Rotation, remote: string): Promise<void> {
  const limit = s.config.CLOUD_LIST_TIMEOUT;
  const names = await s.cloud.list(limit, remote);
  if (names === undefined) {
    s.warn(`Cloud listing failed: ${storageReason(s.cloud.lastError)}`);
    return;
  }
  const plan = planAndAnnounce(s, rotation, names, currentOf(s, rotation.kind));
  let deleted = 0;
  for (let i = 0; i < plan.deletions.length; i += CLOUD_DELETE_BATCH) {
    const batch = plan.deletions.slice(i, i + CLOUD_DELETE_BATCH);
    if (await s.cloud.deleteSets(limit, remote, batch)) {
      for (const name of batch) s.log.info(`Deleted ${name}`);
      deleted += batch.length;
    } else {
      const reason = storageReason(s.cloud.lastError);
      for (const name of batch) s.warn(`Deletion failed for ${name}: ${reason}`);
    }
  }
  if (rotation.kind === 'backup') {
    s.set('CLOUD_BACKUP_COUNT', String(plan.count - deleted));
    s.set('CLOUD_BACKUPS_DELETED', String(deleted));
  } else {
    s.set('CLOUD_LOG_COUNT', String(plan.count - deleted));
  }
}

/** storage.md §6: the .sha256 of every tier that received this set equals the primary's. */
async function consistency(s: Storage): Promise<void> {
  const name = s.archiveName;
  const primary = readText(`${s.backupFile}.sha256`);
  let tiers = 1;
  if (s.get('STATUS_SECONDARY') === 'ok') {
    const dir = s.config.SECONDARY_BACKUP_PATH;
    const copy = readText(`${dir}/${name}.sha256`);
    if (copy !== primary || (await sha256File(`${dir}/${name}`) ?? '') !== primary.split(' ', 1)[0]) {
      s.warn(`Checksum mismatch between primary and secondary for ${name}`);
    }
    tiers += 1;
  }
  if (s.get('STATUS_CLOUD') === 'ok') {
    const copy = await s.cloud.cat(s.config.CONSISTENCY_TIMEOUT, `${s.cloud.spec(s.config.CLOUD_BACKUP_PATH)}/${name}.sha256`);
    if (copy !== primary) s.warn(`Checksum mismatch between primary and cloud for ${name}`);
    tiers += 1;
  }
  if (!s.warned) s.log.success(`Backup consistent across ${tiers} tier(s)`);
}

/** Dry-run or a failed primary: nothing copied, uploaded or deleted; tiers that are on: skipped. */
function storageNotRun(s: Storage): void {
  for (const tier of ['SECONDARY', 'CLOUD']) {
    if (s.get(`TIER_${tier}`) === 'on') s.set(`STATUS_${tier}`, 'skipped');
  }
  if (!s.facts.DRY_RUN) return;
  if (s.get('TIER_SECONDARY') === 'on') s.log.info(`Dry run: would copy the archive to secondary storage: ${esc(s.config.SECONDARY_BACKUP_PATH)}`);
  if (s.get('TIER_CLOUD') === 'on') s.log.info(`Dry run: would upload the archive to cloud: ${esc(s.cloud.spec(s.config.CLOUD_BACKUP_PATH))}`);
  rotateLocal(s, { tier: 'primary', kind: 'backup', max: s.config.MAX_LOCAL_BACKUPS }, s.config.LOCAL_BACKUP_PATH);
}

/** The local paths whose free space is judged: the real ones in a shadow run (the outputs go to a scratch copy). */
function realPath(s: Storage, key: 'LOCAL_BACKUP_PATH' | 'SECONDARY_BACKUP_PATH'): string {
  return (s.context.shadow === true && s.context.shadowOriginal(key)) || s.config[key];
}

function diskUsage(s: Storage): void {
  const check = (tier: string, key: 'LOCAL_BACKUP_PATH' | 'SECONDARY_BACKUP_PATH', threshold: number): void => {
    const dir = realPath(s, key);
    if (!isDirectory(dir)) return;
    const used = usePercent(dir);
    if (used !== undefined && used > threshold) s.warn(`${tier} storage usage at ${used}% (threshold ${threshold}%)`);
  };
  check('Primary', 'LOCAL_BACKUP_PATH', s.config.STORAGE_WARNING_THRESHOLD_PRIMARY);
  if (s.get('TIER_SECONDARY') === 'on') check('Secondary', 'SECONDARY_BACKUP_PATH', s.config.STORAGE_WARNING_THRESHOLD_SECONDARY);
}

/** The uid/gid BACKUP_USER:BACKUP_GROUP resolve to, or undefined (either unknown). */
async function backupIds(s: Storage): Promise<Owner | undefined> {
  const run = (argv: readonly string[]): ReturnType<NativeStageContext['exec']> => s.context.exec(argv, { timeoutMs: 10_000 });
  const uid = await getentId('passwd', s.config.BACKUP_USER, run);
  const gid = await getentId('group', s.config.BACKUP_GROUP, run);
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

function isRoot(): boolean {
  return process.geteuid?.() === 0;
}

/** storage.md §8 (security.md §7.3 R2) on the backup and log dirs of the primary and secondary tiers. */
async function permissions(s: Storage): Promise<void> {
  const ids = await backupIds(s);
  if (ids === undefined) {
    s.warn(`Backup user ${esc(s.config.BACKUP_USER)} or group ${esc(s.config.BACKUP_GROUP)} not found; permissions unchanged`);
    return;
  }
  if (!isRoot()) s.log.info('Not running as root: ownership left unchanged');
  const fixer = new PermissionFixer({ info: (m) => s.log.info(m), warning: (m) => s.warn(m) }, false);
  const { LOCAL_BACKUP_PATH, LOCAL_LOG_PATH, SECONDARY_BACKUP_PATH, SECONDARY_LOG_PATH } = s.config;
  const dirs = [LOCAL_BACKUP_PATH, LOCAL_LOG_PATH, ...(s.get('TIER_SECONDARY') === 'on' ? [SECONDARY_BACKUP_PATH, SECONDARY_LOG_PATH] : [])];
  for (const dir of dirs) {
    if (isRealDirectory(dir)) fixer.backupDir(dir, s.facts.HOSTNAME, [s.facts.PROXMOX_TYPE], isRoot() ? ids : null);
  }
}

/** storage_defaults: what a run that stopped early (or a dry-run) has not set, for this stage only (never state). */
function storageDefaults(s: Storage): void {
  for (const [key, value] of [['TIER_SECONDARY', 'off'], ['TIER_CLOUD', 'off'], ['STATUS_SECONDARY', 'disabled'], ['STATUS_CLOUD', 'disabled']] as const) {
    s.assume(key, value);
  }
}

export async function storageRun(context: NativeStageContext): Promise<ExitStatus> {
  const s = new Storage(context);
  storageDefaults(s);
  const primary = primaryStatus(s);
  s.set('STATUS_PRIMARY', primary);
  if (primary === 'ok' || primary === 'warning') {
    await secondaryCopy(s);
    await cloudUpload(s);
    s.log.step('Storage: retention');
    rotateLocal(s, { tier: 'primary', kind: 'backup', max: s.config.MAX_LOCAL_BACKUPS }, s.config.LOCAL_BACKUP_PATH);
    if (s.get('TIER_SECONDARY') === 'on' && s.get('STATUS_SECONDARY') === 'ok') {
      rotateLocal(s, { tier: 'secondary', kind: 'backup', max: s.config.MAX_SECONDARY_BACKUPS }, s.config.SECONDARY_BACKUP_PATH);
    }
    if (s.get('TIER_CLOUD') === 'on' && s.get('STATUS_CLOUD') === 'ok') {
      await rotateCloud(s, { tier: 'cloud', kind: 'backup', max: s.config.MAX_CLOUD_BACKUPS }, s.cloud.spec(s.config.CLOUD_BACKUP_PATH));
    }
    await consistency(s);
  } else {
    storageNotRun(s);
  }
  diskUsage(s);
  if (s.config.SET_BACKUP_PERMISSIONS && !s.facts.DRY_RUN) await permissions(s);
  return s.warned ? 1 : 0;
}

// ---- phase 15 ----

async function secondaryLog(s: Storage, logFile: string): Promise<void> {
  const dir = s.config.SECONDARY_LOG_PATH;
  const copyError = makeDirs(dir, s.context.env) ?? await copyIntoTier(logFile, dir);
  if (copyError !== undefined) {
    s.warn(`Secondary log copy failed for ${basename(logFile)}: ${storageReason(copyError)}`);
    s.set('LOG_SECONDARY', 'error');
    return;
  }
  s.set('LOG_SECONDARY', 'ok');
  rotateLocal(s, { tier: 'secondary', kind: 'log', max: s.config.MAX_SECONDARY_LOGS }, dir);
  if (!s.config.SET_BACKUP_PERMISSIONS) return;
  const ids = await backupIds(s);
  if (ids === undefined) return;
  // The copy made after the permission step: its files, not the directory.
  const fixer = new PermissionFixer({ info: (m) => s.log.info(m), warning: (m) => s.warn(m) }, false);
  if (isRealDirectory(dir)) fixer.backupDir(dir, s.facts.HOSTNAME, [s.facts.PROXMOX_TYPE], isRoot() ? ids : null, true);
}

async function cloudLog(s: Storage, logFile: string): Promise<void> {
  const remote = s.cloud.spec(s.config.CLOUD_LOG_PATH);
  if (!await s.cloud.upload(s.config.CLOUD_LIST_TIMEOUT, s.config.CLOUD_PARALLEL_UPLOAD_TIMEOUT, logFile, remote)) {
    s.warn(`Cloud log upload failed for ${basename(logFile)}: ${storageReason(s.cloud.lastError)}`);
    s.set('LOG_CLOUD', 'error');
    return;
  }
  s.set('LOG_CLOUD', 'ok');
  await rotateCloud(s, { tier: 'cloud', kind: 'log', max: s.config.MAX_CLOUD_LOGS }, remote);
}

export async function storageLogs(context: NativeStageContext): Promise<ExitStatus> {
  const s = new Storage(context);
  storageDefaults(s);
  const logFile = s.logFile;
  s.set('LOG_PRIMARY', logFile !== '' ? 'ok' : 'disabled');
  s.set('LOG_SECONDARY', s.get('TIER_SECONDARY') === 'on' ? 'skipped' : 'disabled');
  s.set('LOG_CLOUD', s.get('TIER_CLOUD') === 'on' ? 'skipped' : 'disabled');
  if (logFile === '' || s.facts.DRY_RUN) return 0;
  s.log.step('Log management');
  if (s.get('TIER_SECONDARY') === 'on') await secondaryLog(s, logFile);
  if (s.get('TIER_CLOUD') === 'on') await cloudLog(s, logFile);
  rotateLocal(s, { tier: 'primary', kind: 'log', max: s.config.MAX_LOCAL_LOGS }, s.config.LOCAL_LOG_PATH);
  return s.warned ? 1 : 0;
}

export const NATIVE_STORAGE_STAGES: Partial<Record<StageName, NativeStage>> = {
  storage_check_tiers: storageCheckTiers,
  storage_run: storageRun,
  storage_logs: storageLogs,
};
