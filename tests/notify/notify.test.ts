// The notify domain of the legacy pipeline (notify.md §10) against loopback sinks: an HTTP server speaking the
// Bot API (reached through TELEGRAM_API_BASE) and a fake sendmail. The stage runs alone (shims/notify_run) on run
// directories made from one real legacy run (and one dry run): its status (0 ok, 1 warning) is what the run's
// exit code takes from it (shims/README.md), its log lines are the run log's.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fakeSendmail, formField, startHttpSink, TELEGRAM_OK, type HttpSink } from '../../native/parity/sinks.js';
import { keptRun, legacyStage, sharedKeptRun, type KeptRun } from '../backup/stage-run.js';

const TOKEN = '123456789:AAH-test_token_abcdefghijklmnopqrstuvwx';
let sinks: HttpSink[] = [];
let kept: KeptRun;
let dryRun: KeptRun;
beforeAll(async () => {
  [kept, dryRun] = await Promise.all([sharedKeptRun('pve-single'), keptRun('pve-single', {}, ['--dry-run'])]);
}, 240_000);
afterEach(async () => {
  await Promise.all(sinks.map((s) => s.close()));
  sinks = [];
});

async function telegram(replies = [TELEGRAM_OK]): Promise<HttpSink> {
  const sink = await startHttpSink(replies);
  sinks.push(sink);
  return sink;
}

/** notify_run alone with CONFIG on top of the kept run's context (FROM: the real run or the dry run). */
const notify = (config: Record<string, string>, from: KeptRun = kept) => legacyStage('notify_run', from, config);

function telegramConfig(base: string, extra: Record<string, string> = {}): Record<string, string> {
  return { TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '-100123', TELEGRAM_API_BASE: base, ...extra };
}

/** A directory for a fake sendmail and its sendmail.log. */
const mailDir = (): string => mkdtempSync(join(tmpdir(), 'pbk-mail-'));

describe('Telegram personal mode (notify.md §3, §10.2-6)', () => {
  it('posts the run summary as plain text, token never in the log', async () => {
    const sink = await telegram();
    const result = await notify(telegramConfig(sink.base));
    expect(result.status, result.log).toBe(0);
    expect(sink.requests).toHaveLength(1);
    const [request] = sink.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe(`/bot${TOKEN}/sendMessage`);
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request?.headers['user-agent']).toBe('proxmox-backup/0.1.0');
    expect(formField(request?.body ?? '', 'chat_id')).toBe('-100123');
    const text = formField(request?.body ?? '', 'text') ?? '';
    expect(text.split('\n').slice(0, 6)).toEqual([
      '✅ PVE backup OK - pve1.lab.example', '', '✅ Local: 1/20 backups', '➖ Secondary: disabled', '➖ Cloud: disabled', '➖ Email: disabled',
    ]);
    expect(text).toMatch(/\n📦 pve-backup-pve1\.lab\.example-2024-11-25_02-00-00\.tar\.zst\n💾 Size: [\d.]+ KiB · ratio [\d.]+%\n📁 Files included: 151\n/);
    expect(text).toContain('\n🕑 Started: 2024-11-25 02:00:00\n⏱️ Duration: 00:00:00\n');
    expect(text.endsWith('🔢 Exit code: 0')).toBe(true);
    expect(request?.body).toMatch(/text=%E2%9C%85%20PVE%20backup/);   // RFC 3986: a space is %20
    expect(result.log).toContain('[SUCCESS] Telegram notification sent');
    expect(result.log).not.toContain(TOKEN);
    expect(result.log).toContain('[SKIP] E-mail notification disabled');
  });

  it('a 401 is a WARNING naming the reason, exit 1 although the text said exit 0', async () => {
    const sink = await telegram([{ status: 401, body: '{"ok":false,"error_code":401,"description":"Unauthorized"}' }]);
    const result = await notify(telegramConfig(sink.base));
    expect(result.status).toBe(1);
    expect(sink.requests).toHaveLength(1);
    expect(formField(sink.requests[0]?.body ?? '', 'text')).toContain('🔢 Exit code: 0');
    expect(result.log).toContain('[WARNING] Telegram notification failed: HTTP 401: Unauthorized');
    expect(result.log).toContain('[WARNING] All notification channels failed');
  });

  it('retries a 500 after 1 s and a 429 after retry_after; gives up at once on a retry_after over 30 s', async () => {
    const sink = await telegram([{ status: 500, body: '{"ok":false}' }, TELEGRAM_OK]);
    expect((await notify(telegramConfig(sink.base))).status).toBe(0);
    expect(sink.requests).toHaveLength(2);
    expect((sink.requests[1]?.at ?? 0) - (sink.requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
    const limited = await telegram([{ status: 429, body: '{"ok":false,"description":"Too Many Requests","parameters":{"retry_after":60}}' }]);
    const result = await notify(telegramConfig(limited.base));
    expect(result.status).toBe(1);
    expect(limited.requests).toHaveLength(1);
    expect(result.log).toContain('[WARNING] Telegram notification failed: HTTP 429: Too Many Requests');
  });

  it('a closed port is `connection failed` after 3 attempts; bad settings send nothing', async () => {
    const closed = await telegram();
    const base = closed.base;
    await closed.close();
    sinks = [];
    const refused = await notify(telegramConfig(base));
    expect(refused.status).toBe(1);
    expect(refused.log).toContain('[INFO] Telegram attempt 1/3 failed (connection failed); retrying in 1 s');
    expect(refused.log).toContain('[WARNING] Telegram notification failed: connection failed');
    const sink = await telegram();
    const bad = await notify(telegramConfig(sink.base, { TELEGRAM_CHAT_ID: 'abc' }));
    expect(bad.status).toBe(1);
    expect(bad.log).toContain('[WARNING] Telegram not sent: TELEGRAM_CHAT_ID has an invalid format');
    const invalid = await telegram([{ status: 200, body: '{"ok":false}' }]);
    const noOk = await notify(telegramConfig(invalid.base));
    expect(noOk.status).toBe(1);
    expect(noOk.log).toContain('[WARNING] Telegram notification failed: invalid response');
    expect(invalid.requests).toHaveLength(1);
    expect(sink.requests).toHaveLength(0);
  });
});

describe('e-mail through sendmail (notify.md §4, §10.14-17)', () => {
  it('pipes one plain-text message to sendmail -t -i; Telegram, after it, says the e-mail was sent', async () => {
    const sink = await telegram();
    const dir = mailDir();
    const result = await notify(telegramConfig(sink.base, { EMAIL_ENABLED: 'true', EMAIL_RECIPIENT: 'admin@example.com', SENDMAIL_PATH: fakeSendmail(dir) }));
    expect(result.status).toBe(0);
    const recorded = readFileSync(join(dir, 'sendmail.log'), 'utf8');
    expect(recorded.split('\n')[0]).toBe('argv: -t -i');
    expect(recorded).toContain('\nFrom: root@pve1.lab.example\nTo: admin@example.com\nSubject: =?UTF-8?B?');
    expect(recorded).toMatch(/\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\n/);
    expect(recorded).toContain('\nMessage-ID: <proxmox-backup.2024-11-25_02-00-00.');
    expect(recorded).toContain('\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n');
    expect(recorded).toContain('\n\n✅ PVE backup OK - pve1.lab.example\n\n✅ Local: 1/20 backups\n➖ Secondary: disabled\n➖ Cloud: disabled\n\n📦 ');
    expect(recorded).toContain('\nDetails\n  Host type:    pve\n  Versions:     PVE 8.3.1\n');
    expect(recorded).toContain('\n-- \nproxmox-backup 0.1.0 · server ');
    const subject = /Subject: (.*(?:\n .*)*)\n/.exec(recorded)?.[1] ?? '';
    const decoded = subject.split('\n ').map((w) => Buffer.from(/=\?UTF-8\?B\?(.*)\?=/.exec(w)?.[1] ?? '', 'base64')).reduce((a, b) => Buffer.concat([a, b]));
    expect(decoded.toString('utf8')).toBe('[Proxmox-Backup] ✅ PVE backup OK - pve1.lab.example (2024-11-25 02:00)');
    expect(subject.split('\n ').every((w) => Buffer.from(/\?B\?(.*)\?=/.exec(w)?.[1] ?? '', 'base64').length <= 39)).toBe(true);
    expect(formField(sink.requests[0]?.body ?? '', 'text')).toContain('\n✅ Email: sent\n');
    expect(result.log).toContain('[SUCCESS] E-mail sent to admin@example.com via sendmail');
  });

  it('reports a failing or missing sendmail and drops a bad address', async () => {
    const dir = mailDir();
    const failing = await notify({ EMAIL_ENABLED: 'true', EMAIL_RECIPIENT: 'ok@example.com, bad@@x', SENDMAIL_PATH: fakeSendmail(dir, 75) });
    expect(failing.status).toBe(1);
    expect(failing.log).toContain('[WARNING] Invalid e-mail address ignored: bad@@x');
    expect(failing.log).toContain('[WARNING] E-mail via sendmail failed: exit code 75');
    expect(readFileSync(join(dir, 'sendmail.log'), 'utf8')).toContain('To: ok@example.com\n');
    const missing = await notify({ EMAIL_ENABLED: 'true', EMAIL_RECIPIENT: 'ok@example.com', SENDMAIL_PATH: '/nonexistent/sendmail' });
    expect(missing.status).toBe(1);
    expect(missing.log).toContain('[WARNING] E-mail via sendmail failed: /nonexistent/sendmail not found or not executable');
  });

  it('takes the recipient from root@pam in user.cfg when EMAIL_RECIPIENT is empty', async () => {
    const mail = await notify({ EMAIL_ENABLED: 'true', SENDMAIL_PATH: fakeSendmail(mailDir()) });
    expect(mail.status).toBe(0);
    expect(mail.log).toContain('[INFO] E-mail recipient taken from root@pam in /etc/pve/user.cfg');
  });
});

describe('when notifications go out (notify.md §1, §10.9-11)', () => {
  it('dry-run sends only with NOTIFY_DRY_RUN=true, tagged; NOTIFY_ON=error skips a good run', async () => {
    const sink = await telegram();
    const quiet = await notify(telegramConfig(sink.base), dryRun);
    expect(quiet.status).toBe(0);
    expect(quiet.log).toContain('[INFO] Dry run: would send notifications (NOTIFY_DRY_RUN=false)');
    expect(sink.requests).toHaveLength(0);
    expect((await notify(telegramConfig(sink.base, { NOTIFY_DRY_RUN: 'true' }), dryRun)).status).toBe(0);
    const text = formField(sink.requests[0]?.body ?? '', 'text') ?? '';
    expect(text.startsWith('✅ [DRY RUN] PVE backup OK - pve1.lab.example\n\n➖ Local: skipped')).toBe(true);
    expect(text).toContain('\n📦 Dry run: no archive created\n');
    const onError = await notify(telegramConfig(sink.base, { NOTIFY_ON: 'error' }));
    expect(onError.status).toBe(0);
    expect(onError.log).toContain('[INFO] Notifications not sent: outcome success is below NOTIFY_ON=error');
    expect(sink.requests).toHaveLength(1);
  });
});


describe('Telegram centralized mode (notify.md §3.2, §10.7)', () => {
  const RECEIVED = '987654321:BBcentral_received_token_abcdefghijklmnop';
  const central = (base: string, extra: Record<string, string> = {}) => notify({
    TELEGRAM_ENABLED: 'true', BOT_TELEGRAM_TYPE: 'centralized', TELEGRAM_SERVER_API_HOST: base, TELEGRAM_API_BASE: base, ...extra,
  });

  it('looks the chat up by server id, then sends with the received token, which never reaches the log', async () => {
    const sink = await telegram([{ status: 200, body: JSON.stringify({ chat_id: -100777, bot_token: RECEIVED }) }, TELEGRAM_OK]);
    const result = await central(sink.base, { DEBUG_LEVEL: 'advanced' });   // what -v sets
    expect(result.status).toBe(0);
    expect(sink.requests.map((r) => r.method)).toEqual(['GET', 'POST']);
    expect(sink.requests[0]?.url).toMatch(/^\/api\/get-chat-id\?server_id=\d{16}$/);
    expect(sink.requests[0]?.headers.accept).toBe('application/json');
    expect(sink.requests[1]?.url).toBe(`/bot${RECEIVED}/sendMessage`);
    expect(formField(sink.requests[1]?.body ?? '', 'chat_id')).toBe('-100777');
    expect(result.log).toContain('[DEBUG] Telegram chat resolved by the central server');
    expect(result.log).not.toContain(RECEIVED);
  });

  it.each([
    [403, 'Telegram central server: bot not started; start the bot and send it server ID '],
    [409, 'Telegram central server: server ID '],
    [422, 'Telegram central server rejected server ID '],
    [500, 'Telegram central server returned HTTP 500'],
  ])('answers %i: the matching WARNING and no sendMessage', async (status, message) => {
    const sink = await telegram([{ status, body: '{}' }]);
    const result = await central(sink.base);
    expect(result.status).toBe(1);
    expect(sink.requests.every((r) => r.method === 'GET')).toBe(true);
    expect(result.log).toContain(`[WARNING] ${message}`);
  });

  it('a 200 without a usable token is an invalid response', async () => {
    const sink = await telegram([{ status: 200, body: '{"chat_id":"x"}' }]);
    const result = await central(sink.base);
    expect(result.status).toBe(1);
    expect(result.log).toContain('[WARNING] Telegram central server returned an invalid response');
    expect(sink.requests).toHaveLength(1);
  });
});
