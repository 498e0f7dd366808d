import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasProgram } from '../core/programs.js';
import { cleanPath } from './host-facts.js';
import { shadowReportPath } from './shadow.js';
import { statusFromLogLines } from './stages.js';

describe('cleanPath (run.md §1 phase 0)', () => {
  it('drops relative entries with a warning each and appends the missing system directories', () => {
    const result = cleanPath('/opt/host/bin:relative::/usr/bin');
    expect(result.path).toBe('/opt/host/bin:/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/bin');
    expect(result.warnings).toEqual(["Ignoring relative PATH entry 'relative'", "Ignoring relative PATH entry ''"]);
    expect(cleanPath('/a/bin:').warnings).toEqual([]);
  });
});

describe('hasProgram', () => {
  it('wants an executable regular file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-path-'));
    writeFileSync(join(dir, 'plain'), '');
    writeFileSync(join(dir, 'tool'), '#!/bin/sh\n');
    chmodSync(join(dir, 'tool'), 0o755);
    mkdirSync(join(dir, 'adir'));
    expect(hasProgram('tool', dir)).toBe(true);
    expect(hasProgram('plain', dir)).toBe(false);
    expect(hasProgram('adir', dir)).toBe(false);
    expect(hasProgram('absent', dir)).toBe(false);
  });
});

describe('statusFromLogLines (run.md §2: the code is recomputable from the log)', () => {
  it('raises for WARNING and ERROR lines, never for parity: diagnostics', () => {
    expect(statusFromLogLines('2024-11-25 02:00:00 [INFO] fine\n')).toBe(0);
    expect(statusFromLogLines('2024-11-25 02:00:00 [WARNING] parity: native x differs\n')).toBe(0);
    expect(statusFromLogLines('2024-11-25 02:00:00 [WARNING] Missing critical file: x\n')).toBe(1);
    expect(statusFromLogLines('2024-11-25 02:00:00 [WARNING] a\n2024-11-25 02:00:00 [ERROR] b\n')).toBe(2);
    expect(statusFromLogLines('[ERROR] not a log line\n')).toBe(0);
  });
});

describe('shadowReportPath', () => {
  it('puts the report beside the log file, or in the log directory without one', () => {
    expect(shadowReportPath('/var/log/pbk/pve-backup-h-2024.log', '/var/log/pbk', 'backup_collect')).toBe('/var/log/pbk/pve-backup-h-2024.parity-backup_collect.diff');
    expect(shadowReportPath('', '/var/log/pbk', 'backup_archive')).toBe('/var/log/pbk/proxmox-backup.parity-backup_archive.diff');
  });
});
