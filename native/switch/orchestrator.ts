// The TypeScript orchestrator (run.md §1; ARCHITECTURE "Domains and flags"): the same phases, in the same
// order, with the same log lines, state keys and exit code as legacy/bin/proxmox-backup, each stage dispatched
// per its domain's flag (in-process, or the legacy function through its shim).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { applyTimezone, clockFromEnv, wallDate, wallSeconds, type Clock } from '../core/clock.js';
import { CONFIG_KEYS, isSecretKey } from '../core/config-keys.js';
import { loadConfig, type LoadedConfig } from '../core/config.js';
import { hasProgram } from '../core/programs.js';
import { esc } from '../core/esc.js';
import { execCommand } from '../core/exec.js';
import { ExitCode, type ExitStatus } from '../core/exit-code.js';
import { formatDuration, humanSize, runTimestamp } from '../core/human.js';
import { removeLeftoverRuns, removeLeftoverTierFiles } from '../core/leftovers.js';
import { acquireRunLock, type RunLock } from '../core/lock.js';
import { RunLog, type ConsoleSink, type DebugLevel } from '../core/log.js';
import { Redactor, secretsOf } from '../core/redact.js';
import { RunDir } from '../core/run-dir.js';
import { DOMAINS, RUN_FACTS, STAGES, type DomainName, type NativeStages, type StageName } from '../core/stage.js';
import { StageRunner, type Implementation } from './stages.js';

export interface OrchestratorOptions {
  readonly codeDir: string;
  readonly baseDir: string;
  /** The process environment as the run sees it (a fixture host's PATH and SYSTEM_ROOT_PREFIX under test). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The run clock and the wall clock (the CLI reads PBK_NOW once); default: PBK_NOW of `env`. */
  readonly clock?: Clock;
  readonly configPath?: string;
  readonly dryRun: boolean;
  readonly checkOnly: boolean;
  readonly debugLevel?: DebugLevel;
  readonly implementation: (domain: DomainName) => Implementation;
  readonly fallback: boolean;
  readonly natives?: NativeStages;
  readonly stdout: ConsoleSink;
  readonly stderr: (line: string) => void;
}

const DETECTED = ['HOSTNAME', 'HOST_SHORT', 'PROXMOX_TYPE', 'PVE_VERSION', 'PBS_VERSION', 'SERVER_ID'] as const;
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Phase 0's PATH hygiene: relative entries dropped (with a warning each), system dirs appended if missing. */
export function cleanPath(path: string): { path: string; warnings: string[] } {
  const entries = path.split(':');
  if (entries.length > 0 && entries[entries.length - 1] === '') entries.pop();   // as bash splits a trailing ':'
  const kept: string[] = [];
  const warnings: string[] = [];
  for (const entry of path === '' ? [] : entries) {
    if (entry.startsWith('/')) kept.push(entry);
    else warnings.push(`Ignoring relative PATH entry '${esc(entry)}'`);
  }
  for (const dir of SYSTEM_DIRS) if (!kept.includes(dir)) kept.push(dir);
  return { path: kept.join(':'), warnings };
}

async function resolveTimezone(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  if (env.TZ !== undefined && env.TZ !== '') return env.TZ;
  const result = await execCommand(['timedatectl', 'show', '-p', 'Timezone', '--value'], { timeoutMs: 5000, env: { ...env } });
  const fromSystemd = result.exitCode === 0 ? result.stdout.replace(/\n+$/, '') : '';
  if (fromSystemd !== '') return fromSystemd;
  try {
    return readFileSync('/etc/timezone', 'utf8').split('\n')[0] || 'UTC';
  } catch {
    return 'UTC';
  }
}

function firstMac(): string {
  let names: string[] = [];
  try {
    names = readdirSync('/sys/class/net').sort();
  } catch {
    return 'unknown';
  }
  for (const name of names) {
    if (name === 'lo') continue;
    try {
      const mac = readFileSync(join('/sys/class/net', name, 'address'), 'utf8').replace(/\n+$/, '');
      if (mac !== '' && !/^(00:)+00$/.test(mac)) return mac;
    } catch {
      continue;
    }
  }
  return 'unknown';
}

const EMOJI: Readonly<Record<string, string>> = { ok: '✅', warning: '⚠️', error: '❌' };
const emoji = (state: string): string => EMOJI[state] ?? '➖';

class Interrupted extends Error {}

/** One run, from phase 0 to 16; resolves to the exit code. */
export class Orchestrator {
  private readonly exitCode = new ExitCode();
  private log!: RunLog;
  private config!: LoadedConfig;
  private runDir: RunDir | undefined;
  private lock: RunLock | undefined;
  private runner: StageRunner | undefined;
  private readonly facts = new Map<string, string>();
  private state = new Map<string, string>();
  private env: Record<string, string | undefined>;
  private readonly clock: Clock;
  private startTime = 0;
  private cleaned = false;

  constructor(private readonly options: OrchestratorOptions) {
    this.env = { ...options.env };
    this.clock = options.clock ?? clockFromEnv(options.env);
  }

  /** The run clock: PBK_NOW when pinned. */
  private now(): Date {
    return this.clock.now();
  }

  private value(key: string): string {
    return this.facts.get(key) ?? this.state.get(key) ?? this.config.values.get(key) ?? '';
  }

  async run(): Promise<ExitStatus> {
    const handlers = (['SIGTERM', 'SIGINT'] as const).map((signal) => {
      const handler = (): void => {
        void this.interrupted(signal);
      };
      process.once(signal, handler);
      return [signal, handler] as const;
    });
    try {
      return await this.phases();
    } catch (error) {
      if (error instanceof Interrupted) return 2;
      throw error;
    } finally {
      for (const [signal, handler] of handlers) process.removeListener(signal, handler);
      this.cleanup();
    }
  }

  private async phases(): Promise<ExitStatus> {
    const { options } = this;
    // Phase 0: run clock, umask, PATH, TZ.
    const start = this.now();
    this.startTime = Math.trunc(start.getTime() / 1000);
    process.umask(0o077);
    const cleaned = cleanPath(this.env.PATH ?? '');
    this.env.PATH = cleaned.path;
    this.env.TZ = await resolveTimezone(this.env);
    applyTimezone(this.env.TZ);
    this.facts.set('RUN_TIMESTAMP', runTimestamp(start));
    this.facts.set('START_TIME', String(this.startTime));
    // Phase 2: configuration; every error printed, exit 2, no lock, no log file.
    const configPath = options.configPath !== undefined ? resolve(options.configPath) : join(options.baseDir, 'env', 'backup.env');
    const overrides = new Map<string, string>();
    if (options.debugLevel !== undefined) overrides.set('DEBUG_LEVEL', options.debugLevel);
    this.config = loadConfig({ configPath, baseDir: options.baseDir, env: this.env, overrides });
    if (this.config.errors.length > 0) {
      for (const message of this.config.errors) options.stderr(`ERROR: ${message}`);
      return 2;
    }
    const secrets = secretsOf(this.config.values, CONFIG_KEYS.filter(isSecretKey).map((k) => k.name));
    this.log = new RunLog({
      now: () => wallDate(this.clock), debugLevel: (this.config.values.get('DEBUG_LEVEL') ?? 'standard') as DebugLevel,
      console: options.stdout, disableColours: this.config.values.get('DISABLE_COLORS') === 'true',
      redactor: new Redactor(secrets), exitCode: this.exitCode,
    });
    for (const message of this.config.warnings) this.log.warning(message);
    for (const message of cleaned.warnings) this.log.warning(message);
    // Phase 3: privileges.
    if (this.config.values.get('SYSTEM_ROOT_PREFIX') === '/' && process.getuid?.() !== 0) {
      options.stderr('ERROR: This tool must run as root');
      return 2;
    }
    this.prepare(configPath);
    // Phase 4: the lock.
    const lock = acquireRunLock(options.baseDir, esc);
    if (!lock.ok) {
      this.log.error(lock.error);
      return 2;
    }
    this.lock = lock.lock;
    for (const note of lock.notes) this.log.log(note.level, note.message);
    const leftovers = { dryRun: options.dryRun, log: this.log, escape: esc };
    removeLeftoverRuns(this.env.TMPDIR ?? '/tmp', options.baseDir, this.runDir?.path, leftovers);
    // Phase 5: detection and identity (the backup domain's first stage).
    await this.stage('backup_detect');
    for (const key of DETECTED) this.facts.set(key, this.state.get(key) ?? '');
    const tiers = [this.value('LOCAL_BACKUP_PATH'), this.value('LOCAL_LOG_PATH')];
    if (this.value('ENABLE_SECONDARY_BACKUP') === 'true') tiers.push(this.value('SECONDARY_BACKUP_PATH'), this.value('SECONDARY_LOG_PATH'));
    removeLeftoverTierFiles(tiers, this.value('HOSTNAME'), leftovers);
    await this.phase('LOGFILE', async () => this.openLogFile());
    this.writeContext();
    this.log.step(`Starting backup of ${this.value('HOSTNAME')} (${this.value('PROXMOX_TYPE')}), run ${this.value('RUN_TIMESTAMP')}`);
    if (this.value('HEALTHCHECK_URL') !== '') await this.stage('notify_start');   // the healthcheck /start ping
    // Phase 7, the security gate: its legacy stage (the orchestrator domain is native stage by stage). An abort
    // (STATUS_SECURITY=2) stops before phase 8; notification, metrics and log management still run.
    let stop = (await this.phase('SECURITY', async () => this.stage('security_gate'))) !== 0 && this.value('STATUS_SECURITY') === '2';
    if (!stop) stop = (await this.phase('DEPENDENCIES', async () => this.dependencies())) !== 0;
    if (options.checkOnly) {
      if (this.value('NOTIFY_DRY_RUN') === 'true') await this.phase('NOTIFY', async () => this.stage('notify_run'));
      if (this.exitCode.current === 0) this.log.success('Check-only mode completed successfully');
      this.summary();
      return this.exitCode.current;
    }
    if (this.value('ENABLE_PREFILTER') === 'true') this.log.info('ENABLE_PREFILTER is ignored: archives hold files unmodified');
    if (this.value('ENABLE_SMART_CHUNKING') === 'true') this.log.info('ENABLE_SMART_CHUNKING is ignored: archives hold files unmodified');
    if (!stop && (await this.phase('COLLECT', async () => this.stage('backup_collect'))) !== 0) stop = this.exitCode.current >= 2;
    if (!stop && (await this.phase('ARCHIVE', async () => this.stage('backup_archive'))) !== 0) stop = this.value('STATUS_ARCHIVE') === '2';
    if (!stop && !options.dryRun) await this.phase('VERIFY', async () => this.stage('backup_verify'));
    await this.phase('STORAGE', async () => this.stage('storage_run'));   // every storage failure is a warning
    await this.phase('NOTIFY', async () => this.stage('notify_run'));   // a channel failure is a warning
    this.runDir?.setState('RUN_EXIT_CODE', String(this.exitCode.current));
    await this.phase('METRICS', async () => this.stage('metrics_write'));
    await this.phase('LOGS', async () => this.stage('storage_logs'));
    this.summary();
    return this.exitCode.current;
  }

  /** RUN_DIR, run.log (the early lines first), secrets, the stage runner. */
  private prepare(configPath: string): void {
    const { options } = this;
    this.facts.set('DRY_RUN', String(options.dryRun));
    this.facts.set('CHECK_ONLY', String(options.checkOnly));
    this.facts.set('BASE_DIR', options.baseDir);
    this.facts.set('CONFIG_FILE', configPath);
    this.facts.set('LOG_FILE', '');
    this.facts.set('TZ', this.env.TZ ?? 'UTC');
    for (const key of DETECTED) this.facts.set(key, '');
    try {
      this.runDir = RunDir.create(this.env.TMPDIR ?? '/tmp', options.baseDir);
      this.log.attachFile(this.runDir.logPath);
    } catch (error) {
      this.log.error('Cannot create the run directory');
      throw error;
    }
    this.facts.set('RUN_DIR', this.runDir.path);
    this.writeContext();
    this.writeMigrationKeys();
    this.runner = new StageRunner({
      codeDir: options.codeDir, runDir: this.runDir, log: this.log, env: this.env, clock: this.clock,
      hostRoot: this.config.values.get('SYSTEM_ROOT_PREFIX') || '/',
      implementation: options.implementation, fallback: options.fallback, natives: options.natives ?? {},
      shadow: {
        // Loaded on first use: the parity normalisers (tar, diff) are not needed by a run without shadow.
        scratchContext: async (scratch) => (await import('./shadow.js')).redirectScratchContext(scratch),
        compare: async (stage, real, scratch, inputs) => {
          const { compareShadow, shadowIgnoreList } = await import('./shadow.js');
          return compareShadow(stage, real, scratch, {
            ...inputs, host: real.readState().get('HOSTNAME') ?? '',
            knownDifferences: shadowIgnoreList(join(options.codeDir, 'parity', 'known-differences.json'), this.value('START_TIME')),
          });
        },
        report: (stage, diff) => {
          const path = shadowReportPath(this.value('LOG_FILE'), this.value('LOCAL_LOG_PATH'), stage);
          writeShadowReport(path, diff);
          return path;
        },
      },
    });
  }

  /** Which implementation produces each domain, and which run in shadow (metrics.md §2 #25-28). */
  private writeMigrationKeys(): void {
    const natives = new Set<DomainName>();
    for (const [name, def] of Object.entries(STAGES)) {
      if (this.options.natives?.[name as StageName] !== undefined) natives.add(def.domain);
    }
    for (const domain of DOMAINS) {
      const impl = this.options.implementation(domain);
      const native = domain === 'orchestrator' || (impl === 'ts' && natives.has(domain));
      this.runDir?.setState(`IMPL_${domain.toUpperCase()}`, native ? 'native' : 'legacy');
    }
    for (const domain of DOMAINS) {
      if (this.options.implementation(domain) === 'shadow') this.runDir?.setState(`SHADOW_${domain.toUpperCase()}`, '1');
    }
  }

  private writeContext(): void {
    const keys = [...CONFIG_KEYS.map((k) => k.name), ...this.config.unknownKeys];
    const entries: [string, string][] = keys.map((key) => [key, this.config.values.get(key) ?? '']);
    for (const key of RUN_FACTS) entries.push([key, this.facts.get(key) ?? '']);
    this.runDir?.writeContext(entries);
  }

  private async stage(name: StageName): Promise<ExitStatus> {
    if (this.runner === undefined || this.runDir === undefined) throw new Error('stage before prepare');
    const outcome = await this.runner.run(name);
    this.state = this.runDir.readState();
    return outcome.status;
  }

  /** run_phase: run, record STATUS_<NAME> and DURATION_<NAME> (wall seconds), escalate the exit code. */
  private async phase(name: string, body: () => Promise<ExitStatus>): Promise<ExitStatus> {
    const started = wallSeconds(this.clock);
    const status = await body();
    this.exitCode.raise(status);
    this.runDir?.setState(`STATUS_${name}`, String(status));
    this.runDir?.setState(`DURATION_${name}`, String(wallSeconds(this.clock) - started));
    if (this.runDir !== undefined) this.state = this.runDir.readState();
    return status;
  }

  private openLogFile(): Promise<ExitStatus> {
    if (this.value('ENABLE_LOG_MANAGEMENT') !== 'true') return Promise.resolve(0);
    const dir = this.value('LOCAL_LOG_PATH');
    const file = join(dir, `${this.value('PROXMOX_TYPE')}-backup-${this.value('HOSTNAME')}-${this.value('RUN_TIMESTAMP')}.log`);
    try {
      mkdirSync(dir, { recursive: true });
      this.log.attachFile(file, `${file}.jsonl`);
      this.facts.set('LOG_FILE', file);
      return Promise.resolve(0);
    } catch {
      this.log.error(`Cannot create log file ${esc(file)}; logging to the console only`);
      return Promise.resolve(2);
    }
  }

  private async dependencies(): Promise<ExitStatus> {
    this.log.step('Checking dependencies');
    const path = this.env.PATH ?? '';
    for (const tool of ['tar', 'sha256sum']) {
      if (!hasProgram(tool, path)) {
        this.log.error(`Required tool not found: ${tool}`);
        return 2;
      }
    }
    if (this.value('ENCRYPT_ARCHIVE') === 'true' && !hasProgram('age', path)) {
      this.log.error('Required tool not found: age (ENCRYPT_ARCHIVE=true)');
      return 2;
    }
    try {
      mkdirSync(this.value('LOCAL_BACKUP_PATH'), { recursive: true });
    } catch {
      this.log.error(`Cannot create backup directory ${esc(this.value('LOCAL_BACKUP_PATH'))}`);
      return 2;
    }
    if ((await this.stage('backup_select_compressor')) !== 0) return 2;
    await this.stage('storage_check_tiers');
    return 0;
  }

  /** Phase 16's summary block (run.md §5.4), line for line as orchestrator_summary writes it. */
  private summary(): void {
    const log = this.log;
    let primary = 'error';
    log.info('Backup Summary:');
    log.info(`Type: ${this.value('PROXMOX_TYPE') || 'unknown'}`);
    log.info(`Host: ${this.value('HOSTNAME') || 'unknown'}`);
    const backupFile = this.value('BACKUP_FILE');
    if (backupFile !== '') {
      log.info(`Backup File: ${esc(backupFile)}`);
      log.info(`Size: ${humanSize(Number(this.value('ARCHIVE_SIZE') || '0'))}`);
      log.info(`Files: ${this.value('FILES_INCLUDED') || '0'} (excluding folders and .sha256 files)`);
      const ratio = this.value('COMPRESSION_RATIO') || 'Unknown';
      if (ratio !== 'Unknown') log.info(`Compression ratio: ${ratio}`);
      const verify = this.value('STATUS_VERIFY') || '0';
      primary = verify === '1' ? 'warning' : verify === '2' ? 'error' : 'ok';
    } else if (this.options.dryRun) {
      log.info('Dry run: no archive created');
      primary = 'skipped';
    } else if (this.options.checkOnly) {
      primary = 'skipped';
    } else {
      log.warning('Backup file information not available');
    }
    const tier = (key: string, fallback: string): string => emoji(this.value(key) || fallback);
    log.info(`BACKUP = PRI ${emoji(primary)} - SEC ${tier('STATUS_SECONDARY', 'disabled')} - CLO ${tier('STATUS_CLOUD', 'disabled')}`);
    const logState = this.value('LOG_FILE') === '' ? 'disabled' : 'ok';
    log.info(`LOG = PRI ${tier('LOG_PRIMARY', logState)} - SEC ${tier('LOG_SECONDARY', 'disabled')} - CLO ${tier('LOG_CLOUD', 'disabled')}`);
    log.info(`Duration: ${formatDuration(Math.trunc(this.now().getTime() / 1000) - this.startTime)}`);
    log.info(`Server MAC Address: ${firstMac()}`);
    log.info(`Server Unique ID: ${this.value('SERVER_ID') || 'unknown'}`);
    const code = this.exitCode.current;
    log.info(`Exit Status: ${code} ${emoji(code === 0 ? 'ok' : code === 1 ? 'warning' : 'error')}`);
    if (code === 0) log.success('Backup process completed with exit code: 0');
    else if (code === 1) log.warning('Backup process completed with exit code: 1');
    else log.error(`Backup process completed with exit code: ${code}`);
  }

  private async interrupted(signal: 'SIGTERM' | 'SIGINT'): Promise<void> {
    this.log?.error(`Backup interrupted by ${signal}; partial archive removed`);
    await this.runner?.stop(signal);
    this.cleanup();
    process.exit(2);
  }

  /** Every exit path: the archive under construction, RUN_DIR (or only its staging with PBK_KEEP_RUN_DIR=1), the lock. */
  private cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    const runDir = this.runDir;
    if (runDir !== undefined && existsSync(runDir.path)) {
      const dir = this.value('LOCAL_BACKUP_PATH');
      const prefix = `${this.value('PROXMOX_TYPE') || 'x'}-backup-${this.value('HOSTNAME') || 'x'}-${this.value('RUN_TIMESTAMP') || 'x'}`;
      try {
        for (const name of readdirSync(dir)) {
          if (name.startsWith(prefix) && name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
        }
      } catch {
        // no backup directory: nothing under construction
      }
      if (this.env.PBK_KEEP_RUN_DIR === '1') {
        rmSync(runDir.staging, { recursive: true, force: true });
        rmSync(join(runDir.path, 'owner'), { force: true });   // kept on purpose: not a leftover for the next run
        this.options.stderr(`Run directory kept (PBK_KEEP_RUN_DIR=1): ${runDir.path}`);
      } else {
        rmSync(runDir.path, { recursive: true, force: true });
      }
    }
    this.log?.close();
    this.lock?.release();
  }
}

/** Where a shadow diff report goes: beside the log file (run.md §1), or in LOCAL_LOG_PATH when there is none. */
export function shadowReportPath(logFile: string, logDir: string, stage: string): string {
  const base = logFile !== '' ? logFile.replace(/\.log$/, '') : join(logDir, 'proxmox-backup');
  return `${base}.parity-${stage}.diff`;
}

export function writeShadowReport(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode: 0o600 });
}
