// The stage contract in one module (docs/ARCHITECTURE.md "The stage contract"): the flag domains, the stages and
// their domains, which stage writes which state key, and the signature of a native stage with its context. Every
// domain imports its contract from here; the orchestrator (native/switch/), the parity normalisers
// (native/compare/normalise/env.ts), the registry (native/registry.ts) and tests/docs/stage-contract.test.ts read
// the same tables.
import type { Clock } from './clock.js';
import type { ConfigKey, ConfigValues } from './config-keys.js';
import { stageView, type RunFact, type RunFacts, type StageState, type StageView } from './config-view.js';
import { clockFromEnv } from './clock.js';
import { execCommand, type Exec, type ExecOptions } from './exec.js';
import type { ExitStatus } from './exit-code.js';
import type { RunLog } from './log.js';
import type { RunDir } from './run-dir.js';

/** The flag domains, one flags.json entry each (docs/ARCHITECTURE.md "Domains and flags"). */
export const DOMAINS = ['cli', 'orchestrator', 'security', 'backup', 'storage', 'notify', 'metrics'] as const;
export type DomainName = (typeof DOMAINS)[number];
/** What a flag says for a domain: the legacy stage, the native one, or both compared (shadow). */
export const FLAG_VALUES = ['bash', 'ts', 'shadow'] as const;
export type FlagValue = (typeof FLAG_VALUES)[number];

/**
 * Every stage the orchestrator dispatches, named like its legacy function (and its shim, shims/<name>), with the
 * domain whose flag picks its implementation and the RUN_DIR entries it writes (removed before a fallback rerun).
 */
export const STAGES = {
  security_gate: { domain: 'security', outputs: [] },
  backup_detect: { domain: 'backup', outputs: [] },
  backup_select_compressor: { domain: 'backup', outputs: [] },
  backup_collect: { domain: 'backup', outputs: ['staging'] },
  backup_archive: { domain: 'backup', outputs: [] },
  backup_verify: { domain: 'backup', outputs: [] },
  storage_check_tiers: { domain: 'storage', outputs: [] },
  storage_run: { domain: 'storage', outputs: [] },
  storage_logs: { domain: 'storage', outputs: [] },
  notify_start: { domain: 'notify', outputs: [] },
  notify_run: { domain: 'notify', outputs: ['notify'] },
  metrics_write: { domain: 'metrics', outputs: [] },
} as const satisfies Record<string, { domain: DomainName; outputs: readonly string[] }>;

export type StageName = keyof typeof STAGES;

export function isStageName(text: string): text is StageName {
  return Object.hasOwn(STAGES, text);
}

/** The run facts context.env holds after the configuration keys (native/core/config-view.ts, typed there). */
export { RUN_FACTS } from './config-view.js';

/** Who writes a state key: a stage, or the orchestrator itself (STATUS_/DURATION_<PHASE>, IMPL_…, RUN_EXIT_CODE). */
export type StateKeyWriter = StageName | 'orchestrator';

export interface StateKeyRule {
  /** The keys of the rule (anchored). */
  readonly keys: RegExp;
  /**
   * Who writes them (the first is the owner; a phase status is written by its stage and by the phase record). None:
   * a prefix reserved for the domain that no stage writes today (a key under it is still filed there).
   */
  readonly writers: readonly StateKeyWriter[];
  /**
   * The domain the keys are filed under: the parity normaliser's state.<domain>.env (golden/HOST/SCENARIO/), the
   * domain a difference is reported for. The writer's domain, except the security gate's keys, filed with the
   * orchestrator (the gate's domain until the security flag existed; moving them is a golden-file change).
   */
  readonly domain: DomainName;
}

const TIER = '(PRIMARY|SECONDARY|CLOUD)';

/**
 * Which stage writes which state key, first matching rule wins (shims/README.md lists the same per shim;
 * tests/docs/stage-contract.test.ts checks both against each other, the legacy and native sources and the golden
 * files). A key no rule names is filed under backup (UNOWNED_KEY_DOMAIN); the test keeps every key the code
 * writes under a rule.
 */
export const STATE_KEY_RULES: readonly StateKeyRule[] = [
  // The orchestrator's own records.
  { keys: /^(STATUS|DURATION)_(LOGFILE|DEPENDENCIES)$/, writers: ['orchestrator'], domain: 'orchestrator' },
  { keys: /^STATUS_SECURITY$/, writers: ['security_gate', 'orchestrator'], domain: 'orchestrator' },
  { keys: /^DURATION_SECURITY$/, writers: ['orchestrator'], domain: 'orchestrator' },
  { keys: /^SECURITY_/, writers: ['security_gate'], domain: 'orchestrator' },
  { keys: /^(PARITY|FALLBACK|IMPL|SHADOW)_/, writers: ['orchestrator'], domain: 'orchestrator' },
  { keys: /^RUN_EXIT_CODE$/, writers: ['orchestrator'], domain: 'orchestrator' },
  // storage
  { keys: new RegExp(`^STATUS_${TIER}$`), writers: ['storage_run', 'storage_check_tiers'], domain: 'storage' },
  { keys: /^(STATUS|DURATION)_(STORAGE|LOGS)$/, writers: ['orchestrator'], domain: 'storage' },
  { keys: /^TIER_/, writers: ['storage_check_tiers'], domain: 'storage' },
  { keys: new RegExp(`^${TIER}_LOG_COUNT$`), writers: ['storage_logs'], domain: 'storage' },
  { keys: new RegExp(`^${TIER}_`), writers: ['storage_run'], domain: 'storage' },
  { keys: new RegExp(`^LOG_${TIER}$`), writers: ['storage_logs'], domain: 'storage' },
  // notify
  { keys: /^(STATUS|DURATION)_NOTIFY/, writers: ['orchestrator'], domain: 'notify' },
  { keys: /^NOTIFY_/, writers: ['notify_run'], domain: 'notify' },
  { keys: /^(TELEGRAM|EMAIL|WEBHOOK)_/, writers: [], domain: 'notify' },
  // metrics
  { keys: /^(STATUS|DURATION)_METRICS/, writers: ['orchestrator'], domain: 'metrics' },
  { keys: /^METRICS_/, writers: [], domain: 'metrics' },
  // backup
  { keys: /^(HOSTNAME|HOST_SHORT|PROXMOX_TYPE|PVE_VERSION|PBS_VERSION|SERVER_ID)$/, writers: ['backup_detect'], domain: 'backup' },
  { keys: /^COMPRESSION_EFFECTIVE$/, writers: ['backup_select_compressor'], domain: 'backup' },
  { keys: /^(COLLECT_ITEMS_(OK|FAILED|SKIPPED)|FILE_MISSING|FILES_INCLUDED|DIRS_INCLUDED|UNCOMPRESSED_SIZE|STAGED_ENTRIES)$/,
    writers: ['backup_collect'], domain: 'backup' },
  { keys: /^(BACKUP_FILE|ARCHIVE_SIZE|COMPRESSION_RATIO|BACKUP_DURATION)$/, writers: ['backup_archive'], domain: 'backup' },
  { keys: /^STATUS_ARCHIVE$/, writers: ['backup_archive', 'orchestrator'], domain: 'backup' },
  { keys: /^STATUS_VERIFY$/, writers: ['backup_verify', 'orchestrator'], domain: 'backup' },
  { keys: /^(STATUS|DURATION)_(COLLECT|ARCHIVE|VERIFY)$/, writers: ['orchestrator'], domain: 'backup' },
];

export const UNOWNED_KEY_DOMAIN: DomainName = 'backup';

/** The rule that owns a state key, undefined when none does. */
export function stateKeyRule(key: string): StateKeyRule | undefined {
  return STATE_KEY_RULES.find((rule) => rule.keys.test(key));
}

/** The domain a state key is filed under (the parity normaliser's split of state.env). */
export function stateKeyDomain(key: string): DomainName {
  return stateKeyRule(key)?.domain ?? UNOWNED_KEY_DOMAIN;
}

export type StageEnv = Readonly<Record<string, string | undefined>>;

/** Exec with the stage's environment filled in when the call names none. */
export type StageExec = (argv: readonly string[], options: Omit<ExecOptions, 'env'> & { readonly env?: ExecOptions['env'] }) => ReturnType<Exec>;

/**
 * What a native stage gets: the same inputs a shim gets (the run directory: context.env, state.env, run.log), the
 * run's logger, and the outside world passed in explicitly — the clock, the host root, a way to run host commands
 * and the environment its children see (the fixture host's PATH under test).
 */
export interface NativeStageContext {
  /** context.env (configuration and run facts) and state.env (readState / setState), the staging tree, run.log. */
  readonly runDir: RunDir;
  /**
   * The configuration, typed from the key table (a bool key is a boolean, int/size a number, list/csv a string
   * array): context.env with state.env on top, read at the first use and parsed once (native/core/config-view.ts).
   */
  readonly config: ConfigValues;
  /** The run facts (RUN_FACTS): DRY_RUN and CHECK_ONLY booleans, the others text; HOSTNAME… as backup_detect wrote them. */
  readonly facts: RunFacts;
  /** state.env as strings (what earlier stages wrote); `set` appends and later reads see it. */
  readonly state: StageState;
  /** In a shadow run, the real run's text of a key the scratch context replaced (SHADOW_ORIG_<KEY>), else ''. */
  shadowOriginal(key: ConfigKey | RunFact): string;
  /** The run's logger: every WARNING/ERROR raises the run's exit code. */
  readonly log: RunLog;
  /** The run clock (PBK_NOW) and the wall clock, native/core/clock.ts. */
  readonly clock: Clock;
  /** SYSTEM_ROOT_PREFIX: the root under which host files are read (decision 12). */
  readonly hostRoot: string;
  /** Host commands (native/core/exec.ts) with `env` below unless the call names one. */
  readonly exec: StageExec;
  /** The environment children of the stage see. */
  readonly env: StageEnv;
  /** A shadow run (on a scratch copy): render what the stage would send, send nothing (notify.md §7). */
  readonly shadow?: boolean;
}

export type NativeStage = (context: NativeStageContext) => Promise<ExitStatus>;

/** A domain's native stages by name (each domain's index.ts; native/registry.ts joins them). */
export type NativeStages = Partial<Record<StageName, NativeStage>>;

function contextRoot(runDir: RunDir): string {
  try {
    return runDir.readContext().get('SYSTEM_ROOT_PREFIX') || '/';
  } catch {
    return '/';
  }
}

/**
 * A stage context from its parts. Left out: the clock from the environment's PBK_NOW (a caller with a clock passes
 * it), the host root from context.env's SYSTEM_ROOT_PREFIX, exec through native/core/exec.ts with `env`.
 */
export function stageContext(parts: {
  readonly runDir: RunDir; readonly log: RunLog; readonly env: StageEnv;
  readonly clock?: Clock; readonly hostRoot?: string; readonly shadow?: boolean;
}): NativeStageContext {
  const { runDir, log, env } = parts;
  let view: StageView | undefined;
  const read = (): StageView => (view ??= stageView(runDir));
  return {
    runDir, log, env,
    get config() { return read().config; },
    get facts() { return read().facts; },
    get state() { return read().state; },
    shadowOriginal: (key) => read().shadowOriginal(key),
    clock: parts.clock ?? clockFromEnv(env),
    hostRoot: parts.hostRoot ?? contextRoot(runDir),
    exec: (argv, options) => execCommand(argv, { ...options, env: options.env ?? env }),
    ...(parts.shadow === true ? { shadow: true } : {}),
  };
}
