// The healthcheck ping (README "Decisions": /start at run begin, the bare URL on success, /fail on error, the exit
// code in the body) through both orchestrators, and secrets (security.md §8, notify.md §6.4): with every secret
// set, no output of a run — console, log files, JSON log, state, context copies, metrics, rendered messages —
// holds one, on either side.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NATIVE_BACKUP_STAGES } from '../../native/backup/index.js';
import { NATIVE_METRICS_STAGES } from '../../native/metrics/index.js';
import { NATIVE_NOTIFY_STAGES } from '../../native/notify/index.js';
import { fakeSendmail, startHttpSink, TELEGRAM_OK, type HttpSink } from '../../native/parity/sinks.js';
import { Orchestrator } from '../../native/switch/orchestrator.js';
import { appendConfig, hostEnv, makeSandbox, REPO, runLegacy, type Sandbox } from '../legacy/run.js';

const TOKEN = '987654321:AAH-secret_token_abcdefghijklmnopqrstuv';
const SECRETS = {
  TELEGRAM_BOT_TOKEN: TOKEN, SMTP_PASSWORD: 'smtp-pa55word-secret', WEBHOOK_AUTH_HEADER: 'Authorization: Bearer hook-auth-secret',
  HEALTHCHECK_PATH: '/ping/hc-uuid-secret-4711', WEBHOOK_PATH: '/hook/webhook-path-secret?token=query-secret-99',
};
const NEEDLES = [TOKEN, 'smtp-pa55word-secret', 'hook-auth-secret', 'hc-uuid-secret-4711', 'webhook-path-secret', 'query-secret-99'];

const savedUmask = process.umask();
const savedTz = process.env.TZ;
let sinks: HttpSink[] = [];
afterEach(async () => {
  process.umask(savedUmask);
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
  await Promise.all(sinks.map((s) => s.close()));
  sinks = [];
});

async function secretSandbox(): Promise<{ sandbox: Sandbox; sink: HttpSink }> {
  const sink = await startHttpSink([TELEGRAM_OK]);
  sinks.push(sink);
  const sandbox = makeSandbox({
    PROMETHEUS_ENABLED: 'true', PROMETHEUS_TEXTFILE_DIR: '${BASE_DIR}/metrics', DEBUG_LEVEL: 'extreme',
    TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: SECRETS.TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID: '-100123', TELEGRAM_API_BASE: sink.base,
    EMAIL_ENABLED: 'true', EMAIL_RECIPIENT: 'admin@example.com', SMTP_USER: 'backup', SMTP_PASSWORD: SECRETS.SMTP_PASSWORD,
    WEBHOOK_ENABLED: 'true', WEBHOOK_URLS: `${sink.base}${SECRETS.WEBHOOK_PATH}`, WEBHOOK_AUTH_HEADER: SECRETS.WEBHOOK_AUTH_HEADER,
    HEALTHCHECK_URL: `${sink.base}${SECRETS.HEALTHCHECK_PATH}`,
  });
  appendConfig(sandbox, { SENDMAIL_PATH: fakeSendmail(sandbox.baseDir) });
  return { sandbox, sink };
}

/** Every regular file under DIR (the sandbox: logs, metrics, kept run directory, backups' sidecars). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...filesUnder(path));
    else if (st.isFile() && !path.endsWith('backup.env') && !path.includes('/staging/') && !/\.tar(\.\w+)?$/.test(path)) out.push(path);
  }
  return out;
}

function leaks(sandbox: Sandbox, outputs: string[]): string[] {
  const found: string[] = [];
  // The scan sees what a leak would be in: the kept run directory's context.env does hold the token.
  const contexts = filesUnder(sandbox.baseDir).filter((f) => f.endsWith('/context.env'));
  if (!contexts.some((f) => readFileSync(f, 'utf8').includes(TOKEN))) found.push('no kept context.env holding the token: the scan saw nothing');
  const texts: [string, string][] = [...outputs.map((t, i) => [`output ${i}`, t] as [string, string]),
    ...filesUnder(sandbox.baseDir).map((f) => [f, readFileSync(f, 'latin1')] as [string, string])];
  for (const [where, text] of texts) {
    // context.env holds the configuration for the stages (0600, like backup.env): the one place a secret may be.
    if (where.endsWith('/context.env')) continue;
    for (const needle of NEEDLES) if (text.includes(needle) || text.includes(encodeURIComponent(needle))) found.push(`${needle} in ${where}`);
  }
  return found;
}

function pings(sink: HttpSink): string[] {
  return sink.requests.filter((r) => r.url.startsWith(SECRETS.HEALTHCHECK_PATH)).map((r) => `${r.method} ${r.url.slice(SECRETS.HEALTHCHECK_PATH.length) || '/'} [${r.body}]`);
}

describe('healthcheck ping and secrets, legacy pipeline', () => {
  it('pings /start at run begin and the bare URL with exit code 0 at the end; no secret in any output', async () => {
    const { sandbox, sink } = await secretSandbox();
    const result = await runLegacy('pve-single', sandbox, [], { PBK_KEEP_RUN_DIR: '1' });
    expect(result.exitCode).toBe(0);
    expect(pings(sink)).toEqual(['POST /start []', 'POST / [0]']);
    expect(sink.requests[0]?.url).toBe(`${SECRETS.HEALTHCHECK_PATH}/start`);   // before any channel
    expect(sink.requests.at(-1)?.url).toBe(SECRETS.HEALTHCHECK_PATH);
    expect(leaks(sandbox, [String(result.stdout), String(result.stderr)])).toEqual([]);
  }, 240_000);
});

describe('healthcheck ping and secrets, TypeScript orchestrator with native notify and metrics', () => {
  it('the same pings; no secret in any output', async () => {
    const { sandbox, sink } = await secretSandbox();
    let stdout = '';
    let stderr = '';
    const status = await new Orchestrator({
      codeDir: REPO, baseDir: sandbox.baseDir, env: hostEnv('pve-single', sandbox, { PBK_KEEP_RUN_DIR: '1' }),
      dryRun: false, checkOnly: false, implementation: () => 'ts', fallback: false,
      natives: { ...NATIVE_BACKUP_STAGES, ...NATIVE_NOTIFY_STAGES, ...NATIVE_METRICS_STAGES },
      stdout: { write: (text) => { stdout += text; }, isTTY: false }, stderr: (line) => { stderr += `${line}\n`; },
    }).run();
    expect(status).toBe(0);
    expect(pings(sink)).toEqual(['POST /start []', 'POST / [0]']);
    expect(sink.requests[0]?.url).toBe(`${SECRETS.HEALTHCHECK_PATH}/start`);
    expect(leaks(sandbox, [stdout, stderr])).toEqual([]);
  }, 240_000);
});
