// `switch-mode run-backup`: resolve the orchestrator flag and hand the run to that implementation.
// With the orchestrator on bash (or its native twin not built), the legacy pipeline runs the whole backup.
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { ExitStatus } from '../../core/exit-code.js';
import { asExitStatus } from '../../core/exit-code.js';
import type { DomainName, FlagValue } from '../../switch/flags.js';
import { effectiveImplementation } from '../../switch/native-domains.js';
import type { CliEnvironment } from '../environment.js';
import { err } from '../output.js';
import { readFlagsFile } from '../../switch/flags-file.js';
import { resolveFlags } from '../../switch/flags.js';
import { nodeIdentity } from '../environment.js';
import { flagsPathOf } from './flags.js';

export interface RunBackupArgs {
  readonly config?: string;
  readonly host?: string;
  readonly dryRun?: boolean;
  readonly checkOnly?: boolean;
  readonly verbose?: boolean;
  readonly extreme?: boolean;
}

export function legacyArgv(args: RunBackupArgs): string[] {
  const argv: string[] = [];
  if (args.dryRun === true) argv.push('--dry-run');
  if (args.checkOnly === true) argv.push('--check-only');
  if (args.verbose === true) argv.push('-v');
  if (args.extreme === true) argv.push('-x');
  if (args.config !== undefined) argv.push('--config', resolve(args.config));
  return argv;
}

/** A fixture host (parity/hosts format): root/ becomes SYSTEM_ROOT_PREFIX, bin/ goes first on PATH. */
export function hostEnvironment(env: Readonly<Record<string, string | undefined>>, host: string | undefined) {
  if (host === undefined) return { ...env };
  const dir = resolve(host);
  return { ...env, SYSTEM_ROOT_PREFIX: join(dir, 'root'), PATH: `${join(dir, 'bin')}:${env.PATH ?? ''}` };
}

export async function runBackup(environment: CliEnvironment, args: RunBackupArgs,
  cli: Partial<Record<DomainName, FlagValue>>): Promise<ExitStatus> {
  const flags = readFlagsFile(flagsPathOf(environment));
  if (!flags.ok && !flags.missing) err(`WARNING: flags.json is invalid (${flags.reason}); running every domain in bash`);
  const identity = await nodeIdentity(environment.baseDir);
  const orchestrator = resolveFlags(flags.matrix, identity, flags.ok ? cli : {}).find((r) => r.domain === 'orchestrator');
  const effective = effectiveImplementation('orchestrator', orchestrator?.value ?? 'bash');
  if (effective.note !== undefined) err(`INFO: orchestrator flag is ${orchestrator?.value}: ${effective.note}`);
  const legacy = join(environment.codeDir, 'legacy', 'bin', 'proxmox-backup');
  const result = await execa(legacy, legacyArgv(args), {
    stdio: 'inherit', reject: false, env: hostEnvironment(environment.env, args.host), extendEnv: false,
  });
  const status = asExitStatus(result.exitCode);
  if (status === undefined) {
    err(`ERROR: legacy pipeline ended abnormally (${result.signal ?? `exit ${result.exitCode ?? 'unknown'}`})`);
    return 2;
  }
  return status;
}
