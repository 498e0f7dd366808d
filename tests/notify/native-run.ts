// The native notify_run with the run's logger as the orchestrator builds it (the configuration's secrets
// redacted, DEBUG lines kept), on a stage directory; its status, log lines and state (tests only).
import { readFileSync } from 'node:fs';
import { CONFIG_KEYS, isSecretKey } from '../../native/core/config-keys.js';
import { ExitCode } from '../../native/core/exit-code.js';
import { RunLog } from '../../native/core/log.js';
import { Redactor, secretsOf } from '../../native/core/redact.js';
import type { RunDir } from '../../native/core/run-dir.js';
import { stageContext } from '../../native/core/stage.js';
import { parseEnvFile } from '../../native/core/state-env.js';
import { notifyRun } from '../../native/notify/index.js';

export async function runNativeNotify(dir: RunDir, env: Record<string, string>): Promise<{ status: number; lines: string[]; state: Map<string, string> }> {
  const context = parseEnvFile(readFileSync(dir.contextPath, 'utf8'));
  const log = new RunLog({
    now: () => new Date(), debugLevel: 'advanced', disableColours: true, exitCode: new ExitCode(), console: undefined,
    redactor: new Redactor(secretsOf(context, CONFIG_KEYS.filter(isSecretKey).map((k) => k.name))),
  });
  log.attachFile(dir.logPath);
  const status = await notifyRun(stageContext({ runDir: dir, log, env }));
  log.close();
  const lines = readFileSync(dir.logPath, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+ \S+ /, ''));
  return { status, lines, state: parseEnvFile(readFileSync(dir.statePath, 'utf8')) };
}
