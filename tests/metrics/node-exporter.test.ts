// The textfile as a real Prometheus node_exporter reads it (metrics.md §1): Debian's prometheus-node-exporter with
// only its textfile collector, pointed at the metrics directory of a TS-orchestrator run with native metrics, on a
// free loopback port; /metrics must carry the run's series and no textfile scrape error.
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { NATIVE_BACKUP_STAGES } from '../../native/backup/index.js';
import { NATIVE_METRICS_STAGES } from '../../native/metrics/index.js';
import { Orchestrator } from '../../native/switch/orchestrator.js';
import { hostEnv, makeSandbox, REPO } from '../legacy/run.js';

const savedUmask = process.umask();
const savedTz = process.env.TZ;
afterEach(() => {
  process.umask(savedUmask);
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

/** A port the kernel just handed out on loopback (listen on 0), released for the exporter to take. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function scrape(url: string, exporter: { exitCode: number | null }): Promise<string> {
  for (let i = 0; i < 100; i += 1) {
    if (exporter.exitCode !== null) throw new Error('node_exporter exited');
    try {
      const reply = await fetch(url);
      if (reply.ok) return await reply.text();
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('node_exporter did not answer within 20 s');
}

describe('prometheus-node-exporter reads the native textfile', () => {
  it('scrapes the run\'s series from the textfile collector', async () => {
    const sandbox = makeSandbox({ PROMETHEUS_ENABLED: 'true', PROMETHEUS_TEXTFILE_DIR: '${BASE_DIR}/metrics' });
    const status = await new Orchestrator({
      codeDir: REPO, baseDir: sandbox.baseDir, env: hostEnv('pve-single', sandbox), dryRun: false, checkOnly: false,
      implementation: () => 'ts', fallback: false, natives: { ...NATIVE_BACKUP_STAGES, ...NATIVE_METRICS_STAGES },
      stdout: { write: () => undefined, isTTY: false }, stderr: () => undefined,
    }).run();
    expect(status).toBe(0);
    const port = await freePort();
    const exporter = execa('/usr/bin/prometheus-node-exporter', ['--collector.disable-defaults', '--collector.textfile',
      `--collector.textfile.directory=${join(sandbox.baseDir, 'metrics')}`, `--web.listen-address=127.0.0.1:${port}`],
    { reject: false, stdio: 'ignore' });
    try {
      const text = await scrape(`http://127.0.0.1:${port}/metrics`, exporter);
      expect(text).toMatch(/^proxmox_backup_info\{host="pve1\.lab\.example",pbs_version="",pve_version="8\.3\.1",server_id="\d+",type="pve",version="[^"]+"\} 1$/m);
      expect(text).toMatch(/^proxmox_backup_success 1$/m);
      expect(text).toMatch(/^proxmox_backup_start_timestamp_seconds 1\.7325e\+09$/m);
      expect(text).toMatch(/^proxmox_backup_domain_implementation\{domain="metrics",impl="native"\} 1$/m);
      expect(text).toMatch(/^proxmox_backup_fallbacks_total\{domain="backup"\} 0$/m);
      expect(text).toMatch(/^node_textfile_scrape_error 0$/m);
    } finally {
      exporter.kill();
      await exporter;
    }
  }, 240_000);
});
