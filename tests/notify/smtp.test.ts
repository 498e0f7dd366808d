// E-mail over SMTP (notify.md §4.4, §10.18-21) against a real SMTP server on loopback (aiosmtpd, through
// tests/helpers/smtp-sink), with sendmail as the fallback.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeSendmail } from '../../native/parity/sinks.js';
import { appendConfig, logOf, makeSandbox, runLegacy } from '../legacy/run.js';
import { smtpSink, stopSmtpSinks } from '../helpers/smtp.js';

afterEach(stopSmtpSinks);

const smtpConfig = (port: number, extra: Record<string, string> = {}): Record<string, string> => ({
  EMAIL_ENABLED: 'true', EMAIL_DELIVERY_METHOD: 'smtp', EMAIL_RECIPIENT: 'admin@example.com',
  SMTP_HOST: '127.0.0.1', SMTP_PORT: String(port), SMTP_TLS: 'none', EMAIL_FALLBACK_SENDMAIL: 'false', ...extra,
});

describe('SMTP (notify.md §4.4)', () => {
  it('delivers the message: EHLO the fqdn, MAIL FROM, RCPT TO, the DATA of the golden layout with CRLF', async () => {
    const sandbox = makeSandbox();
    const sink = await smtpSink(sandbox.baseDir);
    appendConfig(sandbox, smtpConfig(sink.port));
    const result = await runLegacy('pve-single', sandbox);
    expect(result.exitCode, logOf(sandbox)).toBe(0);
    const [record] = readFileSync(sink.out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ehlo: string; mail_from: string; rcpt_tos: string[]; data: string });
    expect(record?.ehlo).toBe('pve1.lab.example');
    expect(record?.mail_from).toBe('root@pve1.lab.example');
    expect(record?.rcpt_tos).toEqual(['admin@example.com']);
    expect(record?.data).toContain('\r\nMessage-ID: <proxmox-backup.2024-11-25_02-00-00.');
    expect(record?.data).toContain('\r\n\r\n✅ PVE backup OK - pve1.lab.example\r\n\r\n✅ Local: 1/20 backups\r\n');
    expect(record?.data.endsWith(` · server ${record.data.match(/server (\d{16})/)?.[1] ?? ''}\r\n`)).toBe(true);
    expect(logOf(sandbox)).toContain(`[SUCCESS] E-mail sent to admin@example.com via SMTP 127.0.0.1:${sink.port}`);
  });

  it('a refused recipient fails the send; with the fallback on, sendmail delivers it', async () => {
    const sandbox = makeSandbox();
    const sink = await smtpSink(sandbox.baseDir, 'admin@example.com');
    appendConfig(sandbox, smtpConfig(sink.port, { EMAIL_FALLBACK_SENDMAIL: 'true', SENDMAIL_PATH: fakeSendmail(sandbox.baseDir) }));
    const result = await runLegacy('pve-single', sandbox);
    expect(result.exitCode).toBe(1);
    const log = logOf(sandbox);
    expect(log).toContain('[WARNING] E-mail via SMTP failed: rejected by server');
    expect(log).toContain('[INFO] Falling back to sendmail');
    expect(log).toContain('[SUCCESS] E-mail sent to admin@example.com via sendmail (fallback)');
    expect(existsSync(sink.out)).toBe(false);
    expect(readFileSync(join(sandbox.baseDir, 'sendmail.log'), 'utf8')).toContain('To: admin@example.com\n');
  });

  it('never sends a password in clear: STARTTLS not offered with a user stops before AUTH', async () => {
    const sandbox = makeSandbox();
    const sink = await smtpSink(sandbox.baseDir);
    appendConfig(sandbox, smtpConfig(sink.port, { SMTP_TLS: 'starttls', SMTP_USER: 'backup', SMTP_PASSWORD: 'S3cret-passw0rd' }));
    const result = await runLegacy('pve-single', sandbox);
    expect(result.exitCode).toBe(1);
    expect(logOf(sandbox)).toContain('[WARNING] E-mail via SMTP failed: STARTTLS not offered');
    expect(logOf(sandbox)).not.toContain('S3cret-passw0rd');
    expect(existsSync(sink.out)).toBe(false);
  });

  it('a closed port is `connection failed`; an empty SMTP_HOST sends nothing', async () => {
    const sandbox = makeSandbox();
    const sink = await smtpSink(sandbox.baseDir);
    sink.server.kill();
    await sink.server;
    appendConfig(sandbox, smtpConfig(sink.port));
    expect((await runLegacy('pve-single', sandbox)).exitCode).toBe(1);
    expect(logOf(sandbox)).toContain('[WARNING] E-mail via SMTP failed: connection failed');
    const empty = appendConfig(makeSandbox(), smtpConfig(25, { SMTP_HOST: '' }));
    expect((await runLegacy('pve-single', empty)).exitCode).toBe(1);
    expect(logOf(empty)).toContain('[WARNING] E-mail not sent: SMTP_HOST is empty');
  });
});
