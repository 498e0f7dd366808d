import { mkdtempSync, readFileSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireRunLock, processStart } from './lock.js';

const id = (s: string): string => s;

describe('acquireRunLock (run.md §7)', () => {
  it('holds the lock until released, writes pid and start, empties the file on release', () => {
    const base = mkdtempSync(join(tmpdir(), 'pbk-lock-'));
    const first = acquireRunLock(base, id);
    expect(first.ok).toBe(true);
    const path = join(base, 'lock', 'proxmox-backup.lock');
    expect(readFileSync(path, 'utf8')).toBe(`pid=${process.pid}\nstart=${processStart(process.pid)}\n`);
    const second = acquireRunLock(base, id);
    expect(second).toEqual({ ok: false, error: `Another backup run is in progress (PID ${process.pid})` });
    if (first.ok) first.lock.release();
    expect(readFileSync(path, 'utf8')).toBe('');
    const third = acquireRunLock(base, id);
    expect(third.ok && third.notes).toEqual([]);
    if (third.ok) third.lock.release();
  });

  it('takes over a stale holder with an INFO note, garbage with a WARNING', () => {
    const base = mkdtempSync(join(tmpdir(), 'pbk-lock-'));
    mkdirSync(join(base, 'lock'));
    writeFileSync(join(base, 'lock', 'proxmox-backup.lock'), 'pid=999999\nstart=1\n');
    const stale = acquireRunLock(base, id);
    expect(stale.ok && stale.notes).toEqual([{ level: 'INFO', message: 'Stale lock from PID 999999 taken over' }]);
    if (stale.ok) stale.lock.release();
    writeFileSync(join(base, 'lock', 'proxmox-backup.lock'), 'garbage');
    const garbage = acquireRunLock(base, id);
    expect(garbage.ok && garbage.notes).toEqual([{ level: 'WARNING', message: 'Stale lock from PID unknown taken over' }]);
    if (garbage.ok) garbage.lock.release();
  });

  it('refuses a lock path that is not a regular file, touching nothing', () => {
    const base = mkdtempSync(join(tmpdir(), 'pbk-lock-'));
    mkdirSync(join(base, 'lock'));
    symlinkSync('/etc/passwd', join(base, 'lock', 'proxmox-backup.lock'));
    expect(acquireRunLock(base, id)).toEqual({ ok: false, error: `Lock path is not a regular file: ${join(base, 'lock', 'proxmox-backup.lock')}` });
  });
});
