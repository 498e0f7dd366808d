// Test helper: the listing pass and the plan of one archive on both sides, rendered as restore.pl's own output
// (`scan` stdout and TABLE, `plan` stdout, PLAN and SAFETY_LIST files), so a test compares them byte for byte.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realDisk } from '../../native/restore/disk.js';
import { planRestore, scanArchive, type Plan, type PlanSettings, type ScanEntry } from '../../native/restore/plan.js';
import { ByteReader, CorruptArchive } from '../../native/restore/tar-reader.js';
import { writeRestore } from '../../native/restore/writer.js';

const ENGINE = join(import.meta.dirname, '..', '..', 'legacy', 'lib', 'restore.pl');
const FORGE = join(import.meta.dirname, 'forge-tar.py');

export interface Rendered {
  scan: string;
  table: string;
  plan: string;
  planFile: string;
  safety: string;
}

const hex = (bytes: string): string => Buffer.from(bytes, 'latin1').toString('hex');

/** forge-tar.py: a tar archive (pax or gnu format) from its JSON entry list. */
export function forge(entries: readonly Record<string, unknown>[], format: 'pax' | 'gnu' = 'pax'): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'pbk-forge-'));
  try {
    const out = join(dir, 'a.tar');
    const run = spawnSync('python3', [FORGE, out, format], { input: JSON.stringify(entries) });
    if (run.status !== 0) throw new Error(`forge-tar.py: ${run.stderr.toString()}`);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** restore.pl scan then plan (settings through its environment), in a scratch directory. */
export function legacyScanPlan(archive: Buffer, settings: PlanSettings): Rendered {
  const dir = mkdtempSync(join(tmpdir(), 'pbk-plan-'));
  try {
    const table = join(dir, 'table');
    const scan = spawnSync('perl', [ENGINE, 'scan', table], { input: archive, maxBuffer: 1 << 28 });
    const scanOut = scan.stdout.toString('latin1');
    if (scan.status !== 0) return { scan: scanOut, table: '', plan: '', planFile: '', safety: '' };
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', RESTORE_ROOT: settings.root, RESTORE_SELECTED: settings.selected.join(','),
      RESTORE_PVE_MODE: settings.pveMode, RESTORE_DRY_RUN: String(settings.dryRun), RESTORE_AS_ROOT: String(settings.asRoot) };
    const plan = spawnSync('perl', [ENGINE, 'plan', table, join(dir, 'plan'), join(dir, 'safety')], { env, maxBuffer: 1 << 28 });
    if (plan.status !== 0) throw new Error(`restore.pl plan: ${plan.stderr.toString()}`);
    return { scan: scanOut, table: readFileSync(table, 'latin1'), plan: plan.stdout.toString('latin1'),
      planFile: readFileSync(join(dir, 'plan'), 'latin1'), safety: readFileSync(join(dir, 'safety'), 'latin1') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function* chunks(archive: Buffer): AsyncIterable<Buffer> {
  for (let i = 0; i < archive.length; i += 7919) yield archive.subarray(i, i + 7919);
}

/** The native scan (throws anything but CorruptArchive). */
export async function nativeScan(archive: Buffer): Promise<{ entries: readonly ScanEntry[]; scan: string }> {
  try {
    const { entries, counts } = await scanArchive(new ByteReader(chunks(archive)));
    const scan = `${counts.map((c) => `CAT\t${c.name}\t${c.count}\t${c.onRoot}\n`).join('')}ENTRIES\t${entries.length}\n`;
    return { entries, scan };
  } catch (error) {
    if (error instanceof CorruptArchive) return { entries: [], scan: `CORRUPT\t${error.message}\n` };
    throw error;
  }
}

/** A plan in restore.pl plan's records (the LOG texts are UTF-8 JS strings: written as UTF-8 bytes). */
export function renderPlan(plan: Plan): Omit<Rendered, 'scan' | 'table'> {
  const bytes = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
  let out = plan.logs.map((r) => `LOG\t${r.level}\t${bytes(r.message)}\n`).join('');
  out += plan.space.map(([dir, n]) => `SPACE\t${dir}\t${n}\n`).join('');
  out += `SAFETY\t${plan.safety.length}\t${plan.safetyBytes}\t${plan.safetyCategories}\n`;
  out += `SKIPS\t${plan.notSelected}\t${plan.reports}\t${plan.other}\t${plan.refused}\t${plan.failed}\n`;
  out += `WRITES\t${plan.writes}\nHINTS\t${plan.hints.join(',')}\n`;
  const planFile = [...plan.actions].map(([i, a]) => {
    const s = a.source;
    const source = s.kind === 'hardlink' || s.kind === 'dedup' ? String(s.index) : s.kind === 'chunks' ? s.parts.map((p) => `${p.index}:${p.offset}`).join(',') : '';
    const offset = s.kind === 'chunks' ? String(s.parts.length) : s.kind === 'dedup' ? 'dedup' : '';
    return `${i}\t${a.op}\t${hex(a.norm)}\t${source}\t${offset}\t${a.cat}\n`;
  }).join('');
  return { plan: out, planFile, safety: plan.safety.map((n) => `./${n}\0`).join('') };
}

/** The native scan and plan, rendered as restore.pl's. */
export async function nativeScanPlan(archive: Buffer, settings: PlanSettings): Promise<Rendered & { entries: readonly ScanEntry[]; result?: Plan }> {
  const { entries, scan } = await nativeScan(archive);
  if (scan.startsWith('CORRUPT')) return { scan, table: '', plan: '', planFile: '', safety: '', entries };
  const table = entries.map((e) => [e.index, e.type, e.mode, e.uid, e.gid, e.mtime, e.size, e.category, hex(e.name), hex(e.link), hex(e.norm),
    hex(e.reason)].join('\t') + '\n').join('');
  const result = planRestore(entries, realDisk, settings);
  return { scan, table, ...renderPlan(result), entries, result };
}

/** Writes FILES (relative path → content, or `-> target` for a symlink, `/` suffix for a directory) under ROOT. */
export function makeTree(root: string, files: Readonly<Record<string, string>>): void {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, rel);
    spawnSync('mkdir', ['-p', rel.endsWith('/') ? path : join(path, '..')]);
    if (rel.endsWith('/')) continue;
    if (content.startsWith('-> ')) spawnSync('ln', ['-sfn', content.slice(3), path]);
    else writeFileSync(path, content);
  }
}

/** restore.pl scan, plan and write into settings.root; the write records (the root shown as ROOT). */
export function legacyRestore(archive: Buffer, settings: PlanSettings): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbk-write-'));
  try {
    const table = join(dir, 'table');
    const scan = spawnSync('perl', [ENGINE, 'scan', table], { input: archive });
    if (scan.status !== 0) return scan.stdout.toString('latin1');
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', RESTORE_ROOT: settings.root, RESTORE_SELECTED: settings.selected.join(','),
      RESTORE_PVE_MODE: settings.pveMode, RESTORE_DRY_RUN: 'false', RESTORE_AS_ROOT: String(settings.asRoot) };
    const plan = spawnSync('perl', [ENGINE, 'plan', table, join(dir, 'plan'), join(dir, 'safety')], { env });
    const write = spawnSync('perl', [ENGINE, 'write', table, join(dir, 'plan')], { env, input: archive, maxBuffer: 1 << 28 });
    return (plan.stdout.toString('latin1') + write.stdout.toString('latin1')).replaceAll(settings.root, 'ROOT');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The native scan, plan and write into settings.root, rendered as restore.pl's records. */
export async function nativeRestore(archive: Buffer, settings: PlanSettings): Promise<string> {
  const { entries, scan } = await nativeScan(archive);
  if (scan.startsWith('CORRUPT')) return scan;
  const plan = planRestore(entries, realDisk, settings);
  let out = renderPlan(plan).plan;
  const bytes = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
  try {
    const result = await writeRestore(new ByteReader(chunks(archive)), entries, plan, {
      root: settings.root, asRoot: settings.asRoot, pveMode: settings.pveMode, interrupted: () => false,
      log: (r) => { out += `LOG\t${r.level}\t${bytes(r.message)}\n`; },
    });
    out += `RESULT\t${result.files}\t${result.links}\t${result.dirs}\t${result.failed}\n`;
    const stop = result.stop;
    if (stop?.kind === 'abort') out += `ABORT\t${stop.reason}\t${bytes(stop.path)}\n`;
    if (stop?.kind === 'changed') out += 'CHANGED\n';
  } catch (error) {
    if (!(error instanceof CorruptArchive)) throw error;
    out += `CORRUPT\t${error.message}\n`;
  }
  return out.replaceAll(settings.root, 'ROOT');
}

/**
 * A tree as text, one line per path in byte order: type, mode, owner, mtime, content hash or link target.
 * Mtimes at or after SINCE show as `now` (what the test made, a directory the run wrote into without owning it).
 */
export function snapshot(root: string, since: number): string {
  const out = spawnSync('find', ['.', '-mindepth', '1', '-printf', '%y %m %u:%g %T@ %s %p -> %l\\n'], { cwd: root, maxBuffer: 1 << 28 });
  const lines = out.stdout.toString('latin1').split('\n').filter((l) => l !== '');
  return lines.map((line) => {
    const [type = '', mode, owner, mtime = '0', size, ...rest] = line.split(' ');
    const path = rest.join(' ').replace(/ -> $/, '');
    const seconds = Math.floor(Number(mtime));
    const shownTime = seconds >= since ? 'now' : String(seconds);
    const content = type === 'f' ? createHash('sha256').update(readFileSync(join(root, path.split(' -> ')[0] ?? ''))).digest('hex').slice(0, 16) : '';
    return { path, line: `${type} ${mode} ${owner} ${shownTime} ${type === 'd' ? '' : size} ${path} ${content}` };
  }).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((l) => l.line).join('\n');
}
