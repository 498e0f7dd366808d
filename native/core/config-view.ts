// What a native stage reads, typed once (docs/ARCHITECTURE.md "The stage contract"): the configuration keys of
// native/core/config-keys.ts with the TypeScript type of their kind, the run facts (RUN_FACTS), and state.env as
// strings. A stage reads `context.config.ENCRYPT_ARCHIVE` (a boolean), never a string compared with 'true'.
//
// Where the values come from — exactly what a shim sources, and what StageInputs gave before this view:
// context.env, then state.env on top (later lines win), read once when the stage first asks.
// - Configuration keys: written by the loader to context.env, already normalised (bools 'true'/'false', sizes in
//   bytes, lists one item a line: native/core/config.ts, legacy/lib/config.sh). No stage writes one to state.env
//   (golden/*/*/state.*.env hold none), so in practice they are context.env's.
// - Run facts: context.env, except HOSTNAME, HOST_SHORT, PROXMOX_TYPE, PVE_VERSION, PBS_VERSION and SERVER_ID, which
//   backup_detect rewrites to state.env: the stages after it read those.
// - State keys (STATUS_…, BACKUP_FILE, TIER_…): state.env, written by earlier stages; `set` writes one and later reads
//   of this stage see it.
// A key missing from both files reads as its empty text typed: false, 0, [], '' — what `get(key) === 'true'`,
// `Number(get(key))` and `get(key)` gave, and what a shim's Bash reads from an unset variable (a test's partial
// context.env); both loaders write every key, so a run never has one missing.
import { CONFIG_KEYS, type ConfigKey, type ConfigValues } from './config-keys.js';
import { typedValue } from './config-types.js';
import type { RunDir } from './run-dir.js';

/**
 * The run facts context.env holds after the configuration keys (in this order; legacy/lib/orchestrator.sh
 * orchestrator_context_keys lists the same). native/core/stage.ts re-exports it.
 */
export const RUN_FACTS = ['RUN_TIMESTAMP', 'START_TIME', 'HOSTNAME', 'HOST_SHORT', 'PROXMOX_TYPE', 'PVE_VERSION',
  'PBS_VERSION', 'SERVER_ID', 'DRY_RUN', 'CHECK_ONLY', 'BASE_DIR', 'CONFIG_FILE', 'RUN_DIR', 'LOG_FILE', 'TZ'] as const;
export type RunFact = (typeof RUN_FACTS)[number];

/** The two facts that are flags ('true'/'false' in context.env); the others are text. */
const FLAG_FACTS = ['DRY_RUN', 'CHECK_ONLY'] as const;
type FlagFact = (typeof FLAG_FACTS)[number];
export type RunFacts = { readonly [K in RunFact]: K extends FlagFact ? boolean : string };

/** state.env as strings: what earlier stages (and this one) wrote. */
export interface StageState {
  /** The value, '' when unset. */
  get(key: string): string;
  /** Whether the key is set to a non-empty value. */
  has(key: string): boolean;
  /** Appends KEY=VALUE to state.env; later `get`s of this stage see it. */
  set(key: string, value: string): void;
}

export interface StageView {
  readonly config: ConfigValues;
  readonly facts: RunFacts;
  readonly state: StageState;
  /**
   * In a shadow run's scratch context, the real run's text of KEY kept aside as SHADOW_ORIG_<KEY>
   * (native/switch/shadow.ts: tier paths, BASE_DIR, the metrics directory); '' when there is none.
   */
  shadowOriginal(key: ConfigKey | RunFact): string;
}

/** The typed configuration of a map of normalised texts (a missing key typed from ''). */
export function typedConfig(values: ReadonlyMap<string, string>): ConfigValues {
  const config: Record<string, unknown> = {};
  for (const spec of CONFIG_KEYS) {
    const value = typedValue(spec, values.get(spec.name) ?? '');
    config[spec.name] = Array.isArray(value) ? Object.freeze(value) : value;
  }
  return Object.freeze(config) as ConfigValues;
}

/** The typed run facts of a map of texts. */
export function typedFacts(values: ReadonlyMap<string, string>): RunFacts {
  const facts: Record<string, string | boolean> = {};
  for (const fact of RUN_FACTS) {
    const text = values.get(fact) ?? '';
    facts[fact] = (FLAG_FACTS as readonly string[]).includes(fact) ? text === 'true' : text;
  }
  return Object.freeze(facts) as RunFacts;
}

/** The view of a run directory: context.env then state.env, read now, parsed once. */
export function stageView(runDir: RunDir): StageView {
  const values = new Map([...runDir.readContext(), ...runDir.readState()]);
  const state: StageState = {
    get: (key) => values.get(key) ?? '',
    has: (key) => (values.get(key) ?? '') !== '',
    set: (key, value) => {
      runDir.setState(key, value);
      values.set(key, value);
    },
  };
  return {
    config: typedConfig(values), facts: typedFacts(values), state,
    shadowOriginal: (key) => values.get(`SHADOW_ORIG_${key}`) ?? '',
  };
}
