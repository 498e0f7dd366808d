// `switch-mode restore` on the ts side (restore.md §3-§9): the twin of legacy/lib/restore.sh's cmd_restore over
// the native engine (native/restore: categories, plan, writer) — choose and open the archive, pick categories,
// check the guards, plan against the disk, save what will be replaced, write, report; the options, log lines,
// log file, prompts and exit codes of `legacy/bin/proxmox-restore restore`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface, type Interface } from 'node:readline';
import { join } from 'node:path';
import { escPath, fromBytes, fsPath, toBytes } from '../../core/bytes-path.js';
import { esc } from '../../core/esc.js';
import type { ExitStatus } from '../../core/exit-code.js';
import { humanSize, runTimestamp } from '../../core/human.js';
import { acquireRunLock, type RunLock } from '../../core/lock.js';
import { hasProgram } from '../../core/programs.js';
import { alignTable, ARCHIVE_RE, compressionOf, listTable, sidecarHash, sortRows } from '../../restore/archives.js';
import { categoryRows, CLUSTER_CATEGORIES, GUARDED_CATEGORIES } from '../../restore/categories.js';
import { realDisk } from '../../restore/disk.js';
import { planRestore, scanArchive, type Plan, type PveMode, type Scan } from '../../restore/plan.js';
import { DECOMPRESSORS, readArchiveStream, sha256Within, type StreamOptions } from '../../restore/stream.js';
import { cloudEnabled, cloudFetch, listCloud, listDirectory, readBytes, secondaryEnabled, statBytes, type TierSettings } from '../../restore/tiers.js';
import { writeRestore, type WriteResult } from '../../restore/writer.js';
import { nodeNames, type CliEnvironment } from '../environment.js';
import { openTool, usageError, type ToolContext } from './restore-tool.js';
import { resolveArchive } from './verify.js';

/** restore_finish's early end: the code to exit with once the completion line is logged (or not: `done`). */
class Finish extends Error {
  constructor(readonly code: ExitStatus, readonly done = false) {
    super(`exit ${code}`);
  }
}

interface Options {
  archive: string;
  to: string;
  all: boolean;
  list: boolean;
  dryRun: boolean;
  yes: boolean;
  force: boolean;
  safety: boolean;
  requested: string[];
  identities: string[];
}

/** restore_parse: the options, or a usage error's exit status. */
function parseOptions(codeDir: string, args: readonly string[]): Options | ExitStatus {
  const o: Options = { archive: '', to: '/', all: false, list: false, dryRun: false, yes: false, force: false, safety: true, requested: [], identities: [] };
  let categories = '';
  let named = false;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    const withValue = /^--(archive|categories|to|identity)$/.exec(arg);
    const inline = /^--(archive|categories|to|identity)=(.*)$/s.exec(arg);
    if (withValue !== null || inline !== null) {
      let value: string;
      if (inline !== null) value = inline[2] ?? '';
      else {
        if (i + 1 >= args.length) return usageError(codeDir, `Option ${arg} needs a value`);
        value = args[i + 1] ?? '';
        i += 1;
      }
      const key = (withValue ?? inline)?.[1];
      if (key === 'archive') o.archive = value;
      else if (key === 'categories') {
        categories = value;
        named = true;
      } else if (key === 'to') o.to = value;
      else o.identities.push(value);
    } else if (arg === '--all') o.all = true;
    else if (arg === '--list-categories') o.list = true;
    else if (arg === '--dry-run') o.dryRun = true;
    else if (arg === '--yes') o.yes = true;
    else if (arg === '--force') o.force = true;
    else if (arg === '--no-safety-backup') o.safety = false;
    else return usageError(codeDir, `Unknown option: ${esc(arg)}`);
  }
  if (named && o.all) return usageError(codeDir, '--categories and --all are mutually exclusive');
  if (named) {
    o.requested = categories.split(',');   // IFS=, read -a: a final comma ends the last field
    if (categories.endsWith(',')) o.requested.pop();
    if (categories === '') o.requested = [];
  }
  if (named && o.requested.length === 0) return usageError(codeDir, '--categories needs at least one name');
  return o;
}

/** restore_static_only: --list-categories and no --archive among the subcommand's arguments. */
function staticOnly(args: readonly string[]): boolean {
  const rest: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '-h' || arg === '--help') return false;
    if (arg === '--config' || arg === '-e' || arg === '--env') i += 1;
    else if (!/^(-v|--verbose|-x|--extreme|--config=.*|--env=.*)$/s.test(arg)) rest.push(arg);
  }
  return rest.includes('--list-categories') && !rest.some((a) => a === '--archive' || a.startsWith('--archive='));
}

let lines: { readonly reader: Interface; readonly next: AsyncIterator<string> } | undefined;

/** `read -r -p PROMPT`: the prompt on stderr, one line from stdin (undefined at the end of input). */
async function ask(prompt: string): Promise<string | undefined> {
  process.stderr.write(prompt);
  if (lines === undefined) {
    const reader = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
    lines = { reader, next: reader[Symbol.asyncIterator]() };
  }
  const line = await lines.next.next();
  return line.done === true ? undefined : line.value;
}

/** `awk '{ printf "%-4s%s\n", (NR == 1 ? "#" : NR - 1), $0 }'`. */
const numbered = (table: string): string => table.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1)
  .map((line, i) => `${(i === 0 ? '#' : String(i)).padEnd(4)}${line}\n`).join('');

/** core_free_bytes: `stat -f -c '%a %S'` (available blocks × fundamental block size), undefined when unknown. */
function freeBytes(dir: string, env: Readonly<Record<string, string | undefined>>): number | undefined {
  if (!isDirectory(dir)) return undefined;
  const out = spawnSync('stat', ['-f', '-c', '%a %S', '--', fromBytes(dir)], { env: { ...env }, encoding: 'utf8' });
  const m = /^(\d+) (\d+)/.exec(out.status === 0 ? out.stdout : '');
  return m === null ? undefined : Number(m[1]) * Number(m[2]);
}

/** restore_pmxcfs_running: ROOT/etc/pve is a fuse mount point (mountinfo field 5, the type after `-`). */
function pmxcfsRunning(root: string, env: Readonly<Record<string, string | undefined>>): boolean {
  const point = `${root.replace(/\/$/, '')}/etc/pve`;
  let text: string;
  try {
    text = readFileSync(env.PBK_MOUNTINFO ?? '/proc/self/mountinfo', 'latin1');
  } catch {
    return false;
  }
  return text.split('\n').some((line) => {
    const f = line.split(/[ \t]+/).filter((x) => x !== '');
    let type = '';
    for (let i = 6; i < f.length; i += 1) {
      if (f[i] === '-') {
        type = f[i + 1] ?? '';
        break;
      }
    }
    return (f[4] ?? '').replaceAll('\\040', ' ') === point && (type === 'fuse' || type.startsWith('fuse.'));
  });
}

const isDirectory = (path: string): boolean => statBytes(path)?.isDirectory() === true;

class Restore {
  readonly log;
  readonly settings: TierSettings;
  root = '/';
  archive = '';
  name = '';
  download: string | undefined;
  timestamp: string;
  asRoot: boolean;
  hostname = '';
  logFile = '';
  ageIdentities: string[] = [];
  scan: Scan | undefined;
  selected: string[] = [];
  pmxcfs = false;
  pveMode: PveMode = 'plain';
  plan: Plan | undefined;
  safetyFile = '';
  result: WriteResult = { files: 0, links: 0, dirs: 0, failed: 0 };
  abort = '';
  lock: RunLock | undefined;
  runDir: string;

  constructor(readonly tool: ToolContext, readonly o: Options) {
    this.log = tool.log;
    this.settings = { config: tool.config, env: tool.environment.env };
    this.timestamp = runTimestamp(tool.environment.now());
    this.asRoot = process.geteuid?.() === 0;
    this.runDir = mkdtempSync(join(tool.environment.env.TMPDIR ?? tmpdir(), 'proxmox-restore.'));
  }

  get count(): number {
    return this.tool.exitCode.current;
  }

  /** restore_finish: the completion line at the level of the code, then the end. */
  finish(): never {
    const code = this.count;
    const line = `Restore completed with exit code: ${code}`;
    if (code === 0) this.log.success(line);
    else if (code === 1) this.log.warning(line);
    else this.log.error(line);
    throw new Finish(this.tool.exitCode.current, true);
  }

  fail(message: string): never {
    this.log.error(message);
    this.finish();
  }

  cleanup(): void {
    lines?.reader.close();
    this.lock?.release();
    if (this.download !== undefined) rmSync(this.download, { recursive: true, force: true });
    rmSync(this.runDir, { recursive: true, force: true });
  }

  interactive(): boolean {
    return process.stdin.isTTY === true;
  }

  streamOptions(): StreamOptions {
    return { archive: this.archive, compression: compressionOf(this.name), identities: this.ageIdentities, env: this.settings.env,
      timeoutSeconds: this.tool.config.EXTRACTION_TIMEOUT };
  }

  logFileOpen(): void {
    if (!this.tool.config.ENABLE_LOG_MANAGEMENT) return;
    const dir = this.tool.config.LOCAL_LOG_PATH;
    const file = `${dir}/restore-${this.hostname}-${this.timestamp}.log`;
    try {
      mkdirSync(dir, { recursive: true });
      this.log.attachFile(file);
      this.logFile = file;
    } catch {
      this.log.warning(`Cannot create log file ${esc(file)}; logging to the console only`);
    }
  }

  target(): void {
    try {
      const root = realpathSync(fsPath(toBytes(this.o.to)), { encoding: 'buffer' }).toString('latin1');
      if (isDirectory(root)) {
        this.root = root;
        return;
      }
    } catch { /* below */ }
    this.fail(`Target is not a directory: ${esc(this.o.to)}`);
  }

  async pickArchive(): Promise<void> {
    if (this.o.archive !== '') {
      const resolved = await resolveArchive(this.tool, this.settings, this.o.archive);
      if (typeof resolved === 'number') throw new Finish(resolved);
      this.archive = resolved.archive;
      this.download = resolved.download;
      return;
    }
    if (!this.interactive()) this.fail('--archive is required when not running on a terminal');
    const listings = [await listDirectory('local', this.tool.config.LOCAL_BACKUP_PATH, false, this.settings)];
    if (secondaryEnabled(this.settings)) listings.push(await listDirectory('secondary', this.tool.config.SECONDARY_BACKUP_PATH, false, this.settings));
    if (cloudEnabled(this.settings)) listings.push(await listCloud(false, this.settings));
    for (const l of listings) if (l.error !== undefined) this.log.warning(`Cannot list ${l.error.tier}: ${l.error.message}`);
    const rows = sortRows(listings.flatMap((l) => l.rows));
    if (rows.length === 0) this.fail('No archives found');
    process.stdout.write(numbered(listTable(rows)));
    const answer = await ask(`Select an archive [1-${rows.length}, 0 to cancel]: `) ?? '0';
    if (answer === '0') {
      this.log.info('Cancelled');
      throw new Finish(0);
    }
    const n = /^[0-9]+$/.test(answer) ? Number(answer) : 0;
    if (n < 1 || n > rows.length) this.fail(`Not a choice: ${esc(answer)}`);
    const row = rows[n - 1];
    if (row === undefined) return;
    if (row.tier === 'cloud') {
      const fetched = await cloudFetch(row.name, this.tool.environment.baseDir, this.tool.environment.now(), this.settings);
      if (fetched.kind === 'fetched') {
        this.archive = fetched.archive;
        this.download = fetched.dir;
        return;
      }
      if (fetched.kind === 'failed') {
        this.download = fetched.dir;
        this.log.error(fetched.message);
        throw new Finish(2);
      }
      this.fail(`Cannot download ${escPath(row.name)}: not found on the remote`);
    }
    this.archive = row.location;
  }

  async checksum(): Promise<void> {
    let state = 'missing';
    let expected: string | undefined;
    if (statBytes(`${this.archive}.sha256`) !== undefined) {
      state = 'invalid';
      expected = sidecarHash(readBytes(`${this.archive}.sha256`) ?? '', this.name);
      if (expected !== undefined) state = 'ok';
    }
    if (state !== 'ok') {
      if (this.o.force) {
        this.log.warning(`Checksum file ${state}: ${escPath(this.name)}.sha256`);
        return;
      }
      this.fail(`Checksum file ${state}: ${escPath(this.name)}.sha256 (use --force to restore anyway)`);
    }
    if (await sha256Within(this.archive, this.tool.config.VERIFICATION_TIMEOUT) !== expected) this.fail(`Checksum mismatch for ${escPath(this.name)}`);
    this.log.success('Checksum ok');
  }

  identities(): void {
    if (!this.name.endsWith('.age')) return;
    if (this.o.identities.length === 0) this.fail('Encrypted archive: --identity is required');
    for (const file of this.o.identities) {
      let ok = false;
      try {
        ok = statSync(file).isFile();
        if (ok) closeSync(openSync(file, 'r'));   // the -r test
      } catch {
        ok = false;
      }
      if (!ok) this.fail(`Cannot read identity ${esc(file)}: not a readable file`);
    }
    if (!hasProgram('age', this.settings.env.PATH ?? '')) this.fail(`Cannot decrypt ${escPath(this.name)}: age not found`);
    this.ageIdentities = this.o.identities;
  }

  async scanArchive(): Promise<Scan> {
    const program = DECOMPRESSORS[compressionOf(this.name)]?.[0] ?? 'cat';
    if (!hasProgram(program, this.settings.env.PATH ?? '')) this.fail(`Cannot decompress ${escPath(this.name)}: ${program} not found`);
    const read = await readArchiveStream(this.name, this.streamOptions(), scanArchive);
    if (!read.ok) this.fail(read.message);
    this.log.info(`Archive read: ${read.value.entries.length} entries`);
    return read.value;
  }

  countedTable(scan: Scan): string {
    return alignTable([['CATEGORY', 'ENTRIES', 'ON /'], ...scan.counts.map((c) => [c.name, String(c.count), c.onRoot])]);
  }

  async select(scan: Scan): Promise<void> {
    const order = scan.counts.map((c) => c.name);
    const countOf = (c: string): number => scan.counts.find((x) => x.name === c)?.count ?? 0;
    let all = this.o.all;
    let requested = this.o.requested;
    if (!all && requested.length === 0) {
      if (!this.interactive()) this.fail('--categories or --all is required when not running on a terminal');
      const names = order.filter((c) => c !== '(reports)');
      process.stdout.write(numbered(this.countedTable(scan)));
      const answer = await ask('Categories to restore (names or numbers, comma-separated, or all): ') ?? '';
      if (answer === 'all') all = true;
      else {
        const picked = answer.replaceAll(' ', '').split(',');
        if (answer.replaceAll(' ', '').endsWith(',')) picked.pop();
        requested = picked.flatMap((item) => {
          if (/^[0-9]+$/.test(item) && Number(item) >= 1 && Number(item) <= names.length) return [names[Number(item) - 1] ?? ''];
          return item === '' ? [] : [item];
        });
        if (requested.length === 0) {
          this.log.info('Cancelled');
          throw new Finish(0);
        }
      }
    }
    this.selected = [];
    if (all) {
      for (const item of order) {
        if (item === '(reports)') continue;
        if (this.root === '/' && (item === 'tool' || GUARDED_CATEGORIES.includes(item))) {
          if (countOf(item) !== 0) this.log.info(`Not restored by --all on /: ${item} (name it with --categories)`);
          continue;
        }
        this.selected.push(item);
      }
    } else {
      const valid = order.slice(0, -1).join(',');
      for (const item of requested) {
        if (item === '(reports)' || !order.includes(item)) this.fail(`Unknown category: ${esc(item)} (valid: ${valid})`);
        if (this.selected.includes(item)) continue;
        if (item === 'tool' && this.root === '/') {
          this.log.warning('Skipped tool: restored only to a root other than /');
          continue;
        }
        if (countOf(item) === 0) this.log.warning(`Category ${item} has no entries in this archive`);
        this.selected.push(item);
      }
    }
    this.log.info(`Categories: ${this.selected.join(',')}`);
  }

  product(): void {
    if (this.root !== '/') return;
    const m = ARCHIVE_RE.exec(this.name);
    const type = m?.[1];
    const host = m?.[2];
    let hostType = '';
    if (isDirectory('/etc/pve') || isDirectory('/var/lib/pve-cluster')) hostType = 'pve';
    if (isDirectory('/etc/proxmox-backup')) hostType = hostType === '' ? 'pbs' : 'dual';
    if (type !== undefined && hostType !== '' && hostType !== 'dual' && (type === 'pve' || type === 'pbs') && type !== hostType) {
      if (this.o.force) this.log.warning(`Archive is a ${type} backup but this host is ${hostType}`);
      else this.fail(`Archive is a ${type} backup but this host is ${hostType}; use --force to restore anyway`);
    }
    if (host !== undefined && host !== '' && host !== toBytes(this.hostname)) {
      this.log.warning(`Archive was made on ${escPath(host)}; this host is ${esc(this.hostname)}`);
    }
  }

  guards(): void {
    let stop = false;
    const shown = `${this.root.replace(/\/$/, '')}/etc/pve`;
    this.pmxcfs = pmxcfsRunning(this.root, this.settings.env);
    for (const item of this.selected) {
      if (!GUARDED_CATEGORIES.includes(item)) continue;
      if (this.root === '/' && !this.o.yes) {
        if (this.o.dryRun) this.log.warning(`Dry run: category ${item} would need --yes`);
        else {
          this.log.error(`Category ${item} needs --yes when restoring to /`);
          if (CLUSTER_CATEGORIES.includes(item)) stop = true;
        }
      }
      if (this.pmxcfs && CLUSTER_CATEGORIES.includes(item)) {
        if (this.o.dryRun) this.log.warning(`Dry run: category ${item} would need pmxcfs stopped`);
        else {
          this.log.error(`Category ${item} cannot be restored while pmxcfs is running (${escPath(shown)} is mounted)`);
          stop = true;
        }
      }
    }
    if (stop) {
      for (const line of ['Stop the cluster stack on this node first:', '  systemctl stop pve-ha-lrm pve-ha-crm', '  systemctl stop pve-cluster corosync',
        'Then run the same restore command again with --yes.']) this.log.info(line);
    }
    if (this.count >= 2) this.finish();
  }

  pveModeOf(): PveMode {
    if (this.pmxcfs) return 'pmxcfs';
    if (this.root === '/' || statBytes(`${this.root.replace(/\/$/, '')}/var/lib/pve-cluster/config.db`) !== undefined) return 'blocked';
    return 'plain';
  }

  record(level: string, message: string): void {
    if (level === 'ERROR') this.log.error(message);
    else if (level === 'WARNING') this.log.warning(message);
    else if (level === 'DEBUG') this.log.debug(message);
    else this.log.info(message);
  }

  spaceFits(dir: string, need: number): void {
    const free = freeBytes(dir, this.settings.env);
    if (free !== undefined && need > free) this.fail(`Not enough free space in ${escPath(dir)}: need ${humanSize(need)}, available ${humanSize(free)}`);
  }

  spaceCheck(plan: Plan): void {
    for (const [dir, need] of plan.space) this.spaceFits(dir, need);
    if (!this.o.safety) return;
    let dir = toBytes(`${this.tool.environment.baseDir}/restore-safety`);
    while (!isDirectory(dir) && dir !== '/') dir = dir.slice(0, Math.max(1, dir.lastIndexOf('/')));
    this.spaceFits(dir, plan.safetyBytes);
  }

  async confirm(plan: Plan): Promise<void> {
    if (this.root !== '/' || this.o.dryRun || this.o.yes) return;
    if (!this.interactive()) this.fail('Restoring to / needs --yes when not running on a terminal');
    const answer = await ask(`Restore ${plan.writes} entries (${this.selected.join(',')}) to /? [y/N]: `) ?? '';
    if (!/^([yY]|[yY][eE][sS])$/.test(answer)) {
      this.log.info('Cancelled');
      throw new Finish(0);
    }
  }

  safetyBackup(plan: Plan): void {
    if (!this.o.safety) {
      this.log.info('Safety backup disabled by --no-safety-backup');
      return;
    }
    if (plan.safety.length === 0) {
      this.log.info('Safety backup: not needed (nothing is replaced)');
      return;
    }
    const dir = `${this.tool.environment.baseDir}/restore-safety`;
    try {
      mkdirSync(dir, { recursive: true });
      spawnSync('chmod', ['0700', '--', dir]);
      if (!isDirectory(toBytes(dir))) throw new Error('not a directory');
    } catch {
      this.fail(`Cannot write safety backup: cannot create ${esc(dir)}`);
    }
    const base = `${dir}/restore-safety-${this.timestamp}`;
    let file = `${base}.tar.gz`;
    for (let n = 2; statBytes(toBytes(file)) !== undefined; n += 1) file = `${base}-${n}.tar.gz`;
    const list = join(this.runDir, 'safety.list');
    writeFileSync(list, Buffer.from(plan.safety.map((n) => `./${n}\0`).join(''), 'latin1'));
    const err = join(this.runDir, 'safety.err');
    const tar = spawnSync('bash', ['-c', `umask 077 && set -o pipefail && tar -C "$1" --format=pax --numeric-owner --no-recursion --no-xattrs --no-acls \
--no-selinux '--pax-option=delete=atime,delete=ctime' --null --verbatim-files-from '--pax-option=delete=mtime' -T "$2" -cf - 2> "$3" | gzip -n > "$4"`,
    '_', fromBytes(this.root), list, err, `${file}.tmp`], { env: { ...this.settings.env }, stdio: 'ignore' });
    if (tar.status !== 0) {
      rmSync(`${file}.tmp`, { force: true });
      let reason = 'tar failed';
      try {
        reason = readFileSync(err, 'latin1').split('\n').find((l) => l !== '') ?? reason;
      } catch { /* tar failed */ }
      this.fail(`Cannot write safety backup: ${escPath(reason)}`);
    }
    try {
      const sha = createHash('sha256').update(readFileSync(`${file}.tmp`)).digest('hex');
      renameSync(`${file}.tmp`, file);
      writeFileSync(`${file}.sha256.tmp`, `${sha}  ${file.slice(file.lastIndexOf('/') + 1)}\n`, { mode: 0o600 });
      renameSync(`${file}.sha256.tmp`, `${file}.sha256`);
    } catch {
      rmSync(`${file}.tmp`, { force: true });
      rmSync(file, { force: true });
      this.fail(`Cannot write safety backup: cannot write ${esc(file)}`);
    }
    this.safetyFile = file;
    this.log.info(`Safety backup: ${esc(file)} (${plan.safety.length} entries)`);
  }

  async write(scan: Scan, plan: Plan): Promise<void> {
    let interrupted = false;
    const abort = new AbortController();
    const onSignal = (): void => {
      interrupted = true;
      abort.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const now = this.tool.environment.now;
    try {
      const read = await readArchiveStream(this.name, { ...this.streamOptions(), signal: abort.signal }, (reader) => writeRestore(reader, scan.entries, plan, {
        root: this.root, asRoot: this.asRoot, pveMode: this.pveMode, interrupted: () => interrupted,
        log: (r) => this.record(r.level, r.message),
        ...(process.stderr.isTTY === true ? { progress: { stream: process.stderr, now: () => now().getTime() / 1000 } } : {}),
      }, this.result));
      const stop = read.ok ? read.value.stop : undefined;
      if (interrupted) this.abort = 'Restore interrupted';
      else if (!read.ok) this.abort = read.message;
      else if (stop?.kind === 'abort') this.abort = `Restore aborted: ${stop.reason} (${stop.path})`;
      else if (stop?.kind === 'changed') this.abort = 'Archive changed while restoring';
      else if (stop?.kind === 'interrupted') this.abort = 'Restore interrupted';
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (this.abort !== '') this.log.error(this.abort);
  }

  hints(plan: Plan, scan: Scan): void {
    const hints = new Set(plan.hints);
    if (this.root === '/' && this.abort === '' && !this.o.dryRun) {
      if (hints.has('cluster')) {
        for (const line of ['Start the cluster stack again:', '  systemctl start corosync pve-cluster', '  systemctl start pve-ha-crm pve-ha-lrm']) this.log.info(line);
      }
      if (hints.has('network')) this.log.info('Review the network files, then apply them with: ifreload -a');
      if (hints.has('pbs')) this.log.info('Reload PBS: systemctl reload-or-restart proxmox-backup proxmox-backup-proxy');
      if (hints.has('systemd')) this.log.info('Reload systemd: systemctl daemon-reload');
    }
    const corosync = scan.counts.find((c) => c.name === 'corosync')?.count ?? 0;
    if (this.selected.includes('corosync') && corosync > 0 && !hints.has('authkey')) {
      this.log.info('The archive holds no /etc/corosync/authkey; copy it from a working cluster node');
    }
  }

  report(plan: Plan, scan: Scan): void {
    const { files, links, dirs, failed } = this.result;
    this.log.info('Restore summary:');
    this.log.info(`Archive: ${escPath(this.name)}`);
    this.log.info(`Target: ${escPath(this.root)}`);
    this.log.info(`Categories: ${this.selected.join(',')}`);
    this.log.info(`Restored: ${files} files, ${links} symlinks, ${dirs} directories`);
    this.log.info(`Skipped: ${plan.notSelected + plan.reports + plan.other} entries (${plan.notSelected} not selected, ${plan.reports} reports, ${plan.other} other)`);
    this.log.info(`Refused: ${plan.refused} entries`);
    this.log.info(`Failed: ${failed + plan.failed} entries`);
    if (this.safetyFile !== '') {
      this.log.info(`Safety backup: ${esc(this.safetyFile)} (${plan.safety.length} entries)`);
      this.log.info(`Undo: bin/switch-mode restore --archive ${esc(this.safetyFile)} --categories ${plan.safetyCategories} --to ${escPath(this.root)} --yes`);
    }
    if (this.logFile !== '') this.log.info(`Log file: ${esc(this.logFile)}`);
    this.hints(plan, scan);
  }

  async run(): Promise<ExitStatus> {
    this.hostname = (await nodeNames()).fqdn;
    if (!this.o.list) this.logFileOpen();
    this.target();
    await this.pickArchive();
    this.name = this.archive.slice(this.archive.lastIndexOf('/') + 1);
    this.log.step(`Restore from ${escPath(this.name)} to ${escPath(this.root)}`);
    await this.checksum();
    this.identities();
    const scan = await this.scanArchive();
    if (this.o.list) {
      process.stdout.write(this.countedTable(scan));
      return 0;
    }
    await this.select(scan);
    this.product();
    this.guards();
    this.pveMode = this.pveModeOf();
    if (this.root === '/' && !this.o.dryRun && !this.asRoot) this.fail('Restoring to / needs root');
    if (!this.asRoot) this.log.info('Not running as root: owners are not restored');
    if (!this.o.dryRun) {
      const lock = acquireRunLock(this.tool.environment.baseDir, esc);
      if (!lock.ok) {
        this.log.error(lock.error);
        this.finish();
      }
      this.lock = lock.lock;
      for (const note of lock.notes) this.record(note.level, note.message);
    }
    const plan = planRestore(scan.entries, realDisk, { root: this.root, selected: this.selected, pveMode: this.pveMode, dryRun: this.o.dryRun, asRoot: this.asRoot });
    for (const r of plan.logs) this.record(r.level, r.message);
    this.spaceCheck(plan);
    await this.confirm(plan);
    if (!this.o.dryRun) {
      this.safetyBackup(plan);
      await this.write(scan, plan);
    }
    this.report(plan, scan);
    this.finish();
  }
}

export async function runRestore(environment: CliEnvironment, args: readonly string[]): Promise<ExitStatus> {
  if (staticOnly(args)) {
    process.stdout.write(alignTable([['CATEGORY', 'ON /', 'COVERS'], ...categoryRows()]));
    return 0;
  }
  const tool = openTool(environment, args);
  if (typeof tool === 'number') return tool;
  const options = parseOptions(environment.codeDir, tool.rest);
  if (typeof options === 'number') return options;
  const restore = new Restore(tool, options);
  try {
    return await restore.run();
  } catch (error) {
    if (error instanceof Finish) return error.code;
    throw error;
  } finally {
    restore.cleanup();
  }
}
