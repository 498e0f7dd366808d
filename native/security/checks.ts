// The security checks (security.md §2-§5), in-process: A configuration file, B installation tree, C integrity
// manifest, D sensitive files and backups, E processes, F firewall, G listening ports — the same findings, in
// the same order and words, as legacy/lib/security.sh. One walk of the installation gives both B (modes and
// owners of every entry, node_modules included) and C (the covered set); hashes are streamed. Paths are
// Buffers throughout: a name need not be UTF-8, and esc() must see its bytes.
import { createHash } from 'node:crypto';
import { closeSync, constants, lstatSync, openSync, readSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, accessSync, type Stats } from 'node:fs';
import type { ConfigValues } from '../core/config-keys.js';
import type { RunLog } from '../core/log.js';
import { escBytes } from '../core/esc.js';
import { runProgram, type ProgramResult } from './program.js';

export const SEC_ROOTS = ['bin', 'legacy', 'shims', 'native', 'dist'] as const;
export const SEC_FILES = ['VERSION', 'flags.json', 'package.json', 'package-lock.json', 'env/backup.env'] as const;
const CAP = 20;
const MANIFEST_LINE = /^([0-9a-f]{64}) {2}(.+)$/s;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface CheckOptions {
  /** The installation checked (B, C). */
  readonly baseDir: string;
  /** Where config/integrity.sha256 is (default baseDir): a shadow candidate's scratch copy of config/. */
  readonly manifestDir?: string;
  readonly configFile: string;
  readonly log: RunLog;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The configuration (CHECK_FIREWALL, LOCAL_BACKUP_PATH, …) as the stage or the tool read it, typed. */
  readonly config: ConfigValues;
  readonly hostname: string;
  readonly uid: number;
}

export type Kind = 'changed' | 'added' | 'missing' | 'unreadable';

const B = (text: string): Buffer => Buffer.from(text, 'utf8');
const join = (...parts: Buffer[]): Buffer => Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [B('/'), p])));
const octal = (mode: number): string => mode.toString(8).padStart(4, '0');
const byPath = (a: { path: Buffer }, b: { path: Buffer }): number => Buffer.compare(a.path, b.path);

function validUtf8(bytes: Buffer): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function lstatOrUndefined(path: Buffer | string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function readable(path: Buffer): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * One file's SHA-256, read through one shared 1 MiB buffer: no stream, no buffer per chunk (the installation's few
 * hundred files were 8 streams at a time, and their chunks kept the garbage collector busy for most of the gate).
 */
const HASH_BUFFER = Buffer.allocUnsafe(1 << 20);
function sha256File(path: Buffer): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, HASH_BUFFER, 0, HASH_BUFFER.length, null); n > 0; n = readSync(fd, HASH_BUFFER, 0, HASH_BUFFER.length, null)) {
      hash.update(HASH_BUFFER.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

interface Issue { readonly path: Buffer; readonly message: string }
interface Entry { readonly type: string; readonly rel: Buffer }

/** find's %y letter of an lstat result. */
function typeLetter(stats: Stats): string {
  if (stats.isFile()) return 'f';
  if (stats.isDirectory()) return 'd';
  if (stats.isSymbolicLink()) return 'l';
  if (stats.isFIFO()) return 'p';
  if (stats.isSocket()) return 's';
  if (stats.isCharacterDevice()) return 'c';
  return 'b';
}

export class SecurityChecks {
  findings = 0;
  permissionIssues = 0;
  processIssues = '';
  firewallRules = '';
  portIssues = '';
  readonly changed: string[] = [];
  readonly added: string[] = [];
  readonly missing: string[] = [];
  readonly unreadable: string[] = [];
  malformed = 0;
  manifestState: 'present' | 'absent' | 'irregular' = 'absent';
  integrityFiles = 0;
  /** The current set, "<hex>  <rel>" by rel (bytewise); the recorded valid lines by rel. */
  current = new Map<string, string>();
  recorded = new Map<string, string>();
  /** B's findings on the walked entries (the walk keeps no lstat result: 8 000 of them kept the GC busy). */
  private treeIssues: Issue[] = [];
  private covered: Entry[] = [];

  constructor(private readonly o: CheckOptions) {}

  get manifestPath(): string {
    return `${this.o.manifestDir ?? this.o.baseDir}/config/integrity.sha256`;
  }

  private finding(message: string): void {
    this.findings += 1;
    this.o.log.warning(message);
  }

  private goodOwner(uid: number): boolean {
    return uid === 0 || uid === this.o.uid;
  }

  /** The capped list of B and D: bytewise path order (stable), 20 lines, then M6; all counted. */
  private capped(issues: Issue[]): void {
    const sorted = [...issues].sort(byPath);
    sorted.forEach((issue, i) => {
      this.findings += 1;
      this.permissionIssues += 1;
      if (i < CAP) this.o.log.warning(issue.message);
    });
    if (sorted.length > CAP) this.o.log.warning(`… and ${sorted.length - CAP} more permission issue(s)`);
  }

  private modeIssues(path: Buffer, stats: Stats, stickyOk: boolean, into: Issue[]): void {
    const mode = stats.mode & 0o7777;
    if ((mode & 0o022) !== 0 && !(stickyOk && (mode & 0o1000) !== 0)) {
      into.push({ path, message: `Writable by group or others: ${escBytes(path)} (mode ${octal(mode)})` });
    }
    if (!this.goodOwner(stats.uid)) into.push({ path, message: `Wrong owner on ${escBytes(path)}: uid ${stats.uid} (expected uid 0)` });
  }

  /** A: the configuration file actually loaded and its directory. */
  checkConfig(): void {
    const file = this.o.configFile;
    let stats: Stats;
    try {
      stats = statSync(file);
    } catch {
      return;
    }
    const mode = octal(stats.mode & 0o7777);
    const count = (message: string): void => {
      this.finding(message);
      this.permissionIssues += 1;
    };
    if (mode !== '0600' && mode !== '0400') count(`Insecure permissions on configuration file ${escBytes(B(file))}: ${mode} (expected 0600 or 0400)`);
    if (!this.goodOwner(stats.uid)) count(`Wrong owner on ${escBytes(B(file))}: uid ${stats.uid} (expected uid 0)`);
    const real = realpathSync(file);
    const dir = real.slice(0, real.lastIndexOf('/')) || '/';
    const dirStats = statSync(dir);
    if ((dirStats.mode & 0o022) !== 0) count(`Writable by group or others: ${escBytes(B(dir))} (mode ${octal(dirStats.mode & 0o7777)})`);
    if (!this.goodOwner(dirStats.uid)) count(`Wrong owner on ${escBytes(B(dir))}: uid ${dirStats.uid} (expected uid 0)`);
  }

  /**
   * The one walk: every entry under the covered roots and BASE_DIR/node_modules, lstat-ed once (for B); the
   * covered set (for C) is the non-directories of the roots outside directories named node_modules.
   */
  walk(): void {
    const base = B(this.o.baseDir);
    this.treeIssues = [];
    this.covered = [];
    const visit = (path: Buffer, rel: Buffer | undefined, stats: Stats): void => {
      if (!stats.isSymbolicLink()) this.modeIssues(path, stats, false, this.treeIssues);
      if (rel !== undefined && !stats.isDirectory()) this.covered.push({ type: typeLetter(stats), rel });
      if (!stats.isDirectory()) return;
      let names: Buffer[];
      try {
        names = readdirSync(path, { encoding: 'buffer' });
      } catch {
        return;
      }
      for (const name of names) {
        const child = join(path, name);
        const childStats = lstatOrUndefined(child);
        if (childStats === undefined) continue;
        const pruned = rel === undefined || (childStats.isDirectory() && name.equals(B('node_modules')));
        visit(child, pruned ? undefined : join(rel, name), childStats);
      }
    };
    for (const root of [...SEC_ROOTS, 'node_modules']) {
      const path = join(base, B(root));
      const stats = lstatOrUndefined(path);
      if (stats === undefined || !stats.isDirectory()) continue;
      visit(path, root === 'node_modules' ? undefined : B(root), stats);
    }
  }

  /** B: BASE_DIR, the roots' entries, the covered files but backup.env, node_modules, the ancestors. */
  checkTree(): void {
    const issues: Issue[] = [];
    const base = B(this.o.baseDir);
    const top = [base, ...SEC_FILES.filter((f) => f !== 'env/backup.env').map((f) => join(base, B(f)))];
    for (const path of top) {
      const stats = lstatOrUndefined(path);
      if (stats !== undefined && !stats.isSymbolicLink()) this.modeIssues(path, stats, false, issues);
    }
    issues.push(...this.treeIssues);
    let ancestor = realpathSync(this.o.baseDir);
    while (ancestor !== '/') {
      ancestor = ancestor.slice(0, ancestor.lastIndexOf('/')) || '/';
      const stats = lstatOrUndefined(ancestor);
      if (stats !== undefined && !stats.isSymbolicLink()) this.modeIssues(B(ancestor), stats, true, issues);
    }
    this.capped(issues);
  }

  /** D: config/, lock/, the identity and manifest files, the backup and log paths, this host's archives. */
  checkSensitive(): void {
    const issues: Issue[] = [];
    for (const rel of ['config', 'lock', 'config/.server_identity', 'config/integrity.sha256']) {
      const path = B(`${this.o.baseDir}/${rel}`);
      const stats = lstatOrUndefined(path);
      if (stats === undefined || stats.isSymbolicLink()) continue;
      const mode = stats.mode & 0o7777;
      if ((mode & 0o077) !== 0) {
        issues.push({ path, message: `Insecure permissions on ${escBytes(path)}: ${octal(mode)} (expected ${stats.isDirectory() ? '0700' : '0600'})` });
      }
      if (!this.goodOwner(stats.uid)) issues.push({ path, message: `Wrong owner on ${escBytes(path)}: uid ${stats.uid} (expected uid 0)` });
    }
    const backupPath = this.o.config.LOCAL_BACKUP_PATH;
    for (const dir of [backupPath, this.o.config.LOCAL_LOG_PATH]) {
      if (dir === '') continue;
      const stats = lstatOrUndefined(dir);
      if (stats === undefined || !stats.isDirectory()) continue;
      const mode = stats.mode & 0o7777;
      if ((mode & 0o022) !== 0) issues.push({ path: B(dir), message: `Writable by group or others: ${escBytes(B(dir))} (mode ${octal(mode)})` });
    }
    const dirStats = lstatOrUndefined(backupPath);
    if (backupPath !== '' && dirStats?.isDirectory() === true) {
      const host = this.o.hostname.replace(/[\][\\.*^$+?(){}|/]/g, '\\$&');
      const pattern = new RegExp(`^(pve|pbs|dual|unknown)-backup-${host}-[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2}\\.(tar(\\.(xz|zst|gz|bz2|lzma))?(\\.age)?(\\.sha256|\\.metadata)?|log|json|log\\.json)$`, 's');
      let names: Buffer[] = [];
      try {
        names = readdirSync(backupPath, { encoding: 'buffer' });
      } catch {
        names = [];
      }
      for (const name of names) {
        if (!pattern.test(name.toString('latin1'))) continue;
        const path = join(B(backupPath), name);
        const stats = lstatOrUndefined(path);
        if (stats === undefined || !stats.isFile() || (stats.mode & 0o007) === 0) continue;
        issues.push({ path, message: `Backup file readable by others: ${escBytes(path)} (mode ${octal(stats.mode & 0o7777)})` });
      }
    }
    this.capped(issues);
  }

  /** C, step 1-2: the manifest read; M14/M15/M16. */
  private readManifest(quietAbsent: boolean): void {
    const path = this.manifestPath;
    this.recorded = new Map();
    const stats = lstatOrUndefined(path);
    if (stats !== undefined && !stats.isFile()) {
      this.manifestState = 'irregular';
      this.finding(`Integrity manifest is not a regular file: ${escBytes(B(path))}`);
      return;
    }
    if (stats === undefined) {
      this.manifestState = 'absent';
      if (!quietAbsent) this.finding(`Integrity manifest not found: ${escBytes(B(path))}`);
      return;
    }
    this.manifestState = 'present';
    const lines = readFileSync(path).toString('latin1').split('\n');
    if (lines.at(-1) === '') lines.pop();
    let bad = 0;
    lines.forEach((raw, index) => {
      const line = raw.replace(/\0/g, '');   // bash's read drops NUL bytes
      const match = MANIFEST_LINE.exec(line);
      const rel = match?.[2];
      const bytes = Buffer.from(line, 'latin1');
      const name = rel === undefined ? '' : Buffer.from(rel, 'latin1').toString('utf8');
      if (match !== null && rel !== undefined && validUtf8(bytes) && relpathOk(name) && !this.recorded.has(name)) {
        this.recorded.set(name, match[1] ?? '');
        return;
      }
      bad += 1;
      this.malformed += 1;
      this.findings += 1;
      if (bad <= CAP) this.o.log.warning(`Integrity manifest line ${index + 1} is malformed`);
    });
    if (bad > CAP) this.o.log.warning(`Integrity manifest has ${bad - CAP} more malformed line(s)`);
  }

  /** C, step 3: the current set hashed (M12/M13 for what is not listed); unreadable files apart. */
  private async currentSet(): Promise<string[]> {
    const entries = [...this.covered].sort((a, b) => Buffer.compare(a.rel, b.rel));
    for (const file of SEC_FILES) {
      const stats = lstatOrUndefined(`${this.o.baseDir}/${file}`);
      if (stats === undefined) continue;
      entries.push({ type: stats.isSymbolicLink() ? 'l' : stats.isFile() ? 'f' : 'x', rel: B(file) });
    }
    const base = B(this.o.baseDir);
    const list: string[] = [];
    const unreadableNow: string[] = [];
    for (const { type, rel } of entries) {
      if (rel.some((byte) => byte < 0x20 || byte === 0x5c) || !validUtf8(rel)) {
        this.finding(`Integrity: unsupported entry skipped: ${escBytes(rel)}`);
        continue;
      }
      const path = join(base, rel);
      if (type === 'f') {
        if (readable(path)) list.push(rel.toString('utf8'));
        else unreadableNow.push(rel.toString('utf8'));
      } else if (type === 'l') {
        let target: Buffer = Buffer.alloc(0);
        try {
          target = readlinkSync(path, { encoding: 'buffer' });
        } catch {
          target = Buffer.alloc(0);
        }
        this.finding(`Integrity: unexpected symlink: ${escBytes(rel)} -> ${escBytes(target)}`);
      } else {
        this.finding(`Integrity: unsupported entry skipped: ${escBytes(rel)}`);
      }
    }
    const hashes = list.map((rel) => sha256File(join(base, B(rel))));
    const pairs = list.map((rel, i) => [rel, hashes[i] ?? ''] as const)
      .sort((a, b) => Buffer.compare(B(a[0]), B(b[0])));
    this.current = new Map(pairs);
    this.integrityFiles = pairs.length;
    return unreadableNow;
  }

  /** C: compare; M8-M11 and M18 (mode check), or T3 lines (mode record, security-check --update-hashes). */
  async checkIntegrity(mode: 'check' | 'record' = 'check'): Promise<void> {
    const before = this.findings;
    this.readManifest(mode === 'record');
    const unreadableNow = await this.currentSet();
    if (this.manifestState !== 'present') return;
    for (const [rel, kind] of compare(this.recorded, this.current, unreadableNow)) {
      if (kind === 'unreadable') {
        this.unreadable.push(rel);
        this.finding(`Integrity: cannot read ${rel}: Permission denied`);
      } else if (mode === 'record') {
        this.o.log.info(kind === 'changed' ? `Integrity: recording changed file: ${rel}`
          : kind === 'added' ? `Integrity: recording added file: ${rel}` : `Integrity: dropping missing file: ${rel}`);
      } else {
        (kind === 'changed' ? this.changed : kind === 'added' ? this.added : this.missing).push(rel);
        this.finding(`Integrity: file ${kind}: ${rel}`);
      }
    }
    if (mode === 'check' && this.findings === before) this.o.log.info(`Integrity manifest verified: ${this.integrityFiles} files`);
  }

  /** How many §3.4 findings the integrity check made (an absent or irregular manifest included). */
  differences(): number {
    const n = this.changed.length + this.added.length + this.missing.length + this.unreadable.length + this.malformed;
    return this.manifestState === 'present' ? n : n + 1;
  }

  /** The manifest text: the current set, unreadable files keeping their recorded line, by relpath. */
  manifestText(): string {
    const lines = new Map(this.current);
    for (const rel of this.unreadable) {
      const old = this.recorded.get(rel);
      if (old !== undefined) lines.set(rel, old);
    }
    return [...lines].sort((a, b) => Buffer.compare(B(a[0]), B(b[0]))).map(([rel, hash]) => `${hash}  ${rel}\n`).join('');
  }

  /** Runs one check program (§5.1): stdout as bytes in a latin1 string, or undefined after M31. */
  private async run(argv: string[]): Promise<string | undefined> {
    const result: ProgramResult = await runProgram(argv, this.o.env);
    if (result.status === 0) return result.stdout.replace(/\0/g, '');   // as bash's $(…) drops NUL bytes
    const first = result.timedOut ? 'timed out' : result.firstStderrLine === '' ? `exit ${result.status}` : result.firstStderrLine;
    this.finding(`Security check command failed: ${escBytes(Buffer.from(argv.join(' '), 'utf8'))} - ${escBytes(Buffer.from(first, 'latin1'))}`);
    return undefined;
  }

  private has(program: string): boolean {
    for (const dir of (this.o.env.PATH ?? '').split(':')) {
      if (dir === '') continue;
      try {
        const stats = statSync(`${dir}/${program}`);
        if (!stats.isDirectory()) {
          accessSync(`${dir}/${program}`, constants.X_OK);
          return true;
        }
      } catch {
        // not here
      }
    }
    return false;
  }

  /** E: `ps -eo pid=,uid=,comm=`; exact miner names (§5.2). */
  async checkProcesses(): Promise<void> {
    if (!this.has('ps')) {
      this.finding('Process check skipped: ps not found');
      return;
    }
    const out = await this.run(['ps', '-eo', 'pid=,uid=,comm=']);
    if (out === undefined) return;
    let count = 0;
    let ignored = 0;
    const suspicious: { pid: string; uid: string; name: string; line: string }[] = [];
    for (const line of lines(out)) {
      if (line === '') continue;
      const match = /^[ \t\n\v\f\r]*([0-9]+)[ \t\n\v\f\r]+([0-9]+)[ \t\n\v\f\r]+(.+[^ \t\n\v\f\r])[ \t\n\v\f\r]*$/s.exec(line);
      if (match === null) {
        ignored += 1;
        continue;
      }
      const [, pid = '', uid = '', name = ''] = match;
      count += 1;
      if (/^(cpuminer|cryptominer|kdevtmpfsi|kinsing|minerd|ncat|xmr-stak|xmrig)([-_.].*)?$/s.test(name)) {
        suspicious.push({ pid, uid, name, line: `${pid}\t${uid}\t${name}` });
      }
    }
    if (ignored > 0) this.o.log.debug(`Ignored ${ignored} unparsable line(s) from ps`);
    suspicious.sort((a, b) => numeric(a.pid, b.pid) || bytewise(a.line, b.line));
    for (const { pid, uid, name } of suspicious) this.finding(`Suspicious process: ${escBytes(Buffer.from(name, 'latin1'))} (PID ${pid}, UID ${uid})`);
    this.processIssues = String(suspicious.length);
    if (suspicious.length === 0) this.o.log.info(`Process check: ${count} processes, none suspicious`);
  }

  /** F: rules of iptables-save and nft (§5.3). */
  async checkFirewall(): Promise<void> {
    let ipt = 'n/a';
    let nft = 'n/a';
    let any = false;
    if (this.has('iptables-save')) {
      any = true;
      const out = await this.run(['iptables-save']);
      if (out !== undefined) ipt = String(lines(out).filter((l) => l.startsWith('-A ')).length);
    }
    if (this.has('nft')) {
      any = true;
      const out = await this.run(['nft', 'list', 'ruleset']);
      if (out !== undefined) nft = String(nftRules(out));
    }
    if (!any) {
      this.finding('Firewall check skipped: neither iptables-save nor nft found');
      return;
    }
    const results = [ipt, nft].filter((v) => v !== 'n/a');
    const total = results.reduce((sum, v) => sum + Number(v), 0);
    this.firewallRules = String(total);
    if (results.length > 0 && total === 0) this.finding(`No firewall rules loaded (iptables ${ipt}, nftables ${nft})`);
    else this.o.log.info(`Firewall rules loaded: iptables ${ipt}, nftables ${nft}`);
  }

  /** G: `ss -H -tuln`, listeners outside the allowed set (§5.4). */
  async checkPorts(): Promise<void> {
    if (!this.has('ss')) {
      this.finding('Open ports check skipped: ss not found');
      return;
    }
    const out = await this.run(['ss', '-H', '-tuln']);
    if (out === undefined) return;
    const extra = allowedItems(this.o.config.SECURITY_ALLOWED_PORTS);
    let listeners = 0;
    let ignored = 0;
    const seen = new Set<string>();
    const found: { proto: string; port: string; addr: string }[] = [];
    for (const line of lines(out)) {
      const fields = line.split(/[ \t]+/).filter((f) => f !== '');
      let proto = fields[0] ?? '';
      if (proto === '') continue;
      // bash's `read proto state recv send local_addr rest`: the fifth field, or empty.
      const local = fields[4] ?? '';
      if (local === '' || !local.includes(':')) {
        ignored += 1;
        continue;
      }
      const cut = local.lastIndexOf(':');
      const port = local.slice(cut + 1);
      let addr = local.slice(0, cut);
      if (port === '*') continue;
      if (!/^[0-9]+$/.test(port)) {
        ignored += 1;
        continue;
      }
      const percent = addr.indexOf('%');
      if (percent >= 0) addr = addr.slice(0, percent);
      if (addr.startsWith('[')) addr = addr.slice(1);
      if (addr.endsWith(']')) addr = addr.slice(0, -1);
      if (/^(127\.|::ffff:127\.|169\.254\.)/s.test(addr) || addr === '::1' || /^fe[89ab].:/s.test(addr)) continue;
      proto = proto.replace(/[A-Z]/g, (c) => c.toLowerCase());
      listeners += 1;
      if (portAllowed(proto, Number(port), extra)) continue;
      const key = `${proto}/${port}/${addr}`;
      if (seen.has(key)) continue;
      seen.add(key);
      found.push({ proto, port, addr });
    }
    if (ignored > 0) this.o.log.debug(`Ignored ${ignored} unparsable line(s) from ss`);
    found.sort((a, b) => bytewise(a.proto, b.proto) || numeric(a.port, b.port) || bytewise(a.addr, b.addr)
      || bytewise(`${a.proto}\t${a.port}\t${a.addr}`, `${b.proto}\t${b.port}\t${b.addr}`));
    for (const { proto, port, addr } of found) {
      this.finding(`Listening port not in allowed set: ${proto}/${port} on ${escBytes(Buffer.from(addr, 'latin1'))}`);
    }
    this.portIssues = String(found.length);
    this.o.log.info(`Open ports: ${listeners} non-loopback listener(s), ${found.length} outside the allowed set`);
  }

  /** Checks A-G in order (§2.1), with the M33 lines of the switched-off ones. */
  async all(full: boolean): Promise<void> {
    this.checkConfig();
    this.walk();
    this.checkTree();
    await this.checkIntegrity('check');
    if (!full) {
      this.o.log.skip('Process and network checks skipped (FULL_SECURITY_CHECK=false)');
      return;
    }
    this.checkSensitive();
    await this.checkProcesses();
    if (!this.o.config.CHECK_NETWORK_SECURITY) {
      this.o.log.skip('Network checks disabled (CHECK_NETWORK_SECURITY=false)');
      return;
    }
    if (this.o.config.CHECK_FIREWALL) await this.checkFirewall();
    else this.o.log.skip('Firewall check disabled (CHECK_FIREWALL=false)');
    if (this.o.config.CHECK_OPEN_PORTS) await this.checkPorts();
    else this.o.log.skip('Open ports check disabled (CHECK_OPEN_PORTS=false)');
  }
}

/** The form of a covered-set member (§3.4 step 2). */
export function relpathOk(rel: string): boolean {
  if (rel.startsWith('/') || rel.includes('//') || `/${rel}/`.includes('/./') || `/${rel}/`.includes('/../')) return false;
  return (SEC_FILES as readonly string[]).includes(rel) || SEC_ROOTS.some((root) => rel.startsWith(`${root}/`));
}

/** The differences, by relpath (bytewise). */
export function compare(recorded: ReadonlyMap<string, string>, current: ReadonlyMap<string, string>, unreadableNow: readonly string[]): [string, Kind][] {
  const out = new Map<string, Kind>();
  const unreadable = new Set(unreadableNow);
  for (const [rel, hash] of current) {
    const old = recorded.get(rel);
    if (old === undefined) out.set(rel, 'added');
    else if (old !== hash) out.set(rel, 'changed');
  }
  for (const rel of recorded.keys()) if (!current.has(rel)) out.set(rel, unreadable.has(rel) ? 'unreadable' : 'missing');
  for (const rel of unreadable) if (!recorded.has(rel)) out.set(rel, 'unreadable');
  return [...out].sort((a, b) => Buffer.compare(B(a[0]), B(b[0])));
}

/** Lines of command output as bash reads `$(…)` then `<<<`: trailing newlines dropped. */
function lines(out: string): string[] {
  const trimmed = out.replace(/\n+$/, '');
  return trimmed === '' ? [''] : trimmed.split('\n');
}

function bytewise(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function numeric(a: string, b: string): number {
  return Number(a) - Number(b);
}

export function nftRules(out: string): number {
  let inside = false;
  let n = 0;
  for (const line of out.split('\n')) {
    if (/^[ \t\n\v\f\r]*chain [^ \t\n\v\f\r]+ \{[ \t\n\v\f\r]*$/s.test(line)) {
      inside = true;
      continue;
    }
    if (inside && /^[ \t\n\v\f\r]*\}[ \t\n\v\f\r]*$/s.test(line)) {
      inside = false;
      continue;
    }
    const first = line.split(/[ \t]+/).find((f) => f !== '');
    if (inside && first !== undefined && !['type', 'policy', 'comment', 'devices'].includes(first)) n += 1;
  }
  return n;
}

interface Allowed { readonly proto: string; readonly from: number; readonly to: number }

/** The SECURITY_ALLOWED_PORTS items (a line may hold several, blank- or comma-separated). */
function allowedItems(lines: readonly string[]): Allowed[] {
  const items: Allowed[] = [];
  for (const item of lines.flatMap((line) => line.split(/[\s,]+/))) {
    const match = /^(tcp|udp)\/([0-9]+)(-([0-9]+))?$/.exec(item);
    if (match === null) continue;
    items.push({ proto: match[1] ?? '', from: Number(match[2]), to: Number(match[4] ?? match[2]) });
  }
  return items;
}

export function portAllowed(proto: string, port: number, extra: readonly Allowed[]): boolean {
  if (proto === 'tcp') {
    if ([22, 85, 111, 3128, 3300, 6789, 8006, 8007, 9100].includes(port)) return true;
    if ((port >= 5900 && port <= 5999) || (port >= 6800 && port <= 7300) || (port >= 60000 && port <= 60050)) return true;
  } else if (port === 111 || (port >= 5405 && port <= 5412)) {
    return true;
  }
  return extra.some((a) => a.proto === proto && port >= a.from && port <= a.to);
}
