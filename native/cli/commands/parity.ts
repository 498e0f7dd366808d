// `switch-mode parity`: the parity harness from the command line (docs/ARCHITECTURE.md "Parity harness", `make test-parity`).
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { ExitStatus } from '../../core/exit-code.js';
import { formatDiffs, formatSummary } from '../../parity/report.js';
import { runParity } from '../../parity/runner.js';
import type { CliEnvironment } from '../environment.js';
import { err, out } from '../output.js';

export interface ParityArgs {
  readonly host?: readonly string[];
  readonly scenario?: readonly string[];
  readonly matrix?: boolean;
  readonly updateGolden?: boolean;
  readonly report?: string;
  readonly keep?: boolean;
  readonly jobs?: number;
  readonly quiet?: boolean;
}

export async function runParityCommand(environment: CliEnvironment, args: ParityArgs): Promise<ExitStatus> {
  const report = await runParity({
    codeDir: environment.codeDir, env: environment.env, clock: environment.clock,
    hosts: args.host, scenarios: args.scenario, matrix: args.matrix, updateGolden: args.updateGolden, keep: args.keep, jobs: args.jobs,
    progress: args.quiet === true ? undefined : (line) => err(line),
  });
  const diffs = formatDiffs(report);
  if (diffs !== '') out(diffs);
  out(formatSummary(report).trimEnd());
  if (args.report !== undefined) {
    mkdirSync(dirname(resolve(args.report)), { recursive: true });
    await writeFileAtomic(args.report, `${JSON.stringify(report, null, 2)}\n`);
  }
  return report.ok ? 0 : 2;
}
