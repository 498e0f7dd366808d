import { describe, expect, it } from 'vitest';
import type { ExitStatus } from '../core/exit-code.js';
import { renderSummary, type SummaryKey } from './run-summary.js';

function render(values: Partial<Record<SummaryKey, string>>, rest: { dryRun?: boolean; checkOnly?: boolean; exitCode?: ExitStatus } = {}): string[] {
  return renderSummary({
    value: (key) => values[key] ?? '', dryRun: rest.dryRun ?? false, checkOnly: rest.checkOnly ?? false,
    durationSeconds: 3725, mac: 'aa:bb:cc:dd:ee:ff', exitCode: rest.exitCode ?? 0,
  }).map((line) => `[${line.level}] ${line.text}`);
}

const ARCHIVE = {
  PROXMOX_TYPE: 'pve', HOSTNAME: 'pve1.example.org', BACKUP_FILE: '/backup/pve-backup-pve1.example.org-2024-11-25_02-00-00.tar.zst',
  ARCHIVE_SIZE: '123456789', FILES_INCLUDED: '1234', COMPRESSION_RATIO: '42.1%', SERVER_ID: '1234567890123456',
} as const;

describe('renderSummary (run.md §5.4, orchestrator_summary line for line)', () => {
  it('a run with an archive: its figures, one emoji per tier, the exit status', () => {
    expect(render({ ...ARCHIVE, STATUS_SECONDARY: 'ok', STATUS_CLOUD: 'error', LOG_FILE: '/var/log/pbk/x.log', LOG_SECONDARY: 'warning' },
      { exitCode: 1 })).toEqual([
      '[INFO] Backup Summary:',
      '[INFO] Type: pve',
      '[INFO] Host: pve1.example.org',
      '[INFO] Backup File: /backup/pve-backup-pve1.example.org-2024-11-25_02-00-00.tar.zst',
      '[INFO] Size: 117.7 MiB',
      '[INFO] Files: 1234 (excluding folders and .sha256 files)',
      '[INFO] Compression ratio: 42.1%',
      '[INFO] BACKUP = PRI ✅ - SEC ✅ - CLO ❌',
      '[INFO] LOG = PRI ✅ - SEC ⚠️ - CLO ➖',
      '[INFO] Duration: 01:02:05',
      '[INFO] Server MAC Address: aa:bb:cc:dd:ee:ff',
      '[INFO] Server Unique ID: 1234567890123456',
      '[INFO] Exit Status: 1 ⚠️',
      '[WARNING] Backup process completed with exit code: 1',
    ]);
  });

  it('the primary tier follows STATUS_VERIFY; an unknown ratio is left out; the file name is escaped', () => {
    const lines = render({ ...ARCHIVE, BACKUP_FILE: '/backup/a\nb.tar', COMPRESSION_RATIO: 'Unknown', STATUS_VERIFY: '2' }, { exitCode: 2 });
    expect(lines.slice(3, 7)).toEqual([
      '[INFO] Backup File: /backup/a\\nb.tar',
      '[INFO] Size: 117.7 MiB',
      '[INFO] Files: 1234 (excluding folders and .sha256 files)',
      '[INFO] BACKUP = PRI ❌ - SEC ➖ - CLO ➖',
    ]);
    expect(lines.slice(-2)).toEqual(['[INFO] Exit Status: 2 ❌', '[ERROR] Backup process completed with exit code: 2']);
    expect(render({ ...ARCHIVE, STATUS_VERIFY: '1' })[7]).toBe('[INFO] BACKUP = PRI ⚠️ - SEC ➖ - CLO ➖');
  });

  it('a dry run without an archive, nothing detected', () => {
    expect(render({}, { dryRun: true })).toEqual([
      '[INFO] Backup Summary:',
      '[INFO] Type: unknown',
      '[INFO] Host: unknown',
      '[INFO] Dry run: no archive created',
      '[INFO] BACKUP = PRI ➖ - SEC ➖ - CLO ➖',
      '[INFO] LOG = PRI ➖ - SEC ➖ - CLO ➖',
      '[INFO] Duration: 01:02:05',
      '[INFO] Server MAC Address: aa:bb:cc:dd:ee:ff',
      '[INFO] Server Unique ID: unknown',
      '[INFO] Exit Status: 0 ✅',
      '[SUCCESS] Backup process completed with exit code: 0',
    ]);
  });

  it('check-only: no archive line, the primary tier skipped', () => {
    expect(render({ PROXMOX_TYPE: 'pbs', HOSTNAME: 'pbs1' }, { checkOnly: true }).slice(3, 5)).toEqual([
      '[INFO] BACKUP = PRI ➖ - SEC ➖ - CLO ➖',
      '[INFO] LOG = PRI ➖ - SEC ➖ - CLO ➖',
    ]);
  });

  it('no archive in a real run: a WARNING, which the exit status counts as legacy\'s log_warning does', () => {
    const lines = render({ PROXMOX_TYPE: 'pve', HOSTNAME: 'h' });
    expect(lines[3]).toBe('[WARNING] Backup file information not available');
    expect(lines[4]).toBe('[INFO] BACKUP = PRI ❌ - SEC ➖ - CLO ➖');
    expect(lines.slice(-2)).toEqual(['[INFO] Exit Status: 1 ⚠️', '[WARNING] Backup process completed with exit code: 1']);
    expect(render({ PROXMOX_TYPE: 'pve', HOSTNAME: 'h' }, { exitCode: 2 }).slice(-1)).toEqual(['[ERROR] Backup process completed with exit code: 2']);
  });
});
