// Webhooks (notify.md §5, §10.23-28) against loopback HTTP sinks: the legacy notify_run alone (its shim) on run
// directories made from one real run; its status is what the run's exit code takes from it.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHttpSink, type HttpSink, type Reply } from '../../native/parity/sinks.js';
import { sharedKeptRun, legacyStage, type KeptRun } from '../backup/stage-run.js';

let kept: KeptRun;
beforeAll(async () => {
  kept = await sharedKeptRun('pve-single');
}, 240_000);
let sinks: HttpSink[] = [];
afterEach(async () => {
  await Promise.all(sinks.map((s) => s.close().catch(() => undefined)));
  sinks = [];
});

async function sink(replies: Reply[] = [{ status: 200, body: 'ok' }]): Promise<HttpSink> {
  const s = await startHttpSink(replies);
  sinks.push(s);
  return s;
}

const webhooks = (urls: string[], extra: Record<string, string> = {}) =>
  legacyStage('notify_run', kept, { WEBHOOK_ENABLED: 'true', WEBHOOK_URLS: urls.join('\n'), ...extra });   // one item per line

describe('generic webhooks', () => {
  it('posts the run summary as compact JSON, keys in order, to every URL in turn', async () => {
    const first = await sink([{ status: 200, body: 'ok' }]);
    const second = await sink([{ status: 204, body: '' }]);
    const run = await webhooks([`${first.base}/hook/secret-token-1`, `${second.base}/other`]);
    expect(run.status).toBe(0);
    expect(first.requests).toHaveLength(1);
    expect(second.requests).toHaveLength(1);
    expect((first.requests[0]?.at ?? 0) <= (second.requests[0]?.at ?? 0)).toBe(true);
    const request = first.requests[0];
    expect(request?.url).toBe('/hook/secret-token-1');
    expect(request?.headers['content-type']).toBe('application/json');
    const payload = JSON.parse(request?.body ?? '{}') as Record<string, unknown>;
    expect(Object.keys(payload)).toEqual(['schema', 'tool_version', 'mode', 'status', 'exit_code', 'title', 'text', 'host', 'run',
      'phases', 'archive', 'files', 'tiers', 'issues']);
    expect(payload).toMatchObject({
      schema: 'proxmox-backup.notify/1', tool_version: '0.1.0', mode: 'backup', status: 'success', exit_code: 0,
      title: '✅ PVE backup OK - pve1.lab.example',
      host: { fqdn: 'pve1.lab.example', type: 'pve', pve_version: '8.3.1', pbs_version: null },
      run: { timestamp: '2024-11-25_02-00-00', started_at: '2024-11-25T02:00:00+00:00', duration: '00:00:00' },
      phases: { security: 0, dependencies: 0, collect: 0, archive: 0, verify: 0, storage: 0 },
      archive: { name: 'pve-backup-pve1.lab.example-2024-11-25_02-00-00.tar.zst', compression_type: 'zstd', compression_level: 3, encrypted: false },
      files: { included: 151, missing: 0 },
      tiers: { primary: { status: 'ok', count: 1, max: 20 }, secondary: { status: 'disabled', count: null, free_bytes: null } },
      issues: { errors: 0, warnings: 0, first_errors: [], first_warnings: [] },
    });
    expect(request?.body).toContain('"title":"✅ PVE');   // UTF-8 written literally
    const log = run.log;
    expect(log).toContain(`[SUCCESS] Webhook 1 (${first.base}/***) delivered (HTTP 200)`);
    expect(log).toContain(`[SUCCESS] Webhook 2 (${second.base}/***) delivered (HTTP 204)`);
    expect(log).not.toContain('secret-token-1');
  });

  it('retries a 503 three times and still delivers the next URL; a 302 is a failure, never followed', async () => {
    const down = await sink([{ status: 503, body: 'busy' }]);
    const up = await sink();
    const redirect = await sink([{ status: 302, body: '', headers: { Location: 'http://127.0.0.1:9/elsewhere' } }]);
    const run = await webhooks([`${down.base}/a?token=abc123`, `${up.base}/b`, `${redirect.base}/c`]);
    expect(run.status).toBe(1);
    expect(down.requests).toHaveLength(3);
    expect(up.requests).toHaveLength(1);
    expect(redirect.requests).toHaveLength(1);
    const log = run.log;
    expect(log).toContain(`[INFO] Webhook 1 (${down.base}/***) attempt 1/3 failed (HTTP 503); retrying in 1 s`);
    expect(log).toContain(`[WARNING] Webhook 1 (${down.base}/***) failed: HTTP 503`);
    expect(log).toContain(`[WARNING] Webhook 3 (${redirect.base}/***) failed: HTTP 302`);
    expect(log).not.toContain('abc123');
  });
});

describe('webhook formats (notify.md §5.2)', () => {
  it.each([
    ['discord', (b: Record<string, unknown>) => expect(b).toMatchObject({ username: 'proxmox-backup', embeds: [{ title: '✅ PVE backup OK - pve1.lab.example', color: 3066993 }] })],
    ['slack', (b: Record<string, unknown>) => expect(String(b.text)).toMatch(/^✅ PVE backup OK - pve1\.lab\.example\n\n✅ Local: 1\/20 backups/)],
    ['gotify', (b: Record<string, unknown>) => expect(b).toMatchObject({ priority: 2, extras: { 'client::display': { contentType: 'text/plain' } } })],
  ])('%s', async (format, check) => {
    const s = await sink();
    expect((await webhooks([`${s.base}/x`], { WEBHOOK_FORMAT: format })).status).toBe(0);
    check(JSON.parse(s.requests[0]?.body ?? '{}') as Record<string, unknown>);
  });

  it('ntfy posts to the server root with the topic in the body', async () => {
    const s = await sink();
    expect((await webhooks([`${s.base}/backups`], { WEBHOOK_FORMAT: 'ntfy' })).status).toBe(0);
    expect(s.requests[0]?.url).toBe('/');
    expect(JSON.parse(s.requests[0]?.body ?? '{}')).toMatchObject({ topic: 'backups', title: '✅ PVE backup OK - pve1.lab.example', priority: 3 });
  });
});

describe('webhook settings (notify.md §10.27-28)', () => {
  it('sends the auth header to every URL and keeps its value out of the log; refuses a malformed one', async () => {
    const s = await sink();
    const run = await webhooks([`${s.base}/x`], { WEBHOOK_AUTH_HEADER: 'Authorization: Bearer t0k3n-value' });
    expect(run.status).toBe(0);
    expect(s.requests[0]?.headers.authorization).toBe('Bearer t0k3n-value');
    expect(run.log).not.toContain('t0k3n-value');
    const bad = await webhooks([`${s.base}/x`], { WEBHOOK_AUTH_HEADER: 'no colon here' });
    expect(bad.status).toBe(1);
    expect(bad.log).toContain('[WARNING] Webhook not sent: WEBHOOK_AUTH_HEADER is not a valid header line');
    expect(s.requests).toHaveLength(1);
  });

  it('an ftp item is refused; a closed port shows only the redacted URL', async () => {
    const s = await sink();
    const port = new URL(s.base).port;
    await s.close();
    sinks = [];
    const run = await webhooks(['ftp://x/y', `http://127.0.0.1:${port}/hook?token=zzsecret`]);
    expect(run.status).toBe(1);
    const log = run.log;
    expect(log).toContain('[WARNING] Webhook 1 not sent: not a valid http(s) URL');
    expect(log).toContain(`[WARNING] Webhook 2 (http://127.0.0.1:${port}/***) failed: connection failed`);
    expect(log).not.toContain('zzsecret');
  });
});
