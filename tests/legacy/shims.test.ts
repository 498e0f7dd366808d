// shims/: one legacy stage as a process under the stage contract (shims/README.md). A check-only run
// leaves a RUN_DIR (PBK_KEEP_RUN_DIR=1) holding context.env; the backup stages then run one by one.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseEnvFile } from '../../native/core/state-env.js';
import { hostEnv, makeSandbox, REPO, runLegacy, tarList } from './run.js';


const shim = (name: string): string => join(REPO, 'shims', name);

describe('legacy stages through shims', () => {
  it('collect, archive and verify each run as a process and write the contract state', async () => {
    const sandbox = makeSandbox();
    const check = await runLegacy('pbs', sandbox, ['--check-only'], { PBK_KEEP_RUN_DIR: '1' });
    expect(check.exitCode).toBe(0);
    const runDir = /Run directory kept \(PBK_KEEP_RUN_DIR=1\): (\S+)/.exec(String(check.stderr))?.[1] ?? '';
    expect(statSync(runDir).mode & 0o777).toBe(0o700);
    const context = parseEnvFile(readFileSync(join(runDir, 'context.env'), 'utf8'));
    expect(context.get('PROXMOX_TYPE')).toBe('pbs');
    expect(context.get('HOSTNAME')).toBe('pbs.lab.example');
    expect(context.get('MAX_LOCAL_BACKUPS')).toBe('20');
    const env = hostEnv('pbs', sandbox);
    const run = (name: string) => execa(shim(name), [runDir], { env, extendEnv: false, reject: false });

    const collect = await run('backup_collect');
    expect(collect.exitCode).toBe(1);   // the pbs host's vanished datastore is a WARNING
    const archive = await run('backup_archive');
    expect(archive.exitCode).toBe(0);
    const verify = await run('backup_verify');
    expect(verify.exitCode).toBe(0);

    const state = parseEnvFile(readFileSync(join(runDir, 'state.env'), 'utf8'));
    expect(state.get('COMPRESSION_EFFECTIVE')).toBe('zstd');
    expect(state.get('STATUS_ARCHIVE')).toBe('0');
    expect(state.get('STATUS_VERIFY')).toBe('0');
    expect(Number(state.get('FILES_INCLUDED'))).toBeGreaterThan(50);
    const backupFile = state.get('BACKUP_FILE') ?? '';
    expect(backupFile).toBe(join(sandbox.backupDir, 'pbs-backup-pbs.lab.example-2024-11-25_02-00-00.tar.zst'));
    expect((await tarList(backupFile)).length).toBe(Number(state.get('STAGED_ENTRIES')));
    const runLog = readFileSync(join(runDir, 'run.log'), 'utf8');
    expect(runLog).toContain('[SUCCESS] Archive verification completed successfully');
  });

  it('fails internally (70) on a RUN_DIR that is not a private directory, and on a usage error (64)', async () => {
    const bad = await execa(shim('backup_collect'), ['/tmp'], { reject: false });
    expect(bad.exitCode).toBe(70);
    const usage = await execa(shim('backup_collect'), [], { reject: false });
    expect(usage.exitCode).toBe(64);
  });
});
