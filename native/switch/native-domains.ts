// Which domains have a native implementation in this build. A flag set to ts or shadow for a domain
// not listed here runs bash, and `switch-mode status` says so: a flag never makes a backup vanish.
import type { DomainName, FlagValue } from './flags.js';

export const NATIVE_DOMAINS: ReadonlySet<DomainName> = new Set<DomainName>([]);

export interface Effective {
  readonly value: 'bash' | 'ts' | 'shadow';
  readonly note?: string;
}

export function effectiveImplementation(domain: DomainName, flag: FlagValue): Effective {
  if (flag === 'bash' || NATIVE_DOMAINS.has(domain)) return { value: flag };
  return { value: 'bash', note: `native ${domain} not built yet; bash runs` };
}
