// Phase 16's summary block (run.md §5.4), line for line as orchestrator_summary (legacy/lib/orchestrator.sh)
// writes it: a pure function of the run's values, the clock's reading and the exit code; the orchestrator logs
// the lines it returns. A WARNING line raises the run's exit code as it is logged (run.md §2), so the exit status
// the block ends with counts the block's own warning.
import { esc } from '../core/esc.js';
import { formatDuration, humanSize } from '../core/human.js';
import { escalate, type ExitStatus } from '../core/exit-code.js';
import type { Level } from '../core/log.js';

/** The run's values the summary reads (run facts, state.env, context.env), by their legacy variable names. */
export type SummaryKey = 'PROXMOX_TYPE' | 'HOSTNAME' | 'BACKUP_FILE' | 'ARCHIVE_SIZE' | 'FILES_INCLUDED' | 'COMPRESSION_RATIO'
  | 'STATUS_VERIFY' | 'STATUS_SECONDARY' | 'STATUS_CLOUD' | 'LOG_FILE' | 'LOG_PRIMARY' | 'LOG_SECONDARY' | 'LOG_CLOUD' | 'SERVER_ID';

export interface SummaryInputs {
  /** A value of the run, '' when unset (as `${KEY:-default}` sees an empty variable). */
  readonly value: (key: SummaryKey) => string;
  readonly dryRun: boolean;
  readonly checkOnly: boolean;
  /** Run-clock seconds since START_TIME. */
  readonly durationSeconds: number;
  /** The first non-loopback MAC address (host-facts.ts firstMac), or `unknown`. */
  readonly mac: string;
  /** The run's exit code before the summary. */
  readonly exitCode: ExitStatus;
}

export interface SummaryLine {
  readonly level: Extract<Level, 'INFO' | 'WARNING' | 'SUCCESS' | 'ERROR'>;
  readonly text: string;
}

const EMOJI: Readonly<Record<string, string>> = { ok: '✅', warning: '⚠️', error: '❌' };
const emoji = (state: string): string => EMOJI[state] ?? '➖';

export function renderSummary({ value, dryRun, checkOnly, durationSeconds, mac, exitCode }: SummaryInputs): SummaryLine[] {
  const lines: SummaryLine[] = [];
  const info = (text: string): void => {
    lines.push({ level: 'INFO', text });
  };
  let primary = 'error';
  let code = exitCode;
  info('Backup Summary:');
  info(`Type: ${value('PROXMOX_TYPE') || 'unknown'}`);
  info(`Host: ${value('HOSTNAME') || 'unknown'}`);
  const backupFile = value('BACKUP_FILE');
  if (backupFile !== '') {
    info(`Backup File: ${esc(backupFile)}`);
    info(`Size: ${humanSize(Number(value('ARCHIVE_SIZE') || '0'))}`);
    info(`Files: ${value('FILES_INCLUDED') || '0'} (excluding folders and .sha256 files)`);
    const ratio = value('COMPRESSION_RATIO') || 'Unknown';
    if (ratio !== 'Unknown') info(`Compression ratio: ${ratio}`);
    const verify = value('STATUS_VERIFY') || '0';
    primary = verify === '1' ? 'warning' : verify === '2' ? 'error' : 'ok';
  } else if (dryRun) {
    info('Dry run: no archive created');
    primary = 'skipped';
  } else if (checkOnly) {
    primary = 'skipped';
  } else {
    lines.push({ level: 'WARNING', text: 'Backup file information not available' });
    code = escalate(code, 1);
  }
  const tier = (key: SummaryKey, fallback: string): string => emoji(value(key) || fallback);
  info(`BACKUP = PRI ${emoji(primary)} - SEC ${tier('STATUS_SECONDARY', 'disabled')} - CLO ${tier('STATUS_CLOUD', 'disabled')}`);
  const logState = value('LOG_FILE') === '' ? 'disabled' : 'ok';
  info(`LOG = PRI ${tier('LOG_PRIMARY', logState)} - SEC ${tier('LOG_SECONDARY', 'disabled')} - CLO ${tier('LOG_CLOUD', 'disabled')}`);
  info(`Duration: ${formatDuration(durationSeconds)}`);
  info(`Server MAC Address: ${mac}`);
  info(`Server Unique ID: ${value('SERVER_ID') || 'unknown'}`);
  info(`Exit Status: ${code} ${emoji(code === 0 ? 'ok' : code === 1 ? 'warning' : 'error')}`);
  if (code === 0) lines.push({ level: 'SUCCESS', text: 'Backup process completed with exit code: 0' });
  else if (code === 1) lines.push({ level: 'WARNING', text: 'Backup process completed with exit code: 1' });
  else lines.push({ level: 'ERROR', text: `Backup process completed with exit code: ${code}` });
  return lines;
}
