// storage in shadow (ARCHITECTURE "Dispatch", issue #17): bash copies, uploads and rotates for real; the native
// twin runs on scratch mirrors of the local and secondary tiers and replays the control's rclone calls, so the
// remote sees one set of calls. Silent on fixture hosts with three tiers, retention and the permission step; a
// candidate that differs is reported without changing the run's outcome.
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnvFile } from '../../native/core/state-env.js';
import type { NativeStages } from '../../native/core/stage.js';
import { NATIVE_STORAGE_STAGES } from '../../native/storage/index.js';
import { Orchestrator } from '../../native/switch/orchestrator.js';
import { hostEnv, makeSandbox, REPO, type Sandbox } from '../legacy/run.js';
import { startWebDav, type WebDav } from './webdav.js';

const savedUmask = process.umask();
const savedTz = process.env.TZ;
let webdav: WebDav;
let holder: Sandbox;

beforeAll(async () => {
  holder = makeSandbox();
  webdav = await startWebDav(join(holder.baseDir, 'cloud'), holder.baseDir);
});
afterAll(async () => {
  process.umask(savedUmask);
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
  await webdav.stop();
});

/** An rclone first on PATH that logs each call's arguments, then runs the real one. */
function rcloneSpy(dir: string): { bin: string; calls: () => string[] } {
  const bin = join(dir, 'spy-bin');
  mkdirSync(bin, { recursive: true });
  const log = join(dir, 'rclone-calls.log');
  writeFileSync(join(bin, 'rclone'), `#!/bin/bash\nprintf '%s\\n' "$*" >> '${log}'\nPATH="\${PATH#*:}" exec rclone "$@"\n`);
  chmodSync(join(bin, 'rclone'), 0o755);
  return { bin, calls: () => readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') };
}

async function shadowRun(host: string, natives: NativeStages): Promise<{ stdout: string; status: number; state: Map<string, string>; calls: string[] }> {
  const remotePath = `/${host}-${Math.random().toString(36).slice(2, 8)}`;
  const sandbox = makeSandbox({
    ENABLE_SECONDARY_BACKUP: 'true', SECONDARY_BACKUP_PATH: '${BASE_DIR}/secondary/backup', SECONDARY_LOG_PATH: '${BASE_DIR}/secondary/log',
    ENABLE_CLOUD_BACKUP: 'true', RCLONE_REMOTE: 'cloud', CLOUD_BACKUP_PATH: `${remotePath}/backup`, CLOUD_LOG_PATH: `${remotePath}/log`,
    CLOUD_CONNECTIVITY_TIMEOUT: '10', MAX_LOCAL_BACKUPS: '2', MAX_SECONDARY_BACKUPS: '2', MAX_CLOUD_BACKUPS: '2',
    ENABLE_LOG_MANAGEMENT: 'true', SET_BACKUP_PERMISSIONS: 'true', BACKUP_USER: 'nobody', BACKUP_GROUP: 'nogroup',
  });
  // Three older sets of this host in the local and secondary tiers: rotation deletes one in each.
  for (const dir of [sandbox.backupDir, join(sandbox.baseDir, 'secondary', 'backup')]) {
    mkdirSync(dir, { recursive: true });
    for (const day of ['20', '21', '22']) {
      const name = `${PREFIX[host] ?? ''}2024-11-${day}_02-00-00.tar.zst`;
      writeFileSync(join(dir, name), 'old\n', { mode: 0o644 });
      writeFileSync(join(dir, `${name}.sha256`), `0000  ${name}\n`, { mode: 0o644 });
    }
  }
  const spy = rcloneSpy(sandbox.baseDir);
  const env = hostEnv(host, sandbox, { PBK_KEEP_RUN_DIR: '1', RCLONE_CONFIG: webdav.configPath });
  env.PATH = `${spy.bin}:${env.PATH}`;
  let stdout = '';
  const status = await new Orchestrator({
    codeDir: REPO, baseDir: sandbox.baseDir, env, dryRun: false, checkOnly: false,
    implementation: (domain) => (domain === 'storage' ? 'shadow' : 'bash'), fallback: false, natives,
    stdout: { write: (text) => { stdout += text; }, isTTY: false }, stderr: () => undefined,
  }).run();
  const tmp = join(sandbox.baseDir, 'tmp');
  const runDir = readdirSync(tmp).find((n) => n.startsWith('proxmox-backup-run.')) ?? '';
  return { stdout, status, state: parseEnvFile(readFileSync(join(tmp, runDir, 'state.env'), 'utf8')), calls: spy.calls() };
}

// Every fixture host with PBK_SHADOW_ALL_HOSTS=1 (the nightly job; about a minute per host); pve-single in make test.
const HOSTS = process.env.PBK_SHADOW_ALL_HOSTS === '1' ? ['pve-single', 'pve-cluster', 'pbs', 'dual', 'hostile'] : ['pve-single'];

/** Each fixture host's backup name prefix (type and FQDN, as its golden happy run names its archive). */
const PREFIX: Readonly<Record<string, string>> = {
  'pve-single': 'pve-backup-pve1.lab.example-', 'pve-cluster': 'pve-backup-pve1.cluster.lab.example-', pbs: 'pbs-backup-pbs.lab.example-',
  dual: 'dual-backup-pvepbs.lab.example-', hostile: 'pve-backup-hostile.lab.example-',
};

describe('storage in shadow', () => {
  it.each(HOSTS)('%s: silent with three tiers, retention and permissions; the remote sees the control\'s calls only', async (host) => {
    const run = await shadowRun(host, NATIVE_STORAGE_STAGES);
    expect(run.stdout).not.toContain('parity:');
    expect(run.state.get('SHADOW_STORAGE')).toBe('1');
    for (const kind of ['MISMATCHES', 'CANDIDATE_FAILURES', 'COMPARISON_FAILURES']) expect(run.state.get(`PARITY_${kind}_STORAGE`)).toBeUndefined();
    expect(run.state.get('STATUS_CLOUD')).toBe('ok');
    expect(run.state.get('PRIMARY_BACKUPS_DELETED')).toBe('2');
    // One upload per file of the set and one of the log: the candidate replayed, it never called rclone.
    expect(run.calls.filter((c) => c.startsWith('copyto '))).toHaveLength(4);
  }, 240_000);

  it('a candidate that differs is reported; the run keeps bash\'s outcome', async () => {
    const storageRun = NATIVE_STORAGE_STAGES.storage_run;
    if (storageRun === undefined) throw new Error('no native storage_run');
    const patched: NativeStages = {
      ...NATIVE_STORAGE_STAGES,
      storage_run: async (context) => {
        const status = await storageRun(context);
        context.log.info('Rotation cloud: an extra line only the candidate writes');
        return status;
      },
    };
    const run = await shadowRun('pve-single', patched);
    expect(run.state.get('PARITY_MISMATCHES_STORAGE')).toBe('1');
    expect(run.stdout).toMatch(/parity: native storage_run differs from bash; diff report /);
    expect(run.status).toBeLessThanOrEqual(1);
    expect(run.state.get('RUN_EXIT_CODE')).toBe(String(run.status));
  }, 240_000);
});
