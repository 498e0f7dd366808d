// The native notify_run against the legacy one (notify.md §2-§8): on twin run directories made from one real
// run, each side with its own loopback sinks, the requests, the rendered copies in RUN_DIR/notify, the log
// lines, the state keys and the status are the same — for several run states and every channel and format.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fakeSendmail, startHttpSink, TELEGRAM_OK, type HttpSink, type Reply } from '../../native/parity/sinks.js';
import { keptRun, runShim, stageDir, stageEnv, type KeptRun } from '../backup/stage-run.js';
import { smtpSink, stopSmtpSinks } from '../helpers/smtp.js';
import { runNativeNotify } from './native-run.js';

const TOKEN = '123456789:AAH-test_token_abcdefghijklmnopqrstuvwx';
let kept: KeptRun;
let sinks: HttpSink[] = [];

beforeAll(async () => {
  kept = await keptRun('pve-single', { ENABLE_SECONDARY_BACKUP: 'true', SECONDARY_BACKUP_PATH: '${BASE_DIR}/secondary' });
}, 240_000);

afterEach(async () => {
  await Promise.all(sinks.map((s) => s.close()));
  sinks = [];
  await stopSmtpSinks();
});

const LOG_LINES = [
  '2024-11-25 02:00:01 [WARNING] Missing critical file: /etc/pve/storage.cfg',
  '2024-11-25 02:00:02 [ERROR] Failed to create backup archive: No space left on device <&> "quoted"',
  '2024-11-25 02:00:03 [WARNING] parity: native x differs (ignored)',
  ...Array.from({ length: 7 }, (_, i) => `2024-11-25 02:00:04 [WARNING] warning ${i} ${'𝔘'.repeat(i === 3 ? 300 : 1)}`),
];

interface Side { requests: string[]; files: Record<string, string>; lines: string[]; status: number; state: string[]; mail: string }

async function side(which: 'bash' | 'ts', context: Record<string, string>, state: Record<string, string>, log: string[],
  replies: Reply[]): Promise<Side> {
  const sink = await startHttpSink(replies);
  sinks.push(sink);
  const dir = stageDir(kept, {}, state);
  const mailDir = join(dir.path, '..', `${dir.path.split('/').pop() ?? ''}-mail`);
  mkdirSync(mailDir);
  const smtp = context.EMAIL_DELIVERY_METHOD === 'smtp' ? await smtpSink(mailDir) : undefined;
  const ctx: Record<string, string> = {
    TELEGRAM_API_BASE: sink.base, SENDMAIL_PATH: fakeSendmail(mailDir), ...context,
    ...(smtp !== undefined ? { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port) } : {}),
  };
  for (const key of ['WEBHOOK_URLS', 'TELEGRAM_SERVER_API_HOST', 'HEALTHCHECK_URL']) if (ctx[key] !== undefined) ctx[key] = ctx[key].replaceAll('BASE', sink.base);
  appendFileSync(dir.contextPath, Object.entries(ctx).map(([k, v]) => `${k}='${v.replaceAll("'", "'\\''")}'\n`).join(''));
  if (log.length > 0) appendFileSync(dir.logPath, `${log.join('\n')}\n`);
  appendFileSync(dir.contextPath, "DEBUG_LEVEL='advanced'\n");
  const env = stageEnv(kept, { PBK_NOW: '1732500042' });
  const result = which === 'bash' ? await runShim('notify_run', dir, env) : await runNativeNotify(dir, env);
  const ports = [new URL(sink.base).port, ...(smtp !== undefined ? [String(smtp.port)] : [])];
  // Free space is read live on a shared disk (the parity normalisation, notify.md §9); the rest is compared as is.
  const norm = (t: string): string => ports.reduce((x, p) => x.replaceAll(p, '<PORT>'), t).replaceAll(dir.path, '<RUN_DIR>')
    .replace(/^Date: .*$/m, 'Date: <DATE>').replace(/Date: [^\\]*\\r\\n/, 'Date: <DATE>\\r\\n').replace(/"free_bytes":\d+/g, '"free_bytes":<FREE>').replace(/🔹 (Local|Secondary): [\d.]+ \w+/gu, '🔹 $1: <FREE>');
  const files: Record<string, string> = {};
  const notify = join(dir.path, 'notify');
  for (const name of existsSync(notify) ? readdirSync(notify).sort() : []) files[name] = norm(readFileSync(join(notify, name), 'utf8'));
  const requests = sink.requests.map((r) => norm(`${r.method} ${r.url}\n${r.headers['content-type'] ?? ''}|${r.headers['user-agent'] ?? ''}|`
    + `${r.headers.accept === 'application/json' ? 'json' : ''}|${r.headers.authorization ?? ''}\n`
    + `${r.headers['content-type'] === 'application/x-www-form-urlencoded' ? decodeURIComponent(r.body) : r.body}`));
  let mail = '';
  if (existsSync(join(mailDir, 'sendmail.log'))) mail += norm(readFileSync(join(mailDir, 'sendmail.log'), 'utf8'));
  if (smtp !== undefined && existsSync(smtp.out)) mail += norm(readFileSync(smtp.out, 'utf8'));
  rmSync(mailDir, { recursive: true, force: true });
  return {
    requests, files, status: result.status, mail,
    lines: result.lines.map(norm).filter((l) => !LOG_LINES.some((x) => x.endsWith(l.slice(l.indexOf('[')))) || l.startsWith('[DEBUG]')),
    state: [...result.state].filter(([k]) => k.startsWith('NOTIFY_')).map(([k, v]) => `${k}=${v}`),
  };
}

async function compare(context: Record<string, string>, state: Record<string, string> = {}, log: string[] = [],
  replies: Reply[] = [TELEGRAM_OK]): Promise<Side> {
  const bash = await side('bash', context, state, log, replies);
  const ts = await side('ts', context, state, log, replies);
  expect(ts.files).toEqual(bash.files);
  expect(ts.requests).toEqual(bash.requests);
  expect(ts.lines).toEqual(bash.lines);
  expect(ts.state).toEqual(bash.state);
  expect(ts.status).toBe(bash.status);
  expect(ts.mail).toEqual(bash.mail);
  return ts;
}

const ALL_ON = {
  EMAIL_ENABLED: 'true', EMAIL_RECIPIENT: 'admin@example.com, bad@@x', EMAIL_SUBJECT_PREFIX: '[Proxmox-Backup]',
  TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '-100123',
  WEBHOOK_ENABLED: 'true', WEBHOOK_URLS: 'BASE/hook/one?token=s3cr3t-value\nBASE/', WEBHOOK_AUTH_HEADER: 'Authorization: Bearer t0k3n-secret',
};

describe('native notify_run = legacy notify_run', () => {
  it('every channel on, a successful run', async () => {
    const ts = await compare(ALL_ON);
    expect(ts.requests).toHaveLength(3);
    expect(Object.keys(ts.files)).toEqual(['email.eml', 'telegram.txt', 'webhook-1.json', 'webhook-2.json']);
    expect(ts.files['telegram.txt']).toContain('✅ Email: sent');
  });

  it('a failed run with issues (errors, warnings, parity lines, an over-long line) and a dry run tag', async () => {
    await compare({ ...ALL_ON, DRY_RUN: 'true', NOTIFY_DRY_RUN: 'true' }, { STATUS_VERIFY: '2', FILE_MISSING: '2', COMPRESSION_RATIO: 'Unknown' }, LOG_LINES);
  });

  it('check mode with NOTIFY_DRY_RUN, root@pam recipient, PBS-like versions', async () => {
    await compare({ ...ALL_ON, CHECK_ONLY: 'true', NOTIFY_DRY_RUN: 'true', EMAIL_RECIPIENT: '' }, { PBS_VERSION: '3.2.1', BACKUP_FILE: '' });
  });

  it.each(['discord', 'slack', 'ntfy', 'gotify'])('webhook format %s, a warning run', async (format) => {
    await compare({ WEBHOOK_ENABLED: 'true', WEBHOOK_FORMAT: format, WEBHOOK_URLS: 'BASE/topic-a\nhttp://user:pw@127.0.0.1:1' },
      { STATUS_SECONDARY: 'warning', SECONDARY_BACKUP_COUNT: '4' }, LOG_LINES.slice(0, 1));
  });

  it('Telegram failures: 401, and 500 then ok (one retry); NOTIFY_ON below the outcome', async () => {
    await compare({ TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '-100123' }, {}, [],
      [{ status: 401, body: '{"ok":false,"description":"Unauthorized\\nmore"}' }]);
    await compare({ TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '-100123' }, {}, [],
      [{ status: 500, body: '{"ok":false}' }, TELEGRAM_OK]);
    await compare({ ...ALL_ON, NOTIFY_ON: 'error' }, {}, LOG_LINES.slice(0, 1));
    await compare({ TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: 'bad', TELEGRAM_CHAT_ID: '-100123', EMAIL_ENABLED: 'true', SENDMAIL_PATH: '/nonexistent' });
  });

  it('Telegram centralized: the chat and token from the central server, then sendMessage', async () => {
    const central: Reply = { status: 200, body: `{"chat_id":-100777,"bot_token":"${TOKEN}"}` };
    const ts = await compare({ TELEGRAM_ENABLED: 'true', BOT_TELEGRAM_TYPE: 'centralized', TELEGRAM_SERVER_API_HOST: 'BASE/' }, {}, [],
      [central, TELEGRAM_OK]);
    expect(ts.requests).toHaveLength(2);
    await compare({ TELEGRAM_ENABLED: 'true', BOT_TELEGRAM_TYPE: 'centralized', TELEGRAM_SERVER_API_HOST: 'BASE' }, {}, [],
      [{ status: 409, body: '{}' }]);
  });

  it('the healthcheck ping: /fail with exit code 2 after a 500, success with 0 (query kept after the suffix)', async () => {
    const failed = await compare({ HEALTHCHECK_URL: 'BASE/ping/abc-secret/' }, {}, LOG_LINES, [{ status: 500, body: '' }, { status: 200, body: 'OK' }]);
    expect(failed.requests.map((r) => r.split('\n')[0])).toEqual(['POST /ping/abc-secret/fail', 'POST /ping/abc-secret/fail']);
    expect(failed.requests[1]?.endsWith('\n2')).toBe(true);
    expect(failed.lines.join('\n')).not.toContain('abc-secret');
    const ok = await compare({ HEALTHCHECK_URL: 'BASE/ping/abc-secret?create=1' }, {}, [], [{ status: 200, body: 'OK' }]);
    expect(ok.requests.map((r) => r.split('\n')[0])).toEqual(['POST /ping/abc-secret?create=1']);
  });

  it('e-mail through SMTP to a real aiosmtpd server', async () => {
    const ts = await compare({ EMAIL_ENABLED: 'true', EMAIL_RECIPIENT: 'admin@example.com', EMAIL_DELIVERY_METHOD: 'smtp', SMTP_TLS: 'none' });
    expect(ts.mail).toContain('admin@example.com');
  });
});
