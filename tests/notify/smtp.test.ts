// E-mail over SMTP (notify.md §4.4, §10.18-21) against a real SMTP server on loopback (aiosmtpd, through
// tests/helpers/smtp-sink), with sendmail as the fallback: the legacy notify_run alone (its shim) on run
// directories made from one real run; its status is what the run's exit code takes from it.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fakeSendmail } from '../../native/parity/sinks.js';
import { sharedKeptRun, legacyStage, type KeptRun } from '../backup/stage-run.js';
import { smtpSink, stopSmtpSinks } from '../helpers/smtp.js';

let kept: KeptRun;
beforeAll(async () => {
  kept = await sharedKeptRun('pve-single');
}, 240_000);
afterEach(stopSmtpSinks);

const mailDir = (): string => mkdtempSync(join(tmpdir(), 'pbk-mail-'));
const notify = (config: Record<string, string>) => legacyStage('notify_run', kept, config);

const smtpConfig = (port: number, extra: Record<string, string> = {}): Record<string, string> => ({
  EMAIL_ENABLED: 'true', EMAIL_DELIVERY_METHOD: 'smtp', EMAIL_RECIPIENT: 'admin@example.com',
  SMTP_HOST: '127.0.0.1', SMTP_PORT: String(port), SMTP_TLS: 'none', EMAIL_FALLBACK_SENDMAIL: 'false', ...extra,
});

describe('SMTP (notify.md §4.4)', () => {
  it('delivers the message: EHLO the fqdn, MAIL FROM, RCPT TO, the DATA of the golden layout with CRLF', async () => {
    const sink = await smtpSink(mailDir());
    const result = await notify(smtpConfig(sink.port));
    expect(result.status, result.log).toBe(0);
    const [record] = readFileSync(sink.out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ehlo: string; mail_from: string; rcpt_tos: string[]; data: string });
    expect(record?.ehlo).toBe('pve1.lab.example');
    expect(record?.mail_from).toBe('root@pve1.lab.example');
    expect(record?.rcpt_tos).toEqual(['admin@example.com']);
    expect(record?.data).toContain('\r\nMessage-ID: <proxmox-backup.2024-11-25_02-00-00.');
    expect(record?.data).toContain('\r\n\r\n✅ PVE backup OK - pve1.lab.example\r\n\r\n✅ Local: 1/20 backups\r\n');
    expect(record?.data.endsWith(` · server ${record.data.match(/server (\d{16})/)?.[1] ?? ''}\r\n`)).toBe(true);
    expect(result.log).toContain(`[SUCCESS] E-mail sent to admin@example.com via SMTP 127.0.0.1:${sink.port}`);
  });

  it('a refused recipient fails the send; with the fallback on, sendmail delivers it', async () => {
    const dir = mailDir();
    const sink = await smtpSink(dir, 'admin@example.com');
    const result = await notify(smtpConfig(sink.port, { EMAIL_FALLBACK_SENDMAIL: 'true', SENDMAIL_PATH: fakeSendmail(dir) }));
    // The e-mail went out (status 0); the WARNING line is what raises the run's exit code to 1 (run.md §2).
    expect(result.status).toBe(0);
    const log = result.log;
    expect(log).toContain('[WARNING] E-mail via SMTP failed: rejected by server');
    expect(log).toContain('[INFO] Falling back to sendmail');
    expect(log).toContain('[SUCCESS] E-mail sent to admin@example.com via sendmail (fallback)');
    expect(existsSync(sink.out)).toBe(false);
    expect(readFileSync(join(dir, 'sendmail.log'), 'utf8')).toContain('To: admin@example.com\n');
  });

  it('never sends a password in clear: STARTTLS not offered with a user stops before AUTH', async () => {
    const sink = await smtpSink(mailDir());
    const result = await notify(smtpConfig(sink.port, { SMTP_TLS: 'starttls', SMTP_USER: 'backup', SMTP_PASSWORD: 'S3cret-passw0rd' }));
    expect(result.status).toBe(1);
    expect(result.log).toContain('[WARNING] E-mail via SMTP failed: STARTTLS not offered');
    expect(result.log).not.toContain('S3cret-passw0rd');
    expect(existsSync(sink.out)).toBe(false);
  });

  it('a closed port is `connection failed`; an empty SMTP_HOST sends nothing', async () => {
    const sink = await smtpSink(mailDir());
    sink.server.kill();
    await sink.server;
    const closed = await notify(smtpConfig(sink.port));
    expect(closed.status).toBe(1);
    expect(closed.log).toContain('[WARNING] E-mail via SMTP failed: connection failed');
    const empty = await notify(smtpConfig(25, { SMTP_HOST: '' }));
    expect(empty.status).toBe(1);
    expect(empty.log).toContain('[WARNING] E-mail not sent: SMTP_HOST is empty');
  });
});
