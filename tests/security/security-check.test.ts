// security-check (security.md §6, test scenarios 1-8, 11-18): the checks of the gate on demand against a copied
// installation, with stubs for ps, ss, iptables-save and nft; the manifest written only by --update-hashes.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO } from '../legacy/run.js';

interface Install { base: string; stubs: string }

/** BASE_DIR with a copy of the code (bin, legacy, shims), VERSION, flags.json and a 0600 backup.env. */
function install(config: Record<string, string> = {}): Install {
  const base = mkdtempSync(join(tmpdir(), 'pbk-sec-'));
  chmodSync(base, 0o755);
  for (const part of ['bin', 'legacy', 'shims', 'VERSION', 'flags.json']) cpSync(join(REPO, part), join(base, part), { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(base, 'env'), { mode: 0o700 });
  const lines = { LOCAL_BACKUP_PATH: '${BASE_DIR}/backup', LOCAL_LOG_PATH: '${BASE_DIR}/log', FULL_SECURITY_CHECK: 'false', ...config };
  writeFileSync(join(base, 'env', 'backup.env'), Object.entries(lines).map(([k, v]) => `${k}="${v}"\n`).join(''), { mode: 0o600 });
  const stubs = join(base, 'stubs');
  mkdirSync(stubs);
  return { base, stubs };
}

function stub(i: Install, name: string, output: string, status = 0): void {
  writeFileSync(join(i.stubs, `${name}.out`), output);
  writeFileSync(join(i.stubs, name), `#!/bin/sh\ncat "$(dirname "$0")/${name}.out"\nexit ${status}\n`, { mode: 0o755 });
}

function check(i: Install, args: string[] = []) {
  return execa(join(i.base, 'bin', 'switch-mode'), ['security-check', ...args], {
    reject: false, extendEnv: false,
    env: { PATH: `${i.stubs}:${process.env.PATH ?? '/usr/bin:/bin'}`, BASE_DIR: i.base, TZ: 'UTC', LC_ALL: 'C.UTF-8', DISABLE_COLORS: 'true' },
  });
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+ \S+ /, ''));
const manifestOf = (i: Install): string => readFileSync(join(i.base, 'config', 'integrity.sha256'), 'utf8');

async function recorded(config: Record<string, string> = {}): Promise<Install> {
  const i = install(config);
  const result = await check(i, ['--update-hashes']);
  expect(result.exitCode, result.stdout).toBe(0);
  return i;
}

describe('security-check --update-hashes and the manifest (§3)', () => {
  it('records the covered set in the sha256sum format; the next check is clean (scenario 1)', async () => {
    const i = install();
    const first = await check(i, ['--update-hashes']);
    expect(first.exitCode).toBe(0);
    expect(lines(first.stdout)).toEqual([expect.stringMatching(new RegExp(`^\\[SUCCESS\\] Integrity manifest written: ${i.base}/config/integrity\\.sha256 \\(\\d+ files\\)$`))]);
    const text = manifestOf(i);
    expect(text).toMatch(/^[0-9a-f]{64} {2}VERSION\n/);
    expect(text).toContain('  env/backup.env\n');
    expect(text).toContain('  shims/backup_collect\n');
    const rels = text.trim().split('\n').map((l) => l.slice(66));
    expect(rels).toEqual([...rels].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(execFileSync('sha256sum', ['-c', '--quiet', 'config/integrity.sha256'], { cwd: i.base, encoding: 'utf8' })).toBe('');
    expect((execFileSync('stat', ['-c', '%a', join(i.base, 'config', 'integrity.sha256')], { encoding: 'utf8' })).trim()).toBe('600');
    const clean = await check(i);
    expect(clean.exitCode).toBe(0);
    expect(lines(clean.stdout)).toEqual(['[STEP] Security checks (basic)', expect.stringMatching(/^\[INFO\] Integrity manifest verified: \d+ files$/),
      '[SKIP] Process and network checks skipped (FULL_SECURITY_CHECK=false)', '[SUCCESS] Security check finished: no issues']);
  });

  it('a change, an addition and a removal: reported in path order, nothing written; --update-hashes records them (2, 4, 18)', async () => {
    const i = await recorded();
    appendFileSync(join(i.base, 'legacy', 'lib', 'exit.sh'), '# edited\n');
    writeFileSync(join(i.base, 'legacy', 'lib', 'helper.sh'), '# new\n');
    rmSync(join(i.base, 'legacy', 'lib', 'json-fields.pl'));
    const before = manifestOf(i);
    const result = await check(i);
    expect(result.exitCode).toBe(1);
    expect(lines(result.stdout)).toEqual(['[STEP] Security checks (basic)', '[WARNING] Integrity: file changed: legacy/lib/exit.sh',
      '[WARNING] Integrity: file added: legacy/lib/helper.sh', '[WARNING] Integrity: file missing: legacy/lib/json-fields.pl',
      '[SKIP] Process and network checks skipped (FULL_SECURITY_CHECK=false)',
      '[INFO] Integrity manifest not updated (read-only check); run security-check --update-hashes to record the current files',
      '[WARNING] Security check finished: 3 issue(s)']);
    expect(manifestOf(i)).toBe(before);
    const update = await check(i, ['--update-hashes']);
    expect(update.exitCode).toBe(0);
    expect(lines(update.stdout).slice(0, 3)).toEqual(['[INFO] Integrity: recording changed file: legacy/lib/exit.sh',
      '[INFO] Integrity: recording added file: legacy/lib/helper.sh', '[INFO] Integrity: dropping missing file: legacy/lib/json-fields.pl']);
    expect((await check(i)).exitCode).toBe(0);
  });

  it('no manifest (5), a malformed one (6), a symlinked one (7)', async () => {
    const i = install();
    const none = await check(i);
    expect(none.exitCode).toBe(1);
    expect(lines(none.stdout)[1]).toBe(`[WARNING] Integrity manifest not found: ${i.base}/config/integrity.sha256`);
    await check(i, ['--update-hashes']);
    const good = manifestOf(i).trim().split('\n');
    writeFileSync(join(i.base, 'config', 'integrity.sha256'), [...good, 'garbage', `${'a'.repeat(64)}  ../etc/passwd`, good[0] ?? ''].join('\n') + '\n');
    const bad = await check(i);
    expect(bad.exitCode).toBe(1);
    const n = good.length;
    expect(lines(bad.stdout).slice(1, 4)).toEqual([`[WARNING] Integrity manifest line ${n + 1} is malformed`,
      `[WARNING] Integrity manifest line ${n + 2} is malformed`, `[WARNING] Integrity manifest line ${n + 3} is malformed`]);
    rmSync(join(i.base, 'config', 'integrity.sha256'));
    const target = join(i.base, 'elsewhere');
    writeFileSync(target, 'do not touch\n');
    symlinkSync(target, join(i.base, 'config', 'integrity.sha256'));
    const linked = await check(i);
    expect(lines(linked.stdout)[1]).toBe(`[WARNING] Integrity manifest is not a regular file: ${i.base}/config/integrity.sha256`);
    const refused = await check(i, ['--update-hashes']);
    expect(refused.exitCode).toBe(2);
    expect(readFileSync(target, 'utf8')).toBe('do not touch\n');
  });

  it('a symlink and a FIFO inside a covered root: reported, neither followed nor opened (8)', async () => {
    const i = await recorded();
    symlinkSync('/etc/shadow', join(i.base, 'legacy', 'lib', 'evil'));
    execFileSync('mkfifo', [join(i.base, 'legacy', 'lib', 'pipe')]);
    const result = await check(i);
    expect(result.exitCode).toBe(1);
    expect(lines(result.stdout).slice(1, 3)).toEqual(['[WARNING] Integrity: unexpected symlink: legacy/lib/evil -> /etc/shadow',
      '[WARNING] Integrity: unsupported entry skipped: legacy/lib/pipe']);
  });
});

describe('permissions (§4)', () => {
  it('backup.env 0644 is M2 exactly; 0400 is fine (11)', async () => {
    const i = await recorded();
    chmodSync(join(i.base, 'env', 'backup.env'), 0o644);
    const loose = await check(i);
    expect(lines(loose.stdout)).toContain(`[WARNING] Insecure permissions on configuration file ${i.base}/env/backup.env: 0644 (expected 0600 or 0400)`);
    chmodSync(join(i.base, 'env', 'backup.env'), 0o400);
    expect((await check(i)).exitCode).toBe(0);
  });

  it('group-writable code: one M5 each, at most 20 lines then M6 (12)', async () => {
    const i = await recorded();
    chmodSync(join(i.base, 'legacy', 'lib', 'log.sh'), 0o664);
    const one = await check(i);
    expect(lines(one.stdout)).toContain(`[WARNING] Writable by group or others: ${i.base}/legacy/lib/log.sh (mode 0664)`);
    const files = execFileSync('find', [join(i.base, 'legacy'), '-type', 'f'], { encoding: 'utf8' }).trim().split('\n').slice(0, 25);
    for (const f of files) chmodSync(f, 0o666);
    const many = await check(i);
    const m5 = lines(many.stdout).filter((l) => l.startsWith('[WARNING] Writable by group or others'));
    expect(m5).toHaveLength(20);
    expect(lines(many.stdout)).toContain('[WARNING] … and 5 more permission issue(s)');
  });
});

describe('processes and network (§5, full mode)', () => {
  it('suspicious process names, exactly (14)', async () => {
    const i = await recorded({ FULL_SECURITY_CHECK: 'true' });
    stub(i, 'ps', '    1     0 systemd\n  812     0 xmrig\n  77    33 xmrig-notls\n 900     0 concat\n 901     0 determiner\n  10     0 kworker/0:1\ngarbage\n');
    const result = await check(i);
    expect(result.exitCode).toBe(1);
    expect(lines(result.stdout).filter((l) => l.includes('Suspicious'))).toEqual(['[WARNING] Suspicious process: xmrig-notls (PID 77, UID 33)',
      '[WARNING] Suspicious process: xmrig (PID 812, UID 0)']);
  });

  it('firewall and listening ports (15, 16)', async () => {
    const i = await recorded({ FULL_SECURITY_CHECK: 'true', CHECK_NETWORK_SECURITY: 'true', CHECK_FIREWALL: 'true', CHECK_OPEN_PORTS: 'true' });
    stub(i, 'ps', '    1     0 systemd\n');
    stub(i, 'iptables-save', '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n');
    stub(i, 'nft', 'table inet filter {\n  chain input {\n    type filter hook input priority 0; policy drop;\n  }\n}\n');
    stub(i, 'ss', ['tcp LISTEN 0 4096 0.0.0.0:8006 0.0.0.0:*', 'tcp LISTEN 0 128 [::]:22 [::]:*', 'tcp LISTEN 0 100 127.0.0.1:25 0.0.0.0:*',
      'udp UNCONN 0 0 [fe80::1]%vmbr0:123 [::]:*', 'tcp LISTEN 0 5 0.0.0.0:4444 0.0.0.0:*', 'udp UNCONN 0 0 *:5405 *:*'].join('\n') + '\n');
    const result = await check(i);
    const out = lines(result.stdout);
    expect(out).toContain('[WARNING] No firewall rules loaded (iptables 0, nftables 0)');
    expect(out.filter((l) => l.includes('Listening port'))).toEqual(['[WARNING] Listening port not in allowed set: tcp/4444 on 0.0.0.0']);
    expect(out).toContain('[INFO] Open ports: 4 non-loopback listener(s), 1 outside the allowed set');
    stub(i, 'iptables-save', Array.from({ length: 12 }, (_, n) => `-A INPUT -p tcp --dport ${n} -j ACCEPT`).join('\n') + '\n');
    expect(lines((await check(i)).stdout)).toContain('[INFO] Firewall rules loaded: iptables 12, nftables 0');
  });
});

describe('the tool', () => {
  it('--basic gives one M33 line; an unknown option and a held lock exit 2 (13, 18)', async () => {
    const i = await recorded({ FULL_SECURITY_CHECK: 'true' });
    stub(i, 'ps', '    1     0 systemd\n');
    expect(lines((await check(i, ['--basic'])).stdout).filter((l) => l.startsWith('[SKIP]'))).toEqual([
      '[SKIP] Process and network checks skipped (FULL_SECURITY_CHECK=false)']);
    expect((await check(i, ['--bogus'])).exitCode).toBe(2);
    mkdirSync(join(i.base, 'lock'), { recursive: true, mode: 0o700 });
    const holder = execa('flock', [join(i.base, 'lock', 'proxmox-backup.lock'), 'sleep', '10']);
    await new Promise((r) => setTimeout(r, 300));
    try {
      const held = await check(i, ['--update-hashes']);
      expect(held.exitCode).toBe(2);
      expect(lines(held.stdout)[0]).toMatch(/^\[ERROR\] Another backup run is in progress \(PID /);
    } finally {
      holder.kill();
    }
  });
});
