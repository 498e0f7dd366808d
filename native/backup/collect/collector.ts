// Collection primitives (collect.md §1, §7), the twin of legacy/lib/collect.sh: copy a file or a tree from under
// SYSTEM_ROOT_PREFIX into RUN_DIR/staging with mode, owner and mtime kept, write a command's output, honour the
// blacklist and the prohibited patterns, count items — with legacy's lines, in legacy's order.
// Paths are byte strings (core/bytes-path.ts): a name that is not UTF-8 is copied and logged as its bytes.
import {
  accessSync, chmodSync, chownSync, constants, copyFileSync, lchownSync, lstatSync, lutimesSync, mkdirSync, opendirSync, readFileSync, readlinkSync,
  rmSync, statSync, symlinkSync, utimesSync, writeFileSync, type BigIntStats, type Stats,
} from 'node:fs';
import { escPath, fsPath, joinBytes, toBytes } from '../../core/bytes-path.js';
import { esc } from '../../core/esc.js';
import type { RunLog } from '../../core/log.js';
import { hasProgram } from '../../core/programs.js';
import type { BoolKey, ConfigValues } from '../../core/config-keys.js';
import type { RunFacts, StageState } from '../../core/config-view.js';
import type { NativeStageContext } from '../../core/stage.js';
import type { Progress } from '../../core/progress.js';
import type { CommandRunner } from './commands.js';

export const C_DIR = './var/lib/proxmox-backup-info/commands';
export const F_DIR = './var/lib/proxmox-backup-info/files';

export type Missing = 'skip' | 'INFO' | 'SKIP' | 'WARNING';
export type Filter = '' | 'regular' | 'no-private' | 'no-cache';
export type Severity = 'WARNING' | 'debug';

/** lstat, or undefined when nothing is there. */
export function lstatOf(path: string): Stats | undefined {
  try {
    return lstatSync(fsPath(path));
  } catch {
    return undefined;
  }
}

/** stat (following links), or undefined. */
export function statOf(path: string): Stats | undefined {
  try {
    return statSync(fsPath(path));
  } catch {
    return undefined;
  }
}

export function readable(path: string, mode = constants.R_OK): boolean {
  try {
    accessSync(fsPath(path), mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * Names in a directory as byte strings, in the order the directory returns them — the order find(1) walks
 * (fs.readdir sorts them, opendir does not) — or [] when it cannot be read.
 */
export function listDir(path: string): string[] {
  const names: string[] = [];
  try {
    const dir = opendirSync(fsPath(path), { encoding: 'buffer' as BufferEncoding });   // names as Buffers (the types omit it)
    try {
      for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) names.push((entry.name as unknown as Buffer).toString('latin1'));
    } finally {
      dir.closeSync();
    }
  } catch {
    return names;
  }
  return names;
}

/** A bash glob (`*`, `?`, `[...]`) as a regex where `*` also matches `/` ([[ == ]] semantics). */
export function globRegex(glob: string, suffix = ''): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const ch = glob[i] as string;
    if (ch === '*') out += '[\\s\\S]*';
    else if (ch === '?') out += '[\\s\\S]';
    else if (ch === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) out += '\\[';
      else {
        let body = glob.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        out += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else out += ch.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${out}${suffix}$`);
}

/** The first line of a text ('' when empty). */
export function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

export class Collector {
  ok = 0;
  failed = 0;
  skipped = 0;
  readonly staging: string;
  readonly srcRoot: string;
  readonly startTime: number;
  readonly asRoot: boolean;
  /** Staging directory (./rel) → the source directory it mirrors, or '' when it was generated. */
  readonly dirSource = new Map<string, string>();
  blPrefixes: string[] = [];
  private blGlobs: RegExp[] = [];
  private readonly path: string;

  /** The stage's typed configuration, run facts and state (native/core/config-view.ts). */
  readonly config: ConfigValues;
  readonly facts: RunFacts;
  readonly state: StageState;

  constructor(context: Pick<NativeStageContext, 'config' | 'facts' | 'state'>, readonly log: RunLog, readonly commands: CommandRunner,
    readonly env: Readonly<Record<string, string | undefined>>, stagingDir: string, readonly progress: Progress) {
    this.config = context.config;
    this.facts = context.facts;
    this.state = context.state;
    this.staging = toBytes(stagingDir);
    this.srcRoot = toBytes(this.config.SYSTEM_ROOT_PREFIX).replace(/\/$/, '');
    this.startTime = Number(this.facts.START_TIME);
    this.asRoot = process.getuid?.() === 0;
    this.path = env.PATH ?? '';
  }

  hasProgram(name: string): boolean {
    return hasProgram(name, this.path);
  }

  /** collect_setup: counters, the blacklist split into prefixes and globs, the staging directory. */
  setup(): boolean {
    for (const raw of this.config.BACKUP_BLACKLIST.map(toBytes)) {
      let entry = raw;
      if (entry === '') continue;
      if (/[*?[]/.test(entry)) this.blGlobs.push(globRegex(entry, '[\\s\\S]*'));
      else {
        while (entry.endsWith('/') && entry !== '/') entry = entry.slice(0, -1);
        this.blPrefixes.push(entry);
      }
    }
    this.log.info(`Blacklist paths: ${this.blPrefixes.length + this.blGlobs.length} paths configured`);
    try {
      mkdirSync(fsPath(this.staging), { recursive: true });
      return true;
    } catch {
      this.log.error(`Failed to create staging directory ${this.staging}`);
      return false;
    }
  }

  isProhibited(path: string): boolean {
    return path.includes('.cursor') || path.includes('.vscode') || path.includes('node_modules');
  }

  isBlacklisted(path: string): boolean {
    for (const entry of this.blPrefixes) {
      if (path === entry || path.startsWith(`${entry.replace(/\/$/, '')}/`)) return true;
    }
    return this.blGlobs.some((glob) => glob.test(path));
  }

  /** collect_excluded: true (with a DEBUG line) when the blacklist or a prohibited pattern drops it. */
  excluded(logical: string): boolean {
    if (this.isProhibited(logical)) {
      this.log.debug(`Skipping path with prohibited pattern: ${escPath(logical)}`);
      return true;
    }
    if (this.isBlacklisted(logical)) {
      this.log.debug(`Excluded by blacklist: ${escPath(logical)}`);
      return true;
    }
    return false;
  }

  missing(outcome: Missing, what: string, path: string, message = ''): void {
    const text = message || `Not found: ${what} - ${escPath(path)}`;
    switch (outcome) {
      case 'skip': this.skipped += 1; this.log.debug(text); break;
      case 'INFO': this.skipped += 1; this.log.info(text); break;
      case 'SKIP': this.skipped += 1; this.log.skip(text); break;
      case 'WARNING':
        this.failed += 1;
        this.log.warning(message || `Failed to collect ${what} - ${escPath(path)} - not found`);
        break;
    }
  }

  fail(what: string, path: string, detail = ''): void {
    this.failed += 1;
    this.log.warning(`Failed to collect ${what} - ${escPath(path)}${detail === '' ? '' : ` - ${detail}`}`);
  }

  /** collect_make_parents: the parents of staging path DEST, remembering where each came from. */
  makeParents(dest: string): boolean {
    const rel = dest.slice(0, dest.lastIndexOf('/'));
    let current = '';
    for (const part of rel.replace(/^\.\//, '').replace(/^\.$/, '').split('/')) {
      if (part === '') continue;
      current += `/${part}`;
      if (statOf(`${this.staging}${current}`)?.isDirectory() === true) continue;
      try {
        mkdirSync(fsPath(`${this.staging}${current}`));
      } catch {
        return false;
      }
      const source = lstatOf(`${this.srcRoot}${current}`);
      this.dirSource.set(`.${current}`, source?.isDirectory() === true ? `${this.srcRoot}${current}` : '');
    }
    return true;
  }

  stagingPath(dest: string): string {
    return joinBytes(this.staging, dest.replace(/^\.\//, ''));
  }

  /** Mode, owner (as root) and times of `stat` onto `dest` (a link's own, for a link). */
  private keepAttributes(dest: string, stat: Stats | BigIntStats, link: boolean): void {
    const target = fsPath(dest);
    if (link) {
      if (this.asRoot) lchownSync(target, Number(stat.uid), Number(stat.gid));
      lutimesSync(target, stat.atime, stat.mtime);
      return;
    }
    if (this.asRoot) chownSync(target, Number(stat.uid), Number(stat.gid));
    chmodSync(target, Number(stat.mode) & 0o7777);
    utimesSync(target, stat.atime, stat.mtime);
  }

  /** One entry copied as cp -P / tar -x would: a link as a link, a file with its content; the old one replaced. */
  private copyEntry(src: string, dest: string, stat: Stats): void {
    const existing = lstatOf(dest);
    if (existing !== undefined && !existing.isDirectory()) rmSync(fsPath(dest), { force: true });
    if (stat.isSymbolicLink()) {
      symlinkSync(readlinkSync(fsPath(src), { encoding: 'buffer' }), fsPath(dest));
      this.keepAttributes(dest, stat, true);
    } else if (stat.isDirectory()) {
      if (existing?.isDirectory() !== true) mkdirSync(fsPath(dest));
    } else {
      // A file that says it is empty may not be (/proc/cmdline, /proc/net/bonding/*): read to the end, as cp does.
      if (stat.size === 0) writeFileSync(fsPath(dest), readFileSync(fsPath(src)));
      else copyFileSync(fsPath(src), fsPath(dest));
      this.keepAttributes(dest, stat, false);
    }
  }

  private reason(error: unknown): string {
    return esc(error instanceof Error ? error.message : String(error));
  }

  /** collect_file: one file (a symlink is stored as a link). Returns false on a staging error (the run's ERROR). */
  file(logical: string, dest: string, what: string, missing: Missing, message = ''): boolean {
    const src = `${this.srcRoot}${logical}`;
    const stat = lstatOf(src);
    if (stat === undefined) {
      this.missing(missing, what, logical, message);
      return true;
    }
    if (this.excluded(logical)) {
      this.skipped += 1;
      return true;
    }
    if (!stat.isSymbolicLink() && !stat.isFile()) {
      this.log.debug(`Skipping special file: ${escPath(logical)}`);
      this.skipped += 1;
      return true;
    }
    if (!stat.isSymbolicLink() && !readable(src)) {
      this.fail(what, logical);
      return true;
    }
    if (!this.makeParents(dest)) {
      this.log.error(`Failed to create staging directory for ${dest}`);
      return false;
    }
    try {
      this.copyEntry(src, this.stagingPath(dest), stat);
    } catch (error) {
      this.fail(what, logical, this.reason(error));
      return true;
    }
    this.ok += 1;
    this.progress.update(`Collecting: ${this.ok} items`);
    return true;
  }

  /** collect_tree: a directory, recursively (find order), with FILTER ('' | regular | no-private | no-cache). */
  tree(logical: string, dest: string, what: string, missing: Missing, filter: Filter = '', message = ''): boolean {
    const src = `${this.srcRoot}${logical}`;
    const stat = lstatOf(src);
    if (stat === undefined) {
      this.missing(missing, what, logical, message);
      return true;
    }
    if (this.excluded(logical)) {
      this.skipped += 1;
      return true;
    }
    if (stat.isSymbolicLink() || !stat.isDirectory()) return this.file(logical, dest, what, missing, message);
    if (!readable(src, constants.R_OK | constants.X_OK)) {
      this.fail(what, logical);
      return true;
    }
    const base = dest.replace(/\/$/, '');
    const root = this.stagingPath(base);
    try {
      if (!this.makeParents(`${base}/x`)) throw new Error('parents');
      mkdirSync(fsPath(root), { recursive: true });
    } catch {
      this.log.error(`Failed to create staging directory for ${dest}`);
      return false;
    }
    this.dirSource.set(base, src);
    // Each entry is copied as the walk reaches it (nothing held per entry: memory does not grow with the tree);
    // a copy error is reported once, after the walk, as legacy's tar pipe reports it.
    let firstError: unknown;
    let copied = 0;
    const copy = (rel: string, entryStat: Stats): void => {
      try {
        this.copyEntry(`${src}/${rel}`, `${root}/${rel}`, entryStat);
      } catch (error) {
        firstError ??= error;
      }
      copied += 1;
      if (copied % 256 === 0) this.progress.update(`Collecting ${escPath(logical)}: ${copied} entries`);
    };
    const logicalBase = logical.replace(/\/$/, '');
    const walk = (relDir: string): void => {
      for (const name of listDir(relDir === '' ? src : `${src}/${relDir}`)) {
        const rel = relDir === '' ? name : `${relDir}/${name}`;
        const entryStat = lstatOf(`${src}/${rel}`);
        if (entryStat === undefined) continue;
        const entryLogical = `${logicalBase}/${rel}`;
        if (this.excluded(entryLogical) || (filter === 'no-private' && `/${rel}/`.includes('/private/'))
          || (filter === 'no-cache' && rel === 'cache')) continue;
        if (entryStat.isDirectory()) {
          if (!readable(`${src}/${rel}`, constants.R_OK | constants.X_OK)) {
            this.fail(what, entryLogical);
            continue;
          }
          this.dirSource.set(`${base}/${rel}`, `${src}/${rel}`);
          copy(rel, entryStat);
          walk(rel);
        } else if (entryStat.isFile()) {
          if (!readable(`${src}/${rel}`)) {
            this.fail(what, entryLogical);
            continue;
          }
          copy(rel, entryStat);
        } else if (entryStat.isSymbolicLink()) {
          if (filter !== 'regular') copy(rel, entryStat);
        } else {
          this.log.debug(`Skipping special file: ${escPath(entryLogical)}`);
        }
      }
    };
    walk('');
    if (firstError !== undefined) {
      this.fail(what, logical, this.reason(firstError));
      return true;
    }
    this.ok += 1;
    return true;
  }

  /** collect_generated: DEST with this content, mode 0644, mtime = the run start. */
  generated(dest: string, content: Buffer | string): boolean {
    if (!this.makeParents(dest)) return false;
    const file = this.stagingPath(dest);
    try {
      writeFileSync(fsPath(file), typeof content === 'string' ? Buffer.from(content, 'latin1') : content);
      chmodSync(fsPath(file), 0o644);
      utimesSync(fsPath(file), this.startTime, this.startTime);
      return true;
    } catch {
      return false;
    }
  }

  /** collect_command: a command's stdout into DEST; a failure is a WARNING or a DEBUG line by SEVERITY. */
  async command(what: string, dest: string, severity: Severity, argv: readonly string[]): Promise<void> {
    const program = argv[0] ?? '';
    if (!this.hasProgram(program)) {
      this.log.debug(`Command not available: ${program} (skipping ${what})`);
      this.skipped += 1;
      return;
    }
    const result = await this.commands.run(argv);
    if (result.status === 0) {
      if (!this.generated(dest, result.stdout)) {
        this.fail(what, dest);
        return;
      }
      this.ok += 1;
      this.progress.update(`Collecting: ${this.ok} items`);
      return;
    }
    const reason = result.status === 124 || result.status === 137 ? 'timed out' : firstLine(result.stderr) || `exit ${result.status}`;
    const line = `Failed to collect ${what} - command: ${esc(argv.join(' '))} - ${escPath(reason)}`;
    if (severity === 'WARNING') {
      this.failed += 1;
      this.log.warning(line);
    } else {
      this.skipped += 1;
      this.log.debug(line);
    }
  }

  /** collect_switch: true when KEY is on; otherwise logs MESSAGE at SKIP. */
  switchOn(key: BoolKey, message: string): boolean {
    if (this.config[key]) return true;
    this.log.skip(message);
    return false;
  }

  /** collect_finish_dirs: every staged directory gets its source's mode/owner/times, or 0755 and the run start. */
  finishDirs(): void {
    const visit = (rel: string): void => {
      const full = rel === '.' ? this.staging : `${this.staging}/${rel.slice(2)}`;
      for (const name of listDir(full)) {
        if (lstatOf(`${full}/${name}`)?.isDirectory() === true) visit(`${rel}/${name}`);
      }
      const source = rel === '.' ? '' : this.dirSource.get(rel) ?? '';
      const stat = source === '' ? undefined : statOf(source);
      if (stat === undefined) {
        chmodSync(fsPath(full), 0o755);
        utimesSync(fsPath(full), this.startTime, this.startTime);
      } else {
        chmodSync(fsPath(full), stat.mode & 0o7777);
        if (this.asRoot) chownSync(fsPath(full), stat.uid, stat.gid);
        utimesSync(fsPath(full), stat.atime, stat.mtime);
      }
    };
    visit('.');
  }
}
