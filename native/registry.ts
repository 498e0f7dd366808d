// The registry of native stages (docs/ARCHITECTURE.md "How to add a native stage"): each domain's index.ts exports
// its stages by name, and this file joins them, once. The orchestrator gets NATIVE_STAGES
// (native/cli/commands/run-backup.ts); native/tools/run-stages.ts gets every registered stage. A stage the
// orchestrator's map lacks runs through its shim whatever its flag says.
import { NATIVE_BACKUP_STAGES } from './backup/index.js';
import { STAGES, type DomainName, type NativeStages, type StageName } from './core/stage.js';
import { NATIVE_METRICS_STAGES } from './metrics/index.js';
import { NATIVE_NOTIFY_STAGES } from './notify/index.js';
import { NATIVE_SECURITY_STAGES } from './security/index.js';
import { NATIVE_STORAGE_STAGES } from './storage/index.js';

/** Each domain's native stages the orchestrator runs in-process (a new domain: one line here). */
export const NATIVE_STAGES_BY_DOMAIN: Readonly<Partial<Record<DomainName, NativeStages>>> = {
  security: NATIVE_SECURITY_STAGES,
  backup: NATIVE_BACKUP_STAGES,
  storage: NATIVE_STORAGE_STAGES,
  notify: NATIVE_NOTIFY_STAGES,
  metrics: NATIVE_METRICS_STAGES,
};

/** Built, run by run-stages, not yet by the orchestrator (none today: a stage waits here until it can run live). */
export const NATIVE_STAGES_NOT_DISPATCHED: Readonly<Partial<Record<DomainName, NativeStages>>> = {};

/** One map of every native stage; a stage registered under a domain that is not its own is a bug, caught at load. */
export function buildRegistry(byDomain: Readonly<Partial<Record<DomainName, NativeStages>>>): NativeStages {
  const registry: NativeStages = {};
  for (const [domain, stages] of Object.entries(byDomain)) {
    for (const [name, stage] of Object.entries(stages ?? {})) {
      const owner = STAGES[name as StageName]?.domain;
      if (owner !== domain) throw new Error(`native stage ${name} registered under ${domain}, but its domain is ${owner ?? 'none (not in STAGES)'}`);
      registry[name as StageName] = stage;
    }
  }
  return registry;
}

/** The orchestrator's map. */
export const NATIVE_STAGES: NativeStages = buildRegistry(NATIVE_STAGES_BY_DOMAIN);

/** Every registered native stage (run-stages). */
export const ALL_NATIVE_STAGES: NativeStages = buildRegistry({ ...NATIVE_STAGES_BY_DOMAIN, ...NATIVE_STAGES_NOT_DISPATCHED });
