// Shadow mode (ARCHITECTURE "Domains and flags"): the native stage runs on a scratch copy of the run directory
// whose context points every output somewhere inside the scratch copy; afterwards its outputs are compared with
// the real (bash) ones through the normalisers of native/compare/, parity/known-differences.json the ignore list.
// Used by StageRunner when a domain's flag is `shadow`; the orchestrator loads it only then (shadowHooks).
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { createTwoFilesPatch, diffLines } from 'diff';
import { commandsArtefact, recordedCommands, requestedCommands } from '../core/host-record.js';
import { acceptChanges, isExpired, loadKnownDifferences, type KnownDifference } from '../compare/known-differences.js';
import { archiveManifest } from '../compare/normalise/archive.js';
import { normaliseChecksum, normaliseMetadata, normaliseState } from '../compare/normalise/env.js';
import { normaliseLog } from '../compare/normalise/log.js';
import { treeManifest } from '../compare/normalise/tree.js';
import type { Replacements } from '../compare/normalise/tokens.js';
import { parseEnvFile } from '../core/state-env.js';
import type { RunDir } from '../core/run-dir.js';
import { STAGES, type StageName } from '../core/stage.js';
import { mirrorTiers, tierListing } from '../storage/shadow-tiers.js';
import type { StageRunnerOptions } from './stages.js';

/** Context keys naming places a stage writes to: redirected into the scratch copy. */
const OUTPUT_KEYS = ['LOCAL_BACKUP_PATH', 'LOCAL_LOG_PATH', 'SECONDARY_BACKUP_PATH', 'SECONDARY_LOG_PATH', 'PROMETHEUS_TEXTFILE_DIR'] as const;

export function redirectScratchContext(scratch: RunDir, stage?: StageName): void {
  const context = scratch.readContext();
  const scratchOf = new Map<string, string>();   // one scratch directory per real one (LOCAL_BACKUP_PATH may be LOCAL_LOG_PATH)
  for (const key of OUTPUT_KEYS) {
    if (!context.has(key)) continue;
    const real = context.get(key) ?? '';
    // Kept aside for what a stage only reads there (free space, the previous metrics file): SHADOW_ORIG_<KEY>.
    context.set(`SHADOW_ORIG_${key}`, real);
    const copy = scratchOf.get(real) ?? join(scratch.path, 'shadow-out', key.toLowerCase());
    if (real !== '') scratchOf.set(real, copy);
    context.set(key, copy);
  }
  // A storage candidate acts on the tiers as the control found them: mirrored before the control runs.
  if (stage !== undefined && STAGES[stage].domain === 'storage') mirrorTiers(context, scratch.readState().get('BACKUP_FILE') ?? '');
  // BASE_DIR holds state a stage may change (config/.server_identity): the native side gets a copy of it.
  const base = context.get('BASE_DIR');
  if (base !== undefined && base !== '') {
    const copy = join(scratch.path, 'shadow-out', 'base');
    mkdirSync(copy, { recursive: true });
    if (existsSync(join(base, 'config'))) cpSync(join(base, 'config'), join(copy, 'config'), { recursive: true, preserveTimestamps: true });
    context.set('SHADOW_ORIG_BASE_DIR', base);   // the installation the security gate checks
    context.set('BASE_DIR', copy);
  }
  context.set('RUN_DIR', scratch.path);
  // The native side never writes the real log file; what a stage shows of it (notify's `Log file:`) is kept aside.
  context.set('SHADOW_LOG_FILE', context.get('LOG_FILE') ?? '');
  context.set('LOG_FILE', '');
  scratch.writeContext(context);
}

export interface Marks { readonly log: number; readonly state: number }

function sinceMark(path: string, offset: number): string {
  return existsSync(path) ? readFileSync(path).subarray(offset).toString('utf8') : '';
}

/**
 * notify_run in shadow renders and sends nothing (notify.md §7): what is compared is what each channel would send,
 * RUN_DIR/notify/* — the e-mail's Date (send time) and Telegram's Email line (the real e-mail result, which the
 * render-only side cannot know) left out; the log and the state say what was delivered and differ by design.
 */
function notifyArtefacts(dir: RunDir, replacements: Replacements): Map<string, string> {
  const files = new Map<string, string>();
  const notify = join(dir.path, 'notify');
  if (!existsSync(notify)) return files;
  for (const name of readdirSync(notify).filter((n) => !n.startsWith('.')).sort()) {
    let text = readFileSync(join(notify, name), 'utf8');
    for (const [from, to] of replacements) if (from !== '') text = text.split(from).join(to);
    // Free space is read live, twice (notify.md §9 tokenises it too).
    text = text.replace(/^Date: .*$/m, 'Date: <DATE>').replace(/^(✅|❌|➖) Email: .*$/mu, '<EMAIL LINE>')
      .replace(/🔹 (Local|Secondary): [\d.]+ \w+/gu, '🔹 $1: <FREE>').replace(/"free_bytes":\d+/g, '"free_bytes":<FREE>');
    files.set(`notify/${name}`, text);
  }
  return files;
}

async function artefactsOf(stage: StageName, dir: RunDir, marks: Marks, replacements: Replacements,
  env: Readonly<Record<string, string | undefined>>): Promise<Map<string, string>> {
  if (stage === 'notify_run') return notifyArtefacts(dir, replacements);
  const files = new Map<string, string>();
  const state = sinceMark(dir.statePath, marks.state);
  files.set('log', normaliseLog(sinceMark(dir.logPath, marks.log), replacements));
  for (const [domain, text] of normaliseState(state, replacements)) files.set(`state.${domain}`, text);
  if (stage === 'backup_collect') files.set('staging', treeManifest(dir.staging));
  if (STAGES[stage].domain === 'storage') {
    let listing = tierListing(dir.readContext());
    for (const [from, to] of replacements) if (from !== '') listing = listing.split(from).join(to);
    files.set('tiers', listing);
  }
  const backupFile = state === '' ? undefined : parseEnvFile(state).get('BACKUP_FILE');
  if (backupFile !== undefined && existsSync(backupFile)) {
    files.set('manifest', await archiveManifest(backupFile, { env }));
    if (existsSync(`${backupFile}.sha256`)) files.set('sha256', normaliseChecksum(readFileSync(`${backupFile}.sha256`, 'utf8')));
    if (existsSync(`${backupFile}.metadata`)) files.set('metadata', normaliseMetadata(readFileSync(`${backupFile}.metadata`, 'utf8')));
  }
  return files;
}

/** The artefact names of the parity harness (golden/HOST/SCENARIO/), which known-differences.json matches. */
function harnessName(name: string): string {
  if (name === 'log') return 'log.txt';
  if (name.startsWith('state.')) return `${name}.env`;
  if (name === 'manifest' || name === 'staging' || name === 'commands' || name === 'tiers') return `${name}.txt`;
  return `archive.${name}`;
}

const STAGING_LINE = /^("(?:[^"\\]|\\.)*") ([a-z?]) /;

function manifestPaths(text: string): Map<string, string> {
  const lines = new Map<string, string>();
  for (const line of text.split('\n')) {
    const name = STAGING_LINE.exec(line)?.[1];
    if (name !== undefined) lines.set(name, line);
  }
  return lines;
}

/**
 * Files the two sides read at different moments and found different on disk (parity/README.md "Files changed
 * during the run"): a staged file whose mtime or size differs between the two staging trees, or one staged on
 * one side only whose source appeared or disappeared after the control run started. Names as the manifest shows them.
 */
function changedDuringRun(realStaging: string, scratchStaging: string, left: string, right: string, srcRoot: string, startedMs: number): string[] {
  const a = manifestPaths(left);
  const b = manifestPaths(right);
  const changed: string[] = [];
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(name) === b.get(name)) continue;
    const shown = manifestName(name);
    // A name esc() shows with escapes, and the generated files (command outputs, reports): compared as they are.
    if (shown === undefined || shown.startsWith('./var/lib/proxmox-backup-info/')) continue;
    const rel = shown.replace(/^\.\//, '');
    const x = lstatOrUndefined(join(realStaging, rel));
    const y = lstatOrUndefined(join(scratchStaging, rel));
    const source = lstatOrUndefined(join(srcRoot, rel));
    if (x !== undefined && y !== undefined) {
      if (x.isFile() && y.isFile() && (x.mtimeMs !== y.mtimeMs || x.size !== y.size)) changed.push(name);
    } else if (x !== undefined && source === undefined) {
      changed.push(name);     // read by the control, gone when the candidate looked
    } else if (y !== undefined && source !== undefined && Math.max(source.mtimeMs, source.ctimeMs) >= startedMs) {
      changed.push(name);     // appeared after the control had looked
    }
  }
  return changed.sort();
}

/** The name of a manifest line as a path, or undefined when esc() had to escape it (not a plain JSON string). */
export function manifestName(quoted: string): string | undefined {
  try {
    const name = JSON.parse(quoted) as unknown;
    return typeof name === 'string' && !name.includes('\\') ? name : undefined;
  } catch {
    return undefined;
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** State keys counting the staged tree: they move with any file that changed during the run. */
const TREE_COUNTS = /^(UNCOMPRESSED_SIZE|FILES_INCLUDED|DIRS_INCLUDED|STAGED_ENTRIES)=.*$/gm;

/**
 * parity/known-differences.json as the shadow's ignore list: the unexpired entries on the run's day (START_TIME,
 * epoch seconds). A file that cannot be read or parsed excuses nothing (the comparison then reports every difference).
 */
export function shadowIgnoreList(path: string, startTime: string): KnownDifference[] {
  const day = new Date(Number(startTime) * 1000).toISOString().slice(0, 10);
  try {
    return loadKnownDifferences(path).filter((entry) => !isExpired(entry, day));
  } catch {
    return [];
  }
}

export interface ShadowInputs {
  readonly marks: Marks;
  /** The control's recording of host commands (native/core/host-record.ts); the candidate replayed it. */
  readonly record?: string;
  /** When the control stage started (epoch ms): a source newer than this changed during the run. */
  readonly startedMs: number;
  readonly statuses: { readonly bash: number; readonly ts: number };
  /** The run's environment: the decompressors reading the archive run with it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** parity/known-differences.json: the ignore list; expired entries no longer excuse anything. */
  readonly knownDifferences?: readonly KnownDifference[];
  readonly host?: string;
}

export interface ShadowVerdict {
  /** A unified diff of what differs and is not excused, or undefined. */
  readonly diff?: string;
  readonly changedDuringRun: readonly string[];
  /** Reasons of the known differences that excused a difference. */
  readonly acceptedBy: readonly string[];
}

function changedLines(a: string, b: string): string[] {
  const lines: string[] = [];
  for (const part of diffLines(a, b)) {
    if (part.added === true || part.removed === true) lines.push(...part.value.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1)));
  }
  return lines;
}

/** The shadow comparison: normalised artefacts, the host commands asked for, files changed on disk, the ignore list. */
export async function compareShadow(stage: StageName, real: RunDir, scratch: RunDir, inputs: ShadowInputs): Promise<ShadowVerdict> {
  const { marks } = inputs;
  const realContext = real.readContext();
  const scratchContext = scratch.readContext();
  const replacements: [string, string][] = [[real.path, '<RUN_DIR>'], [scratch.path, '<RUN_DIR>'],
    [realContext.get('BASE_DIR') ?? '', '<BASE_DIR>'], [scratchContext.get('BASE_DIR') ?? '', '<BASE_DIR>']];
  for (const key of OUTPUT_KEYS) {
    const a = realContext.get(key);
    const b = scratchContext.get(key);
    if (a !== undefined && a !== '') replacements.push([a, `<${key}>`]);
    if (b !== undefined && b !== '') replacements.push([b, `<${key}>`]);
  }
  const left = await artefactsOf(stage, real, marks, replacements, inputs.env);
  const right = await artefactsOf(stage, scratch, marks, replacements, inputs.env);
  if (inputs.record !== undefined) {
    const ran = commandsArtefact(recordedCommands(inputs.record));
    const asked = commandsArtefact(requestedCommands(inputs.record));
    if (ran !== '' || asked !== '') {
      left.set('commands', ran);
      right.set('commands', asked);
    }
  }
  if (inputs.statuses.bash !== inputs.statuses.ts) {
    left.set('status', `${inputs.statuses.bash}\n`);
    right.set('status', `${inputs.statuses.ts}\n`);
  }
  let changed: string[] = [];
  const a = left.get('staging');
  const b = right.get('staging');
  if (a !== undefined && b !== undefined && a !== b) {
    changed = changedDuringRun(real.staging, scratch.staging, a, b, realContext.get('SYSTEM_ROOT_PREFIX') ?? '/', inputs.startedMs);
    const drop = (text: string): string => text.split('\n').filter((l) => !changed.includes(STAGING_LINE.exec(l)?.[1] ?? '')).join('\n');
    left.set('staging', drop(a));
    right.set('staging', drop(b));
    if (changed.length > 0) {
      for (const side of [left, right]) {
        const state = side.get('state.backup');
        if (state !== undefined) side.set('state.backup', state.replace(TREE_COUNTS, '$1=<changed during the run>'));
      }
    }
  }
  const diffs: string[] = [];
  const acceptedBy = new Set<string>();
  for (const name of [...new Set([...left.keys(), ...right.keys()])].sort()) {
    const x = left.get(name) ?? '(absent)\n';
    const y = right.get(name) ?? '(absent)\n';
    if (x === y) continue;
    const accepted = acceptChanges(inputs.knownDifferences ?? [], { host: inputs.host ?? '', scenario: 'shadow', artefact: harnessName(name) },
      changedLines(x, y));
    if (accepted !== undefined) {
      for (const entry of accepted) acceptedBy.add(entry.reason);
      continue;
    }
    diffs.push(createTwoFilesPatch(`bash/${stage}/${name}`, `ts/${stage}/${name}`, x, y));
  }
  return { diff: diffs.length === 0 ? undefined : diffs.join('\n'), changedDuringRun: changed, acceptedBy: [...acceptedBy] };
}

/** Where a shadow diff report goes: beside the log file (run.md §1), or in LOCAL_LOG_PATH when there is none. */
export function shadowReportPath(logFile: string, logDir: string, stage: string): string {
  const base = logFile !== '' ? logFile.replace(/\.log$/, '') : join(logDir, 'proxmox-backup');
  return `${base}.parity-${stage}.diff`;
}

function writeShadowReport(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode: 0o600 });
}

/**
 * The stage runner's shadow hooks for one run. `value` reads the run's values when a hook runs: START_TIME dates
 * the ignore list, LOG_FILE (known from phase 6 on) places the diff reports.
 */
export function shadowHooks(codeDir: string, value: (key: string) => string): NonNullable<StageRunnerOptions['shadow']> {
  return {
    scratchContext: async (scratch, stage) => {
      redirectScratchContext(scratch, stage);
    },
    compare: async (stage, real, scratch, inputs) => compareShadow(stage, real, scratch, {
      ...inputs, host: real.readState().get('HOSTNAME') ?? '',
      knownDifferences: shadowIgnoreList(join(codeDir, 'parity', 'known-differences.json'), value('START_TIME')),
    }),
    report: (stage, diff) => {
      const path = shadowReportPath(value('LOG_FILE'), value('LOCAL_LOG_PATH'), stage);
      writeShadowReport(path, diff);
      return path;
    },
  };
}
