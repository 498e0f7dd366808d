// The TypeScript orchestrator (run.md §1; ARCHITECTURE "The phase sequence"): the phase sequence of
// legacy/bin/proxmox-backup, in the same order, with the same log lines, state keys and exit code, each stage
// dispatched per its domain's flag (in-process, or the legacy function through its shim). What the phases use
// lives beside it: host-facts.ts (phase 0, detection's facts, the MAC), run-summary.ts (phase 16, pure),
// cleanup.ts (every exit path), shadow.ts (loaded only when a domain runs in shadow).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyTimezone, clockFromEnv, wallDate, wallSeconds, type Clock } from '../core/clock.js';
import { CONFIG_KEYS, isSecretKey, type ConfigValues } from '../core/config-keys.js';
import { typedConfig } from '../core/config-view.js';
import { loadConfig, type LoadedConfig } from '../core/config.js';
import { esc } from '../core/esc.js';
import { ExitCode, type ExitStatus } from '../core/exit-code.js';
import { runTimestamp } from '../core/human.js';
import { removeLeftoverRuns, removeLeftoverTierFiles } from '../core/leftovers.js';
import { acquireRunLock, type RunLock } from '../core/lock.js';
import { RunLog, type ConsoleSink, type DebugLevel } from '../core/log.js';
import { hasProgram } from '../core/programs.js';
import { Redactor, secretsOf } from '../core/redact.js';
import { RunDir } from '../core/run-dir.js';
import { DOMAINS, type DomainName, type NativeStages, type StageName } from '../core/stage.js';
import { cleanUp, trapSignals } from './cleanup.js';
import { cleanPath, factsFrom, firstMac, resolveTimezone, UNDETECTED, type DetectedFacts } from './host-facts.js';
import { contextEntries, migrationKeys } from './run-keys.js';
import { renderSummary } from './run-summary.js';
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

/** One run, from phase 0 to 16; resolves to the exit code. */
export class Orchestrator {
  private readonly exitCode = new ExitCode();
  private log!: RunLog;
  private config!: LoadedConfig;
  /** The loaded configuration, typed (native/core/config-view.ts); no stage changes a configuration key. */
  private typed!: ConfigValues;
  private runDir: RunDir | undefined;
  private lock: RunLock | undefined;
  private runner: StageRunner | undefined;
  /** The run facts (RUN_FACTS): what context.env holds after the configuration. */
  private readonly facts = new Map<string, string>();
  /** state.env as read after the last stage or phase. */
  private state = new Map<string, string>();
  private env: Record<string, string | undefined>;
  private readonly clock: Clock;
  private startTime = 0;
  private cleaned = false;

  constructor(private readonly options: OrchestratorOptions) {
    this.env = { ...options.env };
    this.clock = options.clock ?? clockFromEnv(options.env);
  }

  /** A value of the run as a legacy stage sees its variable: run fact, else state, else configuration. */
  private value(key: string): string {
    return this.facts.get(key) ?? this.state.get(key) ?? this.config.values.get(key) ?? '';
  }

  async run(): Promise<ExitStatus> {
    const untrap = trapSignals((signal) => {
      void this.interrupted(signal);
    });
    try {
      return await this.main();
    } finally {
      untrap();
      this.cleanup();
    }
  }

  /** legacy/bin/proxmox-backup main, phase by phase. */
  private async main(): Promise<ExitStatus> {
    const { options } = this;
    const pathWarnings = await this.start();
    const configPath = options.configPath !== undefined ? resolve(options.configPath) : join(options.baseDir, 'env', 'backup.env');
    if (!this.loadConfiguration(configPath, pathWarnings)) return 2;
    if (!this.checkPrivileges()) return 2;
    await this.prepareRun(configPath);
    if (!this.takeLock()) return 2;
    this.setFacts(await this.detect());
    this.removeLeftoverTiers();
    await this.phase('LOGFILE', async () => this.openLogFile());   // a console-only run goes on; the code is already 2
    this.writeContext();
    this.log.step(`Starting backup of ${this.value('HOSTNAME')} (${this.value('PROXMOX_TYPE')}), run ${this.value('RUN_TIMESTAMP')}`);
    if (this.value('HEALTHCHECK_URL') !== '') await this.stage('notify_start');   // the healthcheck /start ping
    // Phase 7, the security gate: an abort (STATUS_SECURITY=2) stops before phase 8; notification, metrics and log
    // management still run.
    let stop = (await this.phase('SECURITY', async () => this.stage('security_gate'))) !== 0 && this.value('STATUS_SECURITY') === '2';
    if (!stop) stop = (await this.phase('DEPENDENCIES', async () => this.dependencies())) !== 0;
    if (options.checkOnly) {
      if (this.typed.NOTIFY_DRY_RUN) await this.phase('NOTIFY', async () => this.stage('notify_run'));
      if (this.exitCode.current === 0) this.log.success('Check-only mode completed successfully');
      return this.summary();
    }
    if (this.typed.ENABLE_PREFILTER) this.log.info('ENABLE_PREFILTER is ignored: archives hold files unmodified');
    if (this.typed.ENABLE_SMART_CHUNKING) this.log.info('ENABLE_SMART_CHUNKING is ignored: archives hold files unmodified');
    if (!stop && (await this.phase('COLLECT', async () => this.stage('backup_collect'))) !== 0) stop = this.exitCode.current >= 2;
    if (!stop && (await this.phase('ARCHIVE', async () => this.stage('backup_archive'))) !== 0) stop = this.value('STATUS_ARCHIVE') === '2';
    if (!stop && !options.dryRun) await this.phase('VERIFY', async () => this.stage('backup_verify'));
    await this.phase('STORAGE', async () => this.stage('storage_run'));   // every storage failure is a warning
    await this.phase('NOTIFY', async () => this.stage('notify_run'));   // a channel failure is a warning
    this.runDir?.setState('RUN_EXIT_CODE', String(this.exitCode.current));
    await this.phase('METRICS', async () => this.stage('metrics_write'));
    await this.phase('LOGS', async () => this.stage('storage_logs'));
    return this.summary();
  }

  /** Phase 0 (orchestrator_start): run clock, umask, PATH hygiene, TZ; the PATH warnings wait for the log. */
  private async start(): Promise<string[]> {
    const start = this.clock.now();
    this.startTime = Math.trunc(start.getTime() / 1000);
    process.umask(0o077);
    const cleaned = cleanPath(this.env.PATH ?? '');
    this.env.PATH = cleaned.path;
    this.env.TZ = await resolveTimezone(this.env);
    applyTimezone(this.env.TZ);
    this.facts.set('RUN_TIMESTAMP', runTimestamp(start));
    this.facts.set('START_TIME', String(this.startTime));
    return cleaned.warnings;
  }

  /** Phase 2: the configuration and the run log; every error printed, exit 2, no lock, no log file. */
  private loadConfiguration(configPath: string, pathWarnings: readonly string[]): boolean {
    const { options } = this;
    const overrides = new Map<string, string>();
    if (options.debugLevel !== undefined) overrides.set('DEBUG_LEVEL', options.debugLevel);
    this.config = loadConfig({ configPath, baseDir: options.baseDir, env: this.env, overrides });
    this.typed = typedConfig(this.config.values);
    if (this.config.errors.length > 0) {
      for (const message of this.config.errors) options.stderr(`ERROR: ${message}`);
      return false;
    }
    const secrets = secretsOf(this.config.values, CONFIG_KEYS.filter(isSecretKey).map((k) => k.name));
    this.log = new RunLog({
      now: () => wallDate(this.clock), debugLevel: (this.config.values.get('DEBUG_LEVEL') ?? 'standard') as DebugLevel,
      console: options.stdout, disableColours: this.typed.DISABLE_COLORS,
      redactor: new Redactor(secrets), exitCode: this.exitCode,
    });
    for (const message of this.config.warnings) this.log.warning(message);
    for (const message of pathWarnings) this.log.warning(message);
    return true;
  }

  /** Phase 3. */
  private checkPrivileges(): boolean {
    if (this.config.values.get('SYSTEM_ROOT_PREFIX') === '/' && process.getuid?.() !== 0) {
      this.options.stderr('ERROR: This tool must run as root');
      return false;
    }
    return true;
  }

  /** RUN_DIR, run.log (the early lines first), context.env, the migration keys, the stage runner. */
  private async prepareRun(configPath: string): Promise<void> {
    const { options } = this;
    this.facts.set('DRY_RUN', String(options.dryRun));
    this.facts.set('CHECK_ONLY', String(options.checkOnly));
    this.facts.set('BASE_DIR', options.baseDir);
    this.facts.set('CONFIG_FILE', configPath);
    this.facts.set('LOG_FILE', '');
    this.facts.set('TZ', this.env.TZ ?? 'UTC');
    this.setFacts(UNDETECTED);
    try {
      this.runDir = RunDir.create(this.env.TMPDIR ?? '/tmp', options.baseDir);
      this.log.attachFile(this.runDir.logPath);
    } catch (error) {
      this.log.error('Cannot create the run directory');
      throw error;
    }
    this.facts.set('RUN_DIR', this.runDir.path);
    this.writeContext();
    for (const [key, value] of migrationKeys(options.implementation, options.natives ?? {})) this.runDir.setState(key, value);
    // The comparison's normalisers (tar, diff) are loaded only by a run with a domain in shadow.
    const shadow = DOMAINS.some((domain) => options.implementation(domain) === 'shadow')
      ? (await import('./shadow.js')).shadowHooks(options.codeDir, (key) => this.value(key)) : undefined;
    this.runner = new StageRunner({
      codeDir: options.codeDir, runDir: this.runDir, log: this.log, env: this.env, clock: this.clock,
      hostRoot: this.config.values.get('SYSTEM_ROOT_PREFIX') || '/',
      implementation: options.implementation, fallback: options.fallback, natives: options.natives ?? {}, shadow,
    });
  }

  /** Phase 4 (orchestrator_lock): the run lock, then the leftovers of this installation's dead runs. */
  private takeLock(): boolean {
    const lock = acquireRunLock(this.options.baseDir, esc);
    if (!lock.ok) {
      this.log.error(lock.error);
      return false;
    }
    this.lock = lock.lock;
    for (const note of lock.notes) this.log.log(note.level, note.message);
    removeLeftoverRuns(this.env.TMPDIR ?? '/tmp', this.options.baseDir, this.runDir?.path, this.leftovers());
    return true;
  }

  private leftovers(): { dryRun: boolean; log: RunLog; escape: typeof esc } {
    return { dryRun: this.options.dryRun, log: this.log, escape: esc };
  }

  /** Phase 5: detection and identity, the backup domain's first stage (either side), hands back the host's facts. */
  private async detect(): Promise<DetectedFacts> {
    await this.stage('backup_detect');
    return factsFrom(this.state);
  }

  private setFacts(facts: DetectedFacts): void {
    for (const [key, value] of Object.entries(facts)) this.facts.set(key, value);
  }

  /** orchestrator_leftover_tiers: this host's `.tmp` files in the local (and secondary) tiers, now that it is named. */
  private removeLeftoverTiers(): void {
    const tiers = [this.value('LOCAL_BACKUP_PATH'), this.value('LOCAL_LOG_PATH')];
    if (this.typed.ENABLE_SECONDARY_BACKUP) tiers.push(this.value('SECONDARY_BACKUP_PATH'), this.value('SECONDARY_LOG_PATH'));
    removeLeftoverTierFiles(tiers, this.value('HOSTNAME'), this.leftovers());
  }

  private writeContext(): void {
    this.runDir?.writeContext(contextEntries(this.config, this.facts));
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

  /** Phase 6 (orchestrator_log_file): LOCAL_LOG_PATH/<type>-backup-<fqdn>-<ts>.log, earlier lines at its top. */
  private openLogFile(): Promise<ExitStatus> {
    if (!this.typed.ENABLE_LOG_MANAGEMENT) return Promise.resolve(0);
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

  /** Phase 8 (orchestrator_dependencies): tools, the backup directory, the compressor, the tiers. */
  private async dependencies(): Promise<ExitStatus> {
    this.log.step('Checking dependencies');
    const path = this.env.PATH ?? '';
    for (const tool of ['tar', 'sha256sum']) {
      if (!hasProgram(tool, path)) {
        this.log.error(`Required tool not found: ${tool}`);
        return 2;
      }
    }
    if (this.typed.ENCRYPT_ARCHIVE && !hasProgram('age', path)) {
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

  /** Phase 16: the summary block (run-summary.ts), logged; the run's exit code. */
  private summary(): ExitStatus {
    const lines = renderSummary({
      value: (key) => this.value(key), dryRun: this.options.dryRun, checkOnly: this.options.checkOnly,
      durationSeconds: Math.trunc(this.clock.now().getTime() / 1000) - this.startTime, mac: firstMac(), exitCode: this.exitCode.current,
    });
    for (const line of lines) this.log.log(line.level, line.text);
    return this.exitCode.current;
  }

  private async interrupted(signal: 'SIGTERM' | 'SIGINT'): Promise<void> {
    this.log?.error(`Backup interrupted by ${signal}; partial archive removed`);
    await this.runner?.stop(signal);
    this.cleanup();
    process.exit(2);
  }

  /** Every exit path (cleanup.ts); RUN_DIR exists only once the configuration is loaded, its values are read only then. */
  private cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    const run = this.runDir === undefined ? undefined : {
      runDir: this.runDir, backupDir: this.value('LOCAL_BACKUP_PATH'), keepRunDir: this.env.PBK_KEEP_RUN_DIR === '1',
      archivePrefix: `${this.value('PROXMOX_TYPE') || 'x'}-backup-${this.value('HOSTNAME') || 'x'}-${this.value('RUN_TIMESTAMP') || 'x'}`,
    };
    cleanUp({ run, log: this.log, lock: this.lock, stderr: this.options.stderr });
  }
}
