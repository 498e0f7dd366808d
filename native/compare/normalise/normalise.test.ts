import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { archiveManifest } from './archive.js';
import { envAssignments, normaliseChecksum, normaliseMetadata, normaliseState, stateKeyDomain } from './env.js';
import { normaliseLog, normaliseLogLine } from './log.js';
import { normaliseMetrics } from './metrics.js';
import { normaliseHttpLog, normaliseNotifyText } from './notify.js';
import { listTier } from './tiers.js';

describe('log normaliser', () => {
  it('tokenises timestamps, PIDs, run directories, sandbox paths and machine facts, nothing else', () => {
    const text = [
      '2024-11-25 02:00:01 [ERROR] Another backup run is in progress (PID 4242)',
      '2024-11-25 02:00:01 [INFO] Backup File: /tmp/sb1/backup/pve-backup-x.tar.zst',
      '2024-11-25 02:00:01 [DEBUG] staging /tmp/sb1/tmp/proxmox-backup-run.Ab12Cd/staging',
      '2024-11-25 02:00:02 [INFO] Server MAC Address: bc:24:11:00:00:01',
      '2024-11-25 02:00:02 [INFO] Server Unique ID: 1234567890123456',
      '2024-11-25 02:00:02 [INFO] Duration: 00:01:07',
      '2024-11-25 02:00:02 [INFO] Size: 13.6 KiB',
      '2024-11-25 02:00:02 [SUCCESS] Backup archive created: a.tar.zst (13.6 KiB, ratio 60.64%)',
      '2024-11-25 02:00:02 [WARNING] Missing critical file: ./etc/pve/user.cfg',
      '',
    ].join('\n');
    expect(normaliseLog(text, [['/tmp/sb1', '<SANDBOX>']])).toBe([
      '<TS> [ERROR] Another backup run is in progress (PID <PID>)',
      '<TS> [INFO] Backup File: <SANDBOX>/backup/pve-backup-x.tar.zst',
      '<TS> [DEBUG] staging <SANDBOX>/tmp/proxmox-backup-run.<RND>/staging',
      '<TS> [INFO] Server MAC Address: <MAC>',
      '<TS> [INFO] Server Unique ID: <SERVER_ID>',
      '<TS> [INFO] Duration: <DURATION>',
      '<TS> [INFO] Size: <SIZE>',
      '<TS> [SUCCESS] Backup archive created: a.tar.zst (<SIZE>, ratio <RATIO>)',
      '<TS> [WARNING] Missing critical file: ./etc/pve/user.cfg',
      '',
    ].join('\n'));
  });

  it('leaves a changed message visible', () => {
    expect(normaliseLogLine('2024-11-25 02:00:01 [INFO] Files: 128')).not.toBe(normaliseLogLine('2024-11-25 02:00:01 [INFO] Files: 129'));
  });
});

describe('state.env normaliser', () => {
  const state = "HOSTNAME='pve1'\nSERVER_ID='1234567890123456'\nSTATUS_LOGFILE='0'\nDURATION_LOGFILE='1'\n"
    + "FILES_INCLUDED='128'\nBACKUP_FILE='/tmp/sb1/backup/a.tar.zst'\nARCHIVE_SIZE='13900'\nMULTI='a\nb'\nSTATUS_ARCHIVE='0'\nSTATUS_ARCHIVE='0'\n";

  it('keeps every write in order, multi-line values included', () => {
    expect(envAssignments(state).map(([k]) => k)).toEqual([
      'HOSTNAME', 'SERVER_ID', 'STATUS_LOGFILE', 'DURATION_LOGFILE', 'FILES_INCLUDED', 'BACKUP_FILE', 'ARCHIVE_SIZE', 'MULTI',
      'STATUS_ARCHIVE', 'STATUS_ARCHIVE',
    ]);
  });

  it('splits by owning domain and tokenises durations, sizes, ids and paths', () => {
    const byDomain = normaliseState(state, [['/tmp/sb1', '<SANDBOX>']]);
    expect(byDomain.get('orchestrator')).toBe("STATUS_LOGFILE='0'\nDURATION_LOGFILE=<SECONDS>\n");
    expect(byDomain.get('backup')).toBe("HOSTNAME='pve1'\nSERVER_ID=<SERVER_ID>\nFILES_INCLUDED='128'\n"
      + "BACKUP_FILE='<SANDBOX>/backup/a.tar.zst'\nARCHIVE_SIZE=<SIZE>\nMULTI='a\nb'\nSTATUS_ARCHIVE='0'\nSTATUS_ARCHIVE='0'\n");
  });

  it('maps keys to the domains of the stage contract', () => {
    expect(stateKeyDomain('COLLECT_ITEMS_OK')).toBe('backup');
    expect(stateKeyDomain('STATUS_DEPENDENCIES')).toBe('orchestrator');
    expect(stateKeyDomain('CLOUD_UPLOAD_STATUS')).toBe('storage');
    expect(stateKeyDomain('TELEGRAM_STATUS')).toBe('notify');
    expect(stateKeyDomain('STATUS_METRICS')).toBe('metrics');
  });
});

describe('sidecar normalisers', () => {
  it('keeps the shape of a .sha256 line and tokenises the hash of compressed bytes', () => {
    expect(normaliseChecksum(`${'a'.repeat(64)}  pve-backup-x.tar.zst\n`)).toBe('<SHA256>  pve-backup-x.tar.zst\n');
  });

  it('tokenises the volatile keys of .metadata only', () => {
    expect(normaliseMetadata('COMPRESSION_RATIO=60.64%\nCOMPRESSION_TYPE=zstd\nARCHIVE_SIZE=13900\nFILES_INCLUDED=128\n'))
      .toBe('COMPRESSION_RATIO=<RATIO>\nCOMPRESSION_TYPE=zstd\nARCHIVE_SIZE=<SIZE>\nFILES_INCLUDED=128\n');
  });
});

describe('metrics normaliser', () => {
  it('keeps order, HELP/TYPE and counts; tokenises time-valued, size and implementation series (metrics.md §5)', () => {
    const text = '# HELP proxmox_backup_included_files Files\n# TYPE proxmox_backup_included_files gauge\n'
      + 'proxmox_backup_included_files 128\n\n'
      + '# HELP proxmox_backup_start_timestamp_seconds Start\n# TYPE proxmox_backup_start_timestamp_seconds gauge\n'
      + 'proxmox_backup_start_timestamp_seconds 1732500000\n'
      + 'proxmox_backup_phase_duration_seconds{phase="collect"} 2\n'
      + 'proxmox_backup_domain_implementation{domain="orchestrator",impl="native"} 1\n';
    expect(normaliseMetrics(text)).toBe('# HELP proxmox_backup_included_files Files\n# TYPE proxmox_backup_included_files gauge\n'
      + 'proxmox_backup_included_files 128\n\n'
      + '# HELP proxmox_backup_start_timestamp_seconds Start\n# TYPE proxmox_backup_start_timestamp_seconds gauge\n'
      + 'proxmox_backup_start_timestamp_seconds <V>\n'
      + 'proxmox_backup_phase_duration_seconds{phase="collect"} <V>\n'
      + 'proxmox_backup_domain_implementation{domain="orchestrator",impl="native"} <V>\n');
  });

  it('shows a line it cannot parse instead of hiding it', () => {
    expect(normaliseMetrics('not a sample line at all {\n')).toContain('<UNPARSABLE>');
  });
});

describe('tier listing normaliser', () => {
  it('lists names, kinds and modes sorted, without the TS-only structured-log twin', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-tier-'));
    writeFileSync(join(dir, 'b.log'), 'x', { mode: 0o600 });
    writeFileSync(join(dir, 'b.log.jsonl'), 'x', { mode: 0o600 });
    writeFileSync(join(dir, 'a.tar.zst'), 'x', { mode: 0o600 });
    mkdirSync(join(dir, 'sub'), { mode: 0o700 });
    symlinkSync('a.tar.zst', join(dir, 'link'));
    expect(listTier(dir)).toBe('f 0600 a.tar.zst\nf 0600 b.log\nl 0777 link\nd 0700 sub\n');
    expect(listTier(join(dir, 'missing'))).toBe('(absent)\n');
  });
});

describe('archive normaliser', () => {
  it('gives the same manifest for the same tree in every compression, from GNU tar archives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-manifest-'));
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'etc'), { recursive: true });
    writeFileSync(join(tree, 'etc', 'hosts'), '127.0.0.1 localhost\n', { mode: 0o644 });
    writeFileSync(join(tree, 'etc', 'secret'), 'k', { mode: 0o600 });
    symlinkSync('hosts', join(tree, 'etc', 'link'));
    const manifests = new Set<string>();
    for (const [ext, flag] of [['tar', ''], ['tar.gz', '-z'], ['tar.xz', '-J'], ['tar.zst', '--zstd'], ['tar.bz2', '-j']] as const) {
      const archive = join(dir, `a.${ext}`);
      await execa('tar', ['-c', ...(flag === '' ? [] : [flag]), '-f', archive, '-C', tree, '.']);
      manifests.add(await archiveManifest(archive, { env: process.env, selfIds: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } }));
    }
    expect(manifests.size).toBe(1);
    const [manifest] = [...manifests];
    expect(manifest).toContain('"./etc/hosts" f 0644 <self>:<self> 20 ');
    expect(manifest).toContain('"./etc/secret" f 0600 <self>:<self> 1 8254c329a92850f6d539dd376f4816ee2764517da5e0235514af433164480d7a');
    expect(manifest).toContain('"./etc/link" l 0777 <self>:<self> 0 - -> "hosts"');
    expect(manifest?.split('\n')[0]).toBe('"./" d 0755 <self>:<self> 0 -');
  });

  it('decrypts an age-encrypted archive with the identity it is given, and refuses without one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-manifest-'));
    mkdirSync(join(dir, 'tree'));
    writeFileSync(join(dir, 'tree', 'a.cfg'), 'x\n');
    await execa('age-keygen', ['-o', join(dir, 'id.key')]);
    const recipient = (await execa('age-keygen', ['-y', join(dir, 'id.key')])).stdout.trim();
    await execa('sh', ['-c', 'tar -C "$1" -c . | zstd -q | age -r "$2" > "$3"', 'sh', join(dir, 'tree'), recipient, join(dir, 'a.tar.zst.age')]);
    const manifest = await archiveManifest(join(dir, 'a.tar.zst.age'), { env: process.env, ageIdentity: join(dir, 'id.key') });
    expect(manifest).toContain('"./a.cfg" f ');
    await expect(archiveManifest(join(dir, 'a.tar.zst.age'), { env: process.env })).rejects.toThrow(/no age identity/);
    writeFileSync(join(dir, 'other.key'), (await execa('age-keygen')).stdout);
    await expect(archiveManifest(join(dir, 'a.tar.zst.age'), { env: process.env, ageIdentity: join(dir, 'other.key') })).rejects.toThrow(/cannot read a.tar.zst.age: age exited/);
  });

  it('refuses a file that is not an archive it knows, and a corrupt one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-manifest-'));
    writeFileSync(join(dir, 'x.zip'), 'x');
    await expect(archiveManifest(join(dir, 'x.zip'), { env: process.env })).rejects.toThrow(/not an archive name/);
    writeFileSync(join(dir, 'y.tar.zst'), 'not zstd at all');
    await expect(archiveManifest(join(dir, 'y.tar.zst'), { env: process.env })).rejects.toThrow();
  });
});

describe('notification normaliser (notify.md §9)', () => {
  it('records requests in order with the compared headers, form fields decoded, tokens for volatile values', () => {
    const requests = [{
      method: 'POST', url: '/bot123456789:AAH-test_token_abcdefghijklmnopqrstuvwx/sendMessage', at: 0,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'proxmox-backup/0.1.0', accept: '*/*', host: '127.0.0.1:4321' },
      body: `chat_id=-100&text=${encodeURIComponent('✅ t\n💾 Size: 13.6 KiB · ratio 60.64%\n🔹 Local: 80.1 GiB\n⏱️ Duration: 00:00:03\n📦 /tmp/sb/backup/a')}`,
    }];
    expect(normaliseHttpLog(requests, [['/tmp/sb', '<SANDBOX>']])).toBe('== request 1\nPOST /bot***/sendMessage\n'
      + 'content-type: application/x-www-form-urlencoded\nuser-agent: proxmox-backup/0.1.0\n\n'
      + '[chat_id]\n-100\n[text]\n✅ t\n💾 Size: <SIZE> · ratio <RATIO>\n🔹 Local: <FREE>\n⏱️ Duration: <DURATION>\n📦 <SANDBOX>/backup/a\n');
    expect(normaliseHttpLog([])).toBe('(no request)\n');
  });

  it('canonicalises JSON bodies and tokenises the Date header of a mail', () => {
    const requests = [{ method: 'POST', url: '/hook', at: 0, headers: { 'content-type': 'application/json' }, body: '{"b":1,"a":{"d":2,"c":3}}' }];
    expect(normaliseHttpLog(requests)).toBe('== request 1\nPOST /hook\ncontent-type: application/json\n\n{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}\n');
    expect(normaliseNotifyText('From: x\nDate: Mon, 30 Nov 2026 22:50:01 +0000\nTo: y\n')).toBe('From: x\nDate: <DATE>\nTo: y\n');
  });
});
