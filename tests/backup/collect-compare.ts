// Legacy and native backup_collect run on the same inputs, compared: exit status, every log line (DEBUG
// included), the collect state keys and the staging tree entry by entry (tests only).
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { backupCollect } from '../../native/backup/collect/index.js';
import { keptRun, runNativeStage, runShim, stageDir, stageEnv, type KeptRun, type StageResult } from './stage-run.js';

const b = (text: string): Buffer => Buffer.from(text, 'latin1');

/** path (latin1) → "kind mode uid:gid size sha|target mtime" for every entry of a staging tree. */
export function stagingTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    const full = rel === '.' ? root : `${root}/${rel.slice(2)}`;
    const stat = lstatSync(b(full));
    const kind = stat.isDirectory() ? 'd' : stat.isSymbolicLink() ? 'l' : stat.isFile() ? 'f' : '?';
    const detail = kind === 'f' ? createHash('sha256').update(readFileSync(b(full))).digest('hex')
      : kind === 'l' ? readlinkSync(b(full), { encoding: 'buffer' }).toString('latin1') : '-';
    const mtime = kind === 'l' ? '' : ` ${Math.floor(stat.mtimeMs / 1000)}`;
    out.set(rel, `${kind} ${(stat.mode & 0o7777).toString(8)} ${stat.uid}:${stat.gid} ${kind === 'f' ? stat.size : 0} ${detail}${mtime}`);
    if (kind === 'd') for (const name of readdirSync(b(full), { encoding: 'buffer' })) walk(`${rel}/${name.toString('latin1')}`);
  };
  walk('.');
  return out;
}

const KEPT = new Map<string, Promise<KeptRun>>();

/** One kept legacy run per host, shared by the cases of a file: phases 0-8 (--check-only), so its context.env and
 * state.env are what a whole run holds when it starts collecting (CHECK_ONLY aside, which the cases set back to
 * false); collecting, archiving and the rest of a whole run would only add keys that collection does not read. */
export function kept(host: string): Promise<KeptRun> {
  let run = KEPT.get(host);
  if (run === undefined) {
    run = keptRun(host, {}, ['--check-only']);
    KEPT.set(host, run);
  }
  return run;
}

const COLLECT_KEYS = ['COLLECT_ITEMS_OK', 'COLLECT_ITEMS_FAILED', 'COLLECT_ITEMS_SKIPPED', 'FILE_MISSING', 'FILES_INCLUDED', 'DIRS_INCLUDED',
  'UNCOMPRESSED_SIZE', 'STAGED_ENTRIES'];

export interface Compared {
  readonly legacy: StageResult & { tree: Map<string, string> };
  readonly native: StageResult & { tree: Map<string, string> };
  readonly nativeStaging: string;
}

const collectContext = (context: Record<string, string>): Record<string, string> => ({ CHECK_ONLY: 'false', DEBUG_LEVEL: 'advanced', ...context });

/** The native collection alone (the tree a case compares with, where legacy's on the same inputs is not asserted). */
export async function nativeCollect(host: string, context: Record<string, string> = {}): Promise<StageResult & { tree: Map<string, string> }> {
  const run = await kept(host);
  const dir = stageDir(run, collectContext(context));
  const native = await runNativeStage(backupCollect, dir, stageEnv(run));
  return { ...native, tree: stagingTree(dir.staging) };
}

export async function compareCollect(host: string, context: Record<string, string> = {}): Promise<Compared> {
  const run = await kept(host);
  const ctx = collectContext(context);
  const legacyDir = stageDir(run, ctx);
  const nativeDir = stageDir(run, ctx);
  const env = stageEnv(run);
  const [legacy, native] = [await runShim('backup_collect', legacyDir, env), await runNativeStage(backupCollect, nativeDir, env)];
  return {
    legacy: { ...legacy, tree: stagingTree(legacyDir.staging) },
    native: { ...native, tree: stagingTree(nativeDir.staging) },
    nativeStaging: nativeDir.staging,
  };
}

export function collectState(result: StageResult): Record<string, string | undefined> {
  return Object.fromEntries(COLLECT_KEYS.map((k) => [k, result.state.get(k)]));
}
