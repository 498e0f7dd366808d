// `switch-mode status`, `set DOMAIN VALUE`, `--target=bash|ts` and the launcher's `resolve DOMAIN`.
import { join } from 'node:path';
import type { ExitStatus } from '../../core/exit-code.js';
import { readFlagsFile, updateManifestForFlags, writeFlagsFile } from '../../switch/flags-file.js';
import {
  DOMAINS, isDomain, isFlagValue, resolveFlags, setDomain, targetMatrix, type DomainName, type FlagValue, type Resolution,
} from '../../switch/flags.js';
import { effectiveImplementation } from '../../switch/native-domains.js';
import { nodeIdentity, UsageError, type CliEnvironment } from '../environment.js';
import { err, out } from '../output.js';

export function flagsPathOf(environment: CliEnvironment): string {
  return join(environment.baseDir, 'flags.json');
}

/** `--flag backup=ts` (repeatable): the command-line layer of the resolution. */
export function parseFlagOverrides(items: readonly string[]): Partial<Record<DomainName, FlagValue>> {
  const result: Partial<Record<DomainName, FlagValue>> = {};
  for (const item of items) {
    const [domain = '', value = ''] = item.split('=', 2);
    if (!isDomain(domain)) throw new UsageError(`Unknown domain in --flag: '${domain}'`);
    if (!isFlagValue(value)) throw new UsageError(`Invalid value in --flag ${domain}: '${value}' (expected bash|ts|shadow)`);
    result[domain] = value;
  }
  return result;
}

export async function resolveAll(environment: CliEnvironment, cli: Partial<Record<DomainName, FlagValue>>) {
  const flags = readFlagsFile(flagsPathOf(environment));
  if (!flags.ok && !flags.missing) {
    err(`WARNING: flags.json is invalid (${flags.reason}); running every domain in bash`);
  }
  const identity = await nodeIdentity(environment.baseDir);
  // A broken flags.json means all-bash for every domain, whatever the command line says (ARCHITECTURE).
  const resolutions = !flags.ok && !flags.missing
    ? resolveFlags(flags.matrix, identity).map((r): Resolution => ({ ...r, rule: 'flags.json invalid' }))
    : resolveFlags(flags.matrix, identity, cli);
  return { flags, identity, resolutions };
}

export async function runStatus(environment: CliEnvironment, cli: Partial<Record<DomainName, FlagValue>>): Promise<ExitStatus> {
  const { flags, identity, resolutions } = await resolveAll(environment, cli);
  out(`flags.json: ${flagsPathOf(environment)} (${flags.ok ? 'valid' : flags.missing ? 'absent: every domain bash' : `invalid: ${flags.reason}`})`);
  out(`node: ${identity.hostnames.join(' ')}  server id: ${identity.serverId}${identity.persisted ? '' : ' (not yet persisted)'}`);
  out(`fallback: ${flags.matrix.fallback ? 'on' : 'off'}`);
  for (const r of resolutions) {
    const effective = effectiveImplementation(r.domain, r.value);
    const note = effective.note === undefined ? '' : `  (${effective.note})`;
    out(`${r.domain.padEnd(13)}${r.value.padEnd(8)}${r.rule}${note}`);
  }
  return flags.ok || flags.missing ? 0 : 1;
}

export async function runResolve(environment: CliEnvironment, domain: string,
  cli: Partial<Record<DomainName, FlagValue>>): Promise<ExitStatus> {
  if (!isDomain(domain)) throw new UsageError(`Unknown domain: '${domain}'`);
  const { resolutions } = await resolveAll(environment, cli);
  const found = resolutions.find((r) => r.domain === domain);
  out(effectiveImplementation(domain, found?.value ?? 'bash').value);
  return 0;
}

/** Which side runs a side tool: ts when the tool has a native twin and the cli flag resolves to ts, else bash.
 * The launcher's question (main.ts answers it in the hand-off file before running the tool, or `resolve-tool`). */
export async function toolSide(environment: CliEnvironment, native: boolean): Promise<'ts' | 'bash'> {
  if (!native) return 'bash';
  // Quiet: under bash the legacy tool owns stderr. Absent or invalid flags.json: every domain bash.
  const flags = readFlagsFile(flagsPathOf(environment));
  if (!flags.ok) return 'bash';
  const { matrix } = flags;
  // The node's identity (two `hostname` calls) matters only to a canary or node rule for cli.
  const byNode = matrix.canary.cli !== undefined || Object.values(matrix.nodes).some((rules) => rules.cli !== undefined);
  const cli = byNode ? resolveFlags(matrix, await nodeIdentity(environment.baseDir)).find((r) => r.domain === 'cli')?.value
    : matrix.defaults.cli;
  return effectiveImplementation('cli', cli ?? 'bash').value === 'ts' ? 'ts' : 'bash';
}

/** `resolve-tool TOOL` (the parity harness's tool runs): prints what bin/switch-mode runs for TOOL, ts or bash. */
export async function runResolveTool(environment: CliEnvironment, native: boolean): Promise<ExitStatus> {
  out(await toolSide(environment, native));
  return 0;
}

export async function runSet(environment: CliEnvironment, domain: string, value: string): Promise<ExitStatus> {
  if (!isDomain(domain)) throw new UsageError(`Unknown domain: '${domain}' (expected ${DOMAINS.join('|')})`);
  if (!isFlagValue(value)) throw new UsageError(`Invalid flag value: '${value}' (expected bash|ts|shadow)`);
  const path = flagsPathOf(environment);
  const flags = readFlagsFile(path);
  if (!flags.ok && !flags.missing) err(`WARNING: flags.json was invalid (${flags.reason}); starting from all-bash`);
  await writeFlagsFile(path, setDomain(flags.matrix, domain, value));
  out(`${domain} set to ${value} in ${path} (previous kept as flags.json.prev)`);
  if (updateManifestForFlags(path)) out('Integrity manifest updated for flags.json');
  return 0;
}

export async function runTarget(environment: CliEnvironment, value: string): Promise<ExitStatus> {
  if (value !== 'bash' && value !== 'ts') throw new UsageError(`Invalid --target: '${value}' (expected bash|ts)`);
  const path = flagsPathOf(environment);
  const flags = readFlagsFile(path);
  await writeFlagsFile(path, targetMatrix(flags.ok ? flags.matrix : undefined, value));
  out(`Every domain set to ${value} in ${path} (canaries and node overrides cleared; previous kept as flags.json.prev)`);
  if (updateManifestForFlags(path)) out('Integrity manifest updated for flags.json');
  return 0;
}
