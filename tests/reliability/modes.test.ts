// Modes whatever the umask (issue 14 §3): the metrics directory 0755 (metrics.md §1), the lock file 0600 when
// security-check --update-hashes creates it (security.md R1, run.md §7). Each under umask 000 and 077.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { hostEnv, makeSandbox, REPO } from '../legacy/run.js';

/** ARGV run under UMASK (a shell sets it, then execs the program). */
function underUmask(umask: string, argv: string[], env: Record<string, string>) {
  return execa('bash', ['-c', `umask ${umask} && exec "$@"`, 'bash', ...argv], { env, extendEnv: false, reject: false, timeout: 180_000 });
}

const mode = (path: string): string => (statSync(path).mode & 0o7777).toString(8).padStart(4, '0');

describe.each(['000', '077'])('umask %s', (umask) => {
  it.each(['bash', 'ts'])('security-check --update-hashes creates the lock file 0600 (%s)', async (side) => {
    const sandbox = makeSandbox();
    const argv = side === 'bash' ? [join(REPO, 'legacy', 'bin', 'security-check')]
      : [process.execPath, join(REPO, 'dist', 'native', 'cli', 'main.js'), 'security-check'];
    const result = await underUmask(umask, [...argv, '--update-hashes'], hostEnv('pve-single', sandbox));
    expect(result.exitCode).toBe(0);
    expect(mode(join(sandbox.baseDir, 'lock', 'proxmox-backup.lock'))).toBe('0600');
    expect(mode(join(sandbox.baseDir, 'lock'))).toBe('0700');
  });

  it.each(['bash', 'ts'])('a run creates the metrics directory (and its parent) 0755, the file 0644 (%s)', async (side) => {
    const sandbox = makeSandbox({ PROMETHEUS_ENABLED: 'true', PROMETHEUS_TEXTFILE_DIR: '${BASE_DIR}/metrics/textfile' });
    const argv = side === 'bash' ? [join(REPO, 'legacy', 'bin', 'proxmox-backup')]
      : [join(REPO, 'bin', 'switch-mode'), 'run-backup', '--flag', 'orchestrator=ts', '--flag', 'metrics=ts'];
    const result = await underUmask(umask, argv, hostEnv('pve-single', sandbox));
    expect(result.exitCode).toBeLessThan(2);
    expect(mode(join(sandbox.baseDir, 'metrics'))).toBe('0755');
    expect(mode(join(sandbox.baseDir, 'metrics', 'textfile'))).toBe('0755');
    expect(mode(join(sandbox.baseDir, 'metrics', 'textfile', 'proxmox_backup.prom'))).toBe('0644');
  }, 200_000);
});
