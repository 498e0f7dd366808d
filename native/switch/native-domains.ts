// Which domains have a native implementation in this build (backup: some stages; the others run through their
// shims, native/backup/index.ts; security: the gate, native/security/index.ts; storage: its three stages,
// native/storage/index.ts; cli: the side tools security-check, server-id, fix-permissions, list and verify; restore
// is still Bash). A flag set to ts or shadow for a domain
// not listed here runs bash, and `switch-mode status` says so: a flag never makes a backup vanish.
import type { DomainName, FlagValue } from './flags.js';

export const NATIVE_DOMAINS: ReadonlySet<DomainName> = new Set<DomainName>(['cli', 'orchestrator', 'security', 'backup', 'storage', 'notify', 'metrics']);

export interface Effective {
  readonly value: 'bash' | 'ts' | 'shadow';
  readonly note?: string;
}

export function effectiveImplementation(domain: DomainName, flag: FlagValue): Effective {
  if (flag === 'bash') return { value: flag };
  if (domain === 'orchestrator' && flag === 'shadow') {
    // Two whole pipelines on one node would take the lock twice and send every message twice: comparing
    // whole runs is the parity harness's job (make test-parity), so shadow here means the bash orchestrator.
    return { value: 'bash', note: 'shadow does not apply to the orchestrator (the parity harness compares whole runs); bash runs' };
  }
  if (NATIVE_DOMAINS.has(domain)) return { value: flag };
  return { value: 'bash', note: `native ${domain} not built yet; bash runs` };
}
