// Usage: node dist/native/tools/run-stages.js [--time] RUN_DIR STAGE...
// Summary: Run native stages on an existing run directory, as shims/<stage> runs legacy ones — the twin used by
// `make bench` to time the backup domain and the security gate alone, and by a developer to rerun one stage on a kept RUN_DIR
// (PBK_KEEP_RUN_DIR=1). Appends to RUN_DIR/run.log and state.env; stops after a stage that ends 2.
// Exit: the highest stage status (0/1/2); 64 bad usage or unknown stage.
import { readFileSync } from 'node:fs';
import { ExitCode, type ExitStatus } from '../core/exit-code.js';
import { RunLog, type DebugLevel } from '../core/log.js';
import { Redactor } from '../core/redact.js';
import { RunDir } from '../core/run-dir.js';
import { parseEnvFile } from '../core/state-env.js';
import { makeClock, parsePinnedNow, wallDate } from '../core/clock.js';
import { stageContext, type StageName } from '../core/stage.js';
import { ALL_NATIVE_STAGES as NATIVE_STAGES } from '../registry.js';

async function main(argv: string[]): Promise<number> {
  // --time: each stage's own wall time on stderr (`STAGE: 0.123 s`), node's start and module loading excluded:
  // what the stage costs inside a run-backup, where node is already running (make bench, issue 19).
  const timing = argv[0] === '--time';
  const [path, ...stages] = timing ? argv.slice(1) : argv;
  if (path === undefined || stages.length === 0) {
    process.stderr.write('usage: run-stages [--time] RUN_DIR STAGE...\n');
    return 64;
  }
  const unknown = stages.filter((s) => NATIVE_STAGES[s as StageName] === undefined);
  if (unknown.length > 0) {
    process.stderr.write(`run-stages: no native stage ${unknown.join(', ')}\n`);
    return 64;
  }
  const runDir = RunDir.open(path);
  const context = parseEnvFile(readFileSync(runDir.contextPath, 'utf8'));
  const exitCode = new ExitCode();
  const env = process.env;
  const clock = makeClock(parsePinnedNow(env.PBK_NOW));
  const log = new RunLog({
    now: () => wallDate(clock), debugLevel: (context.get('DEBUG_LEVEL') ?? 'standard') as DebugLevel, disableColours: true,
    exitCode, redactor: new Redactor([]), console: undefined,
  });
  log.attachFile(runDir.logPath);
  let worst: ExitStatus = 0;
  try {
    for (const stage of stages) {
      const run = NATIVE_STAGES[stage as StageName];
      const started = process.hrtime.bigint();
      const status = run === undefined ? 2 : await run(stageContext({ runDir, log, env, clock }));
      if (timing) process.stderr.write(`${stage}: ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(3)} s\n`);
      worst = Math.max(worst, status) as ExitStatus;
      if (status === 2) break;
    }
  } finally {
    log.close();
  }
  return worst;
}

process.exitCode = await main(process.argv.slice(2));
