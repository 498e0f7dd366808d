#!/usr/bin/env node
// switch-mode's TypeScript front end (ARCHITECTURE "Domains and flags"). bin/switch-mode calls it; when it
// cannot start, the launcher runs the legacy pipeline itself, so rollback never depends on this file.
import type { Argv } from 'yargs';
import type { ExitStatus } from '../core/exit-code.js';
import { readEnvironment, UsageError, type CliEnvironment } from './environment.js';
import { handOff } from './launcher-handoff.js';
import { err } from './output.js';

// Each command loads its module when it runs (issue 21): a run-backup never loads the parity harness, a
// `resolve` or `status` never loads the orchestrator, zx or the stages.
const flagCommands = () => import('./commands/flags.js');

const USAGE = `Usage: switch-mode <command> [options]

Exit codes: 0 success, 1 warning, 2 error.`;

function configOptions<T>(y: Argv<T>) {
  return y
    .option('config', { alias: ['e', 'env'], type: 'string', describe: 'backup.env to use (default BASE_DIR/env/backup.env)' })
    .option('host', { type: 'string', describe: 'fixture host directory: root/ is SYSTEM_ROOT_PREFIX, bin/ first on PATH' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'DEBUG_LEVEL=advanced' })
    .option('extreme', { alias: 'x', type: 'boolean', describe: 'DEBUG_LEVEL=extreme' })
    .option('flag', { type: 'string', array: true, default: [] as string[], describe: 'override a flag for this call: DOMAIN=bash|ts|shadow' });
}

/** The cli domain's side tools: bin/switch-mode runs them in Bash (security-check natively with cli=ts). */
const SIDE_TOOLS = `Side tools (Bash, no node needed; native with cli=ts where built; each has --help), as switch-mode <tool>:
  list [--check] [--json]          every archive of every host on every tier
  verify ARCHIVE [--identity KEY]  prove an archive intact
  restore --archive A --all|--categories a,b [--to ROOT] [--dry-run]
  security-check [--full|--basic|--update-hashes]
  server-id show|validate|reset
  fix-permissions [--dry-run]`;

type SideTool = (environment: CliEnvironment, args: readonly string[]) => Promise<ExitStatus>;

/** The side tools with a native twin (run when the cli flag is ts; main() tells bin/switch-mode in its hand-off).
 * Each takes the legacy tool's options, lines and exit codes, not yargs'. A tool missing here runs in Bash. */
const NATIVE_TOOLS: Readonly<Record<string, () => Promise<SideTool>>> = {
  'security-check': async () => (await import('./commands/security-check.js')).runSecurityCheck,
  'server-id': async () => (await import('./commands/server-id.js')).runServerId,
  'fix-permissions': async () => (await import('./commands/fix-permissions.js')).runFixPermissions,
  list: async () => (await import('./commands/list.js')).runList,
  verify: async () => (await import('./commands/verify.js')).runVerify,
  restore: async () => (await import('./commands/restore.js')).runRestore,
};

/** Every side tool bin/switch-mode routes through this front end (its `run_side_tool`). */
const LAUNCHER_TOOLS: ReadonlySet<string> = new Set(['security-check', 'server-id', 'fix-permissions', 'list', 'verify', 'restore']);

/** bin/switch-mode's one node start for a side tool (issue 21): decide the side and write it to the hand-off file.
 * Quiet, and bash on any error (an invalid BASE_DIR or flags.json): under bash the legacy tool owns stderr and
 * reports such faults itself; rollback never depends on this decision. */
async function toolHandOff(native: boolean): Promise<'ts' | 'bash'> {
  let side: 'ts' | 'bash' = 'bash';
  try {
    side = await (await flagCommands()).toolSide(readEnvironment(), native);
  } catch {
    side = 'bash';
  }
  handOff(process.env, side);
  return side;
}

async function main(argv: string[]): Promise<ExitStatus> {
  const tool = NATIVE_TOOLS[argv[0] ?? ''];
  if (argv[0] === 'resolve-tool') {
    return (await flagCommands()).runResolveTool(readEnvironment(), NATIVE_TOOLS[argv[1] ?? ''] !== undefined);
  }
  if (LAUNCHER_TOOLS.has(argv[0] ?? '') && (process.env.PBK_LAUNCHER_HANDOFF ?? '') !== '') {
    if (await toolHandOff(tool !== undefined) === 'bash') return 0;
  }
  if (tool !== undefined) {
    try {
      return await (await tool())(readEnvironment(), argv.slice(1));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      err(`ERROR: ${error.message}`);
      return 2;
    }
  }
  let status: ExitStatus = 0;
  // yargs loads only for the commands it parses: a side tool or a resolve-tool never pays for it (issue 21)
  const { default: yargs } = await import('yargs');
  const parser = yargs(argv)
    .scriptName('switch-mode')
    .usage(USAGE)
    .strict()
    .exitProcess(false)
    .option('target', { type: 'string', describe: 'rewrite flags.json: every domain bash (rollback) or ts' })
    .command('run-backup', 'run one backup with the implementations the flags choose', (y) => configOptions(y)
      .option('dry-run', { type: 'boolean', describe: 'collect and report, write nothing' })
      .option('check-only', { alias: 'check', type: 'boolean', describe: 'checks only (phases 0-8)' })
      .conflicts('dry-run', 'check-only'), async (args) => {
      const environment = readEnvironment();
      const [{ runBackup }, { parseFlagOverrides }] = await Promise.all([import('./commands/run-backup.js'), flagCommands()]);
      status = await runBackup(environment, { ...args, dryRun: args['dry-run'], checkOnly: args['check-only'] },
        parseFlagOverrides(args.flag));
    })
    .command('status', 'print every flag, its value and the rule that set it', (y) => configOptions(y), async (args) => {
      const { runStatus, parseFlagOverrides } = await flagCommands();
      status = await runStatus(readEnvironment(), parseFlagOverrides(args.flag));
    })
    .command('set <domain> <value>', 'set one domain in flags.json (atomic rewrite)', (y) => y
      .positional('domain', { type: 'string', demandOption: true })
      .positional('value', { type: 'string', demandOption: true }), async (args) => {
      const { runSet } = await flagCommands();
      status = await runSet(readEnvironment(), args.domain, args.value);
    })
    .command('check', 'validate backup.env and flags.json; print the resolved config, secrets masked',
      (y) => configOptions(y), async (args) => {
        const { runCheck } = await import('./commands/check.js');
        status = runCheck(readEnvironment(), args);
      })
    .command('parity', 'run the parity harness: bash vs ts on fixture hosts, diffed against golden/', (y) => y
      .option('host', { type: 'string', array: true, describe: 'host directory (fixture-host format); repeatable; default: the fixture hosts' })
      .option('scenario', { type: 'string', array: true, describe: 'scenario name; repeatable; default: the default set' })
      .option('matrix', { type: 'boolean', describe: 'every scenario on every host, and each single-domain flip' })
      .option('update-golden', { type: 'boolean', describe: 'rewrite golden/HOST/SCENARIO from path A (review the diff)' })
      .option('report', { type: 'string', describe: 'write the JSON report to this file' })
      .option('keep', { type: 'boolean', describe: 'keep the sandboxes (their paths are in the report)' })
      .option('jobs', { type: 'number', describe: 'runs in parallel (default: the CPU count)' })
      .option('quiet', { type: 'boolean', describe: 'no progress lines on stderr' }), async (args) => {
      const { runParityCommand } = await import('./commands/parity.js');
      status = await runParityCommand(readEnvironment(), { ...args, updateGolden: args['update-golden'] });
    })
    .command('resolve <domain>', false, (y) => configOptions(y).positional('domain', { type: 'string', demandOption: true }),
      async (args) => {
        const { runResolve, parseFlagOverrides } = await flagCommands();
        status = await runResolve(readEnvironment(), args.domain, parseFlagOverrides(args.flag));
      })
    .command('$0', false, () => undefined, async (args) => {
      if (typeof args.target === 'string') status = await (await flagCommands()).runTarget(readEnvironment(), args.target);
      else {
        parser.showHelp('error');
        status = 2;
      }
    })
    .fail((message, error) => {
      if (error !== undefined && !(error instanceof UsageError)) throw error;
      err(message ?? error?.message ?? 'usage error');
      err('Run switch-mode --help for usage.');
      status = 2;
    })
    .epilogue(SIDE_TOOLS)
    .help()
    .version(false);
  await parser.parseAsync();
  return status;
}

main(process.argv.slice(2)).then((status) => {
  process.exitCode = status;
}, (error: unknown) => {
  if (error instanceof UsageError) {
    err(error.message);
    process.exitCode = 2;
    return;
  }
  err(`switch-mode: internal error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  process.exitCode = 70;
});
