// Shadow mode (ARCHITECTURE "Domains and flags"): the native stage runs on a scratch copy of the run directory
// whose context points every output somewhere inside the scratch copy; afterwards its outputs are compared with
// the real (bash) ones through the parity normalisers. Used by StageRunner when a domain's flag is `shadow`.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { archiveManifest } from '../parity/normalise/archive.js';
import { normaliseChecksum, normaliseMetadata, normaliseState } from '../parity/normalise/env.js';
import { normaliseLog } from '../parity/normalise/log.js';
import { treeManifest } from '../parity/normalise/tree.js';
import type { Replacements } from '../parity/normalise/tokens.js';
import { parseEnvFile } from '../core/state-env.js';
import type { RunDir } from '../core/run-dir.js';
import type { StageName } from './stages.js';

/** Context keys naming places a stage writes to: redirected into the scratch copy. */
const OUTPUT_KEYS = ['LOCAL_BACKUP_PATH', 'LOCAL_LOG_PATH', 'SECONDARY_BACKUP_PATH', 'SECONDARY_LOG_PATH', 'PROMETHEUS_TEXTFILE_DIR'] as const;

export function redirectScratchContext(scratch: RunDir): void {
  const context = scratch.readContext();
  for (const key of OUTPUT_KEYS) {
    if (!context.has(key)) continue;
    // Kept aside for what a stage only reads there (free space, the previous metrics file): SHADOW_ORIG_<KEY>.
    context.set(`SHADOW_ORIG_${key}`, context.get(key) ?? '');
    context.set(key, join(scratch.path, 'shadow-out', key.toLowerCase()));
  }
  // BASE_DIR holds state a stage may change (config/.server_identity): the native side gets a copy of it.
  const base = context.get('BASE_DIR');
  if (base !== undefined && base !== '') {
    const copy = join(scratch.path, 'shadow-out', 'base');
    mkdirSync(copy, { recursive: true });
    if (existsSync(join(base, 'config'))) cpSync(join(base, 'config'), join(copy, 'config'), { recursive: true, preserveTimestamps: true });
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

async function artefactsOf(stage: StageName, dir: RunDir, marks: Marks, replacements: Replacements): Promise<Map<string, string>> {
  if (stage === 'notify_run') return notifyArtefacts(dir, replacements);
  const files = new Map<string, string>();
  const state = sinceMark(dir.statePath, marks.state);
  files.set('log', normaliseLog(sinceMark(dir.logPath, marks.log), replacements));
  for (const [domain, text] of normaliseState(state, replacements)) files.set(`state.${domain}`, text);
  if (stage === 'backup_collect') files.set('staging', treeManifest(dir.staging));
  const backupFile = state === '' ? undefined : parseEnvFile(state).get('BACKUP_FILE');
  if (backupFile !== undefined && existsSync(backupFile)) {
    files.set('manifest', await archiveManifest(backupFile));
    if (existsSync(`${backupFile}.sha256`)) files.set('sha256', normaliseChecksum(readFileSync(`${backupFile}.sha256`, 'utf8')));
    if (existsSync(`${backupFile}.metadata`)) files.set('metadata', normaliseMetadata(readFileSync(`${backupFile}.metadata`, 'utf8')));
  }
  return files;
}

/** A unified diff of every artefact that differs (bash on the left), or undefined when they all agree. */
export async function compareShadow(stage: StageName, real: RunDir, scratch: RunDir, marks: Marks): Promise<string | undefined> {
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
  const left = await artefactsOf(stage, real, marks, replacements);
  const right = await artefactsOf(stage, scratch, marks, replacements);
  const diffs: string[] = [];
  for (const name of [...new Set([...left.keys(), ...right.keys()])].sort()) {
    const a = left.get(name) ?? '(absent)\n';
    const b = right.get(name) ?? '(absent)\n';
    if (a !== b) diffs.push(createTwoFilesPatch(`bash/${stage}/${name}`, `ts/${stage}/${name}`, a, b));
  }
  return diffs.length === 0 ? undefined : diffs.join('\n');
}
