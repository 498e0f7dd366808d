// `switch-mode run-backup`: resolve the orchestrator flag and hand the run to that implementation.
// With the orchestrator on bash (or its native twin not built), the legacy pipeline runs the whole backup.
import { join, resolve } from 'node:path';
import type { ExitStatus } from '../../core/exit-code.js';
import { asExitStatus } from '../../core/exit-code.js';
import type { DomainName, FlagValue } from '../../switch/flags.js';
import { effectiveImplementation } from '../../switch/native-domains.js';
import type { CliEnvironment } from '../environment.js';
import { handOff } from '../launcher-handoff.js';
import { err } from '../output.js';
import { resolveAll } from './flags.js';

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
  const { flags, resolutions } = await resolveAll(environment, cli);
  const valueOf = (domain: DomainName): FlagValue => resolutions.find((r) => r.domain === domain)?.value ?? 'bash';
  const effective = effectiveImplementation('orchestrator', valueOf('orchestrator'));
  if (effective.note !== undefined) err(`INFO: orchestrator flag is ${valueOf('orchestrator')}: ${effective.note}`);
  if (effective.value === 'ts') {
    const [{ Orchestrator }, { NATIVE_STAGES }] = await Promise.all([import('../../switch/orchestrator.js'), import('../../registry.js')]);
    handOff(environment.env, 'ts');
    const orchestrator = new Orchestrator({
      codeDir: environment.codeDir, baseDir: environment.baseDir, env: hostEnvironment(environment.env, args.host), clock: environment.clock,
      configPath: args.config, dryRun: args.dryRun === true, checkOnly: args.checkOnly === true,
      debugLevel: args.extreme === true ? 'extreme' : args.verbose === true ? 'advanced' : undefined,
      implementation: (domain) => effectiveImplementation(domain, valueOf(domain)).value,
      fallback: flags.matrix.fallback, natives: NATIVE_STAGES,
      stdout: { write: (text) => process.stdout.write(text), isTTY: process.stdout.isTTY === true },
      stderr: err,
    });
    return orchestrator.run();
  }
  if (handOff(environment.env, 'bash')) return 0;
  const legacy = join(environment.codeDir, 'legacy', 'bin', 'proxmox-backup');
  const { execa } = await import('execa');
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
