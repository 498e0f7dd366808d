// The keys the orchestrator itself writes into the run directory (orchestrator_context_keys and
// orchestrator_migration_keys of legacy/lib/orchestrator.sh): context.env, and which implementation produced each
// domain. Pure: the orchestrator writes what these return.
import { CONFIG_KEYS } from '../core/config-keys.js';
import type { LoadedConfig } from '../core/config.js';
import { DOMAINS, RUN_FACTS, STAGES, type DomainName, type NativeStages, type StageName } from '../core/stage.js';
import type { Implementation } from './stages.js';

/** context.env: every configuration key (the known ones in table order, then the unknown), then RUN_FACTS. */
export function contextEntries(config: LoadedConfig, facts: ReadonlyMap<string, string>): [string, string][] {
  const keys = [...CONFIG_KEYS.map((k) => k.name), ...config.unknownKeys];
  const entries: [string, string][] = keys.map((key) => [key, config.values.get(key) ?? '']);
  for (const key of RUN_FACTS) entries.push([key, facts.get(key) ?? '']);
  return entries;
}

/**
 * IMPL_<DOMAIN> (native or legacy) for every domain, then SHADOW_<DOMAIN>=1 for each domain in shadow (metrics.md §2
 * #25-28). A domain is native when its flag is `ts` and one of its stages has a native entry; the orchestrator
 * always is (this code is it).
 */
export function migrationKeys(implementation: (domain: DomainName) => Implementation, natives: NativeStages): [string, string][] {
  const built = new Set<DomainName>();
  for (const [name, def] of Object.entries(STAGES)) {
    if (natives[name as StageName] !== undefined) built.add(def.domain);
  }
  const keys: [string, string][] = DOMAINS.map((domain) => {
    const native = domain === 'orchestrator' || (implementation(domain) === 'ts' && built.has(domain));
    return [`IMPL_${domain.toUpperCase()}`, native ? 'native' : 'legacy'];
  });
  for (const domain of DOMAINS) {
    if (implementation(domain) === 'shadow') keys.push([`SHADOW_${domain.toUpperCase()}`, '1']);
  }
  return keys;
}
