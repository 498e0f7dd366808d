// Issue 5's "done when", as one run per fixture host with everything on: three tiers (a secondary directory and a
// real rclone WebDAV server), three old sets pre-seeded in every tier with MAX=2, Telegram to a loopback Bot API,
// e-mail to a real SMTP server, the metrics textfile. Then the same with the cloud server stopped and the
// secondary read-only: exit 1, the local archive intact, both notifications still delivered. Each host's run is
// also the pipeline's whole run for that host and its compressor (HOST_COMPRESSION; tests/legacy/pipeline.test.ts
// has the other compressors): the archive's name, mode, checksum, listing and metadata as that file checks them.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formField, startHttpSink, type HttpSink } from '../../native/parity/sinks.js';
import { smtpSink, stopSmtpSinks } from '../helpers/smtp.js';
import { startWebDav, type WebDav } from '../storage/webdav.js';
import { appendConfig, archiveProblems, EXPECTED_EXIT, EXPECTED_WARNINGS, HOST_COMPRESSION, HOSTS, HOSTS_DIR, logOf, makeSandbox, PBK_NOW,
  REPO, runLegacy, type Sandbox, warningsOf } from './run.js';

const DAY = 86_400;
const TOKEN = '123456789:AAH-test_token_abcdefghijklmnopqrstuvwx';

let webdav: WebDav;
let cloudRoot: string;
let telegram: HttpSink[] = [];
beforeAll(async () => {
  const holder = makeSandbox();
  cloudRoot = join(holder.baseDir, 'cloud');
  webdav = await startWebDav(cloudRoot, holder.baseDir);
});
afterAll(async () => { await webdav.stop(); });
afterEach(async () => {
  await stopSmtpSinks();
  await Promise.all(telegram.map((s) => s.close()));
  telegram = [];
});

function hostInfo(host: string): { type: string; fqdn: string } {
  return JSON.parse(readFileSync(join(HOSTS_DIR, host, 'host.json'), 'utf8')) as { type: string; fqdn: string };
}

function stamp(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace('T', '_').replace(/:/g, '-').slice(0, 19);
}

/** An old set (archive, .sha256, .metadata) of this host, named for EPOCH, in DIR. */
function seed(dir: string, prefix: string, epoch: number): string {
  mkdirSync(dir, { recursive: true });
  const name = `${prefix}${stamp(epoch)}.tar.zst`;
  writeFileSync(join(dir, name), `seeded ${epoch}\n`, { mode: 0o600 });
  const hash = createHash('sha256').update(readFileSync(join(dir, name))).digest('hex');
  writeFileSync(join(dir, `${name}.sha256`), `${hash}  ${name}\n`, { mode: 0o640 });
  writeFileSync(join(dir, `${name}.metadata`), `TIMESTAMP=${stamp(epoch)}\n`, { mode: 0o640 });
  return name;
}

async function everything(host: (typeof HOSTS)[number], tiers: Record<string, string> = {}): Promise<{ sandbox: Sandbox; bot: HttpSink; mail: string; cloud: string }> {
  const bot = await startHttpSink();
  telegram.push(bot);
  const compression = HOST_COMPRESSION[host];
  const sandbox = makeSandbox({ COMPRESSION_TYPE: compression.type, COMPRESSION_MODE: compression.mode, COMPRESSION_LEVEL: '6' });
  const mail = await smtpSink(sandbox.baseDir);
  const cloud = `/acceptance/${host}`;
  appendConfig(sandbox, {
    ENABLE_SECONDARY_BACKUP: 'true', SECONDARY_BACKUP_PATH: '${BASE_DIR}/secondary/backup', SECONDARY_LOG_PATH: '${BASE_DIR}/secondary/log',
    ENABLE_CLOUD_BACKUP: 'true', RCLONE_REMOTE: 'cloud', CLOUD_BACKUP_PATH: `${cloud}/backup`, CLOUD_LOG_PATH: `${cloud}/log`,
    CLOUD_CONNECTIVITY_TIMEOUT: '5', SET_BACKUP_PERMISSIONS: 'false',
    MAX_LOCAL_BACKUPS: '2', MAX_SECONDARY_BACKUPS: '2', MAX_CLOUD_BACKUPS: '2',
    TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '-100123', TELEGRAM_API_BASE: bot.base,
    EMAIL_ENABLED: 'true', EMAIL_DELIVERY_METHOD: 'smtp', EMAIL_RECIPIENT: 'admin@example.com', SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(mail.port), SMTP_TLS: 'none', EMAIL_FALLBACK_SENDMAIL: 'false',
    PROMETHEUS_ENABLED: 'true', PROMETHEUS_TEXTFILE_DIR: '${BASE_DIR}/metrics', ...tiers,
  });
  return { sandbox, bot, mail: mail.out, cloud: join(cloudRoot, 'acceptance', host, 'backup') };
}

const sets = (dir: string, prefix: string): string[] => readdirSync(dir)
  .filter((n) => n.startsWith(prefix) && /\.tar(\.[a-z0-9]+)?$/.test(n) && !/\.(sha256|metadata)$/.test(n)).sort();

/** The notifications arrived: one Telegram message and one e-mail naming the host. */
function delivered(bot: HttpSink, mail: string, fqdn: string): void {
  expect(bot.requests).toHaveLength(1);
  expect(bot.requests[0]?.url).toBe(`/bot${TOKEN}/sendMessage`);
  expect(formField(bot.requests[0]?.body ?? '', 'text')).toContain(fqdn);
  const messages = readFileSync(mail, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { rcpt_tos: string[]; data: string });
  expect(messages).toHaveLength(1);
  expect(messages[0]?.rcpt_tos).toEqual(['admin@example.com']);
  expect(messages[0]?.data).toContain(fqdn);
}

describe.each(HOSTS)('a full bash run on %s with all three tiers, Telegram, e-mail and metrics', (host) => {
  it('ends as the host allows, the archive verified in every tier, exactly MAX kept, both messages delivered, promtool clean', async () => {
    const { type, fqdn } = hostInfo(host);
    const prefix = `${type}-backup-${fqdn}-`;
    const { sandbox, bot, mail, cloud } = await everything(host);
    const secondary = join(sandbox.baseDir, 'secondary', 'backup');
    for (const dir of [sandbox.backupDir, secondary, cloud]) for (const days of [3, 2, 1]) seed(dir, prefix, Number(PBK_NOW) - days * DAY);
    const result = await runLegacy(host, sandbox, [], { RCLONE_CONFIG: webdav.configPath });
    expect(result.exitCode, logOf(sandbox)).toBe(EXPECTED_EXIT[host]);
    expect(warningsOf(logOf(sandbox))).toEqual(EXPECTED_WARNINGS[host]);
    const made = `${prefix}${stamp(Number(PBK_NOW))}${HOST_COMPRESSION[host].ext}`;
    const kept = `${prefix}${stamp(Number(PBK_NOW) - DAY)}.tar.zst`;
    expect(await archiveProblems(sandbox, host, HOST_COMPRESSION[host].type, HOST_COMPRESSION[host].ext, [kept, `${kept}.metadata`, `${kept}.sha256`]))
      .toEqual([]);
    const local = readFileSync(join(sandbox.backupDir, made));
    for (const dir of [sandbox.backupDir, secondary, cloud]) {
      expect(sets(dir, prefix), dir).toEqual([kept, made]);
      const check = await execa('sha256sum', ['-c', `${made}.sha256`], { cwd: dir, reject: false });
      expect(check.stdout, dir).toBe(`${made}: OK`);
      expect(readFileSync(join(dir, made)).equals(local), dir).toBe(true);
    }
    const verify = await execa(join(REPO, 'bin', 'switch-mode'), ['verify', join(secondary, made)], { reject: false, env: { BASE_DIR: sandbox.baseDir } });
    expect(verify.exitCode).toBe(0);
    expect(verify.stdout.split('\n').at(-1)).toMatch(/ \[SUCCESS\] Archive verified$/);
    delivered(bot, mail, fqdn);
    const prom = await execa('promtool', ['check', 'metrics'], { input: readFileSync(join(sandbox.baseDir, 'metrics', 'proxmox_backup.prom')), reject: false });
    expect(`${prom.stdout}${prom.stderr}`).toBe('');
    expect(prom.exitCode).toBe(0);
  });
});

describe('a tier failing (cloud server stopped, secondary read-only)', () => {
  it('ends 1 with a clear warning for each, the local archive intact and verified, notifications still sent', async () => {
    const { fqdn } = hostInfo('pve-single');
    const down = await startWebDav(join(cloudRoot, 'stopped'), join(cloudRoot, '..'), 'cloud');
    await down.stop();
    const { sandbox, bot, mail } = await everything('pve-single');
    const readOnly = join(sandbox.baseDir, 'ro');
    mkdirSync(join(readOnly, 'backup'), { recursive: true });
    chmodSync(join(readOnly, 'backup'), 0o555);
    appendConfig(sandbox, { SECONDARY_BACKUP_PATH: process.getuid?.() === 0 ? '/proc/pbk-acceptance/backup' : join(readOnly, 'backup') });
    const result = await runLegacy('pve-single', sandbox, [], { RCLONE_CONFIG: down.configPath });
    expect(result.exitCode).toBe(1);
    const warnings = warningsOf(logOf(sandbox));
    expect(warnings).toEqual(expect.arrayContaining([
      expect.stringMatching(/^Cloud remote cloud unreachable: .*connection refused; cloud tier disabled for this run$/),
      expect.stringMatching(/^Secondary (copy failed for \S+|storage not writable)/),
    ]));
    const made = sets(sandbox.backupDir, `pve-backup-${fqdn}-`);
    expect(made).toHaveLength(1);
    const check = await execa('sha256sum', ['-c', `${made[0] ?? ''}.sha256`], { cwd: sandbox.backupDir, reject: false });
    expect(check.exitCode).toBe(0);
    delivered(bot, mail, fqdn);
    expect(logOf(sandbox)).toContain('[INFO] BACKUP = PRI ✅ - SEC ❌ - CLO ❌');
  });
});
