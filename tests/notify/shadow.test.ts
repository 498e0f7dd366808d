// notify and metrics in shadow on every fixture host (notify.md §10.31, ARCHITECTURE "shadow"): bash delivers for
// real, the native twins render on a scratch copy and send nothing; the comparison is silent (no `parity:` line,
// no mismatch counted) and the sinks see exactly one set of requests.
import { join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { NATIVE_METRICS_STAGES } from '../../native/metrics/index.js';
import { NATIVE_NOTIFY_STAGES } from '../../native/notify/index.js';
import { fakeSendmail, startHttpSink, TELEGRAM_OK, type HttpSink } from '../../native/parity/sinks.js';
import { parseEnvFile } from '../../native/core/state-env.js';
import { Orchestrator } from '../../native/switch/orchestrator.js';
import { appendConfig, hostEnv, makeSandbox, REPO } from '../legacy/run.js';

const TOKEN = '123456789:AAH-test_token_abcdefghijklmnopqrstuvwx';
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

describe('notify and metrics in shadow', () => {
  it.each(['pve-single', 'pve-cluster', 'pbs', 'dual', 'hostile'])('%s: silent, and one set of requests', async (host) => {
    const sink = await startHttpSink([TELEGRAM_OK]);
    sinks.push(sink);
    const sandbox = makeSandbox({
      PROMETHEUS_ENABLED: 'true', PROMETHEUS_TEXTFILE_DIR: '${BASE_DIR}/metrics',
      TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '-100123', TELEGRAM_API_BASE: sink.base,
      EMAIL_ENABLED: 'true', EMAIL_RECIPIENT: 'admin@example.com',
      WEBHOOK_ENABLED: 'true', WEBHOOK_URLS: `${sink.base}/hook`, ENABLE_LOG_MANAGEMENT: 'true',
    });
    appendConfig(sandbox, { SENDMAIL_PATH: fakeSendmail(sandbox.baseDir) });
    let stdout = '';
    const status = await new Orchestrator({
      codeDir: REPO, baseDir: sandbox.baseDir, env: hostEnv(host, sandbox, { PBK_KEEP_RUN_DIR: '1' }), dryRun: false, checkOnly: false,
      implementation: (domain) => (domain === 'notify' || domain === 'metrics' ? 'shadow' : 'bash'), fallback: false,
      natives: { ...NATIVE_NOTIFY_STAGES, ...NATIVE_METRICS_STAGES },
      stdout: { write: (text) => { stdout += text; }, isTTY: false }, stderr: () => undefined,
    }).run();
    expect(stdout).not.toContain('parity:');
    expect(status).toBeLessThanOrEqual(1);
    const tmp = join(sandbox.baseDir, 'tmp');
    const runDir = readdirSync(tmp).find((n) => n.startsWith('proxmox-backup-run.')) ?? '';
    const state = parseEnvFile(readFileSync(join(tmp, runDir, 'state.env'), 'utf8'));
    expect(state.get('SHADOW_NOTIFY')).toBe('1');
    expect(state.get('SHADOW_METRICS')).toBe('1');
    expect(state.get('PARITY_MISMATCHES_NOTIFY')).toBeUndefined();
    expect(state.get('PARITY_MISMATCHES_METRICS')).toBeUndefined();
    expect(sink.requests.map((r) => r.url.replace(TOKEN, '***'))).toEqual(['/bot***/sendMessage', '/hook']);
    expect(readFileSync(join(sandbox.baseDir, 'sendmail.log'), 'utf8').match(/^argv: /gm)).toHaveLength(1);
  }, 240_000);
});
