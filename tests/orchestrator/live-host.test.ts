// Shadow and parity on a host whose volatile commands are the machine's own (issue 22): df, free, ps, uptime and
// ip -s link are not fixture stubs, so they answer differently from one moment to the next. The control records
// what it read, the candidate replays it: shadow stays silent, `parity --host` gives A = B, and a real difference
// (an injected one, a command the control never ran) still fires.
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeClock } from '../../native/core/clock.js';
import { NATIVE_BACKUP_STAGES } from '../../native/backup/index.js';
import { securityGate } from '../../native/security/gate.js';
import { runParity } from '../../native/parity/runner.js';
import type { NativeStage } from '../../native/switch/stages.js';
import { Orchestrator } from '../../native/switch/orchestrator.js';
import { parseEnvFile } from '../../native/core/state-env.js';
import { execa } from 'execa';
import { readdirSync } from 'node:fs';
import { appendConfig, hostEnv, makeSandbox, REPO, type Sandbox } from '../legacy/run.js';
import { patchedCode } from '../parity/patched-code.js';

const VOLATILE = ['df', 'free', 'ps', 'uptime', 'ip'];

/** pve-single with its volatile stubs removed: those commands are the test machine's own. */
function liveHost(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbk-live-'));
  cpSync(join(REPO, 'parity', 'hosts', 'pve-single'), join(dir, 'live'), { recursive: true, verbatimSymlinks: true });
  symlinkSync(join(REPO, 'parity', 'hosts', '_stub'), join(dir, '_stub'));
  for (const command of VOLATILE) rmSync(join(dir, 'live', 'bin', command), { force: true });
  // And one that never answers the same twice (a clock in nanoseconds): without replay, shadow could not be silent.
  rmSync(join(dir, 'live', 'bin', 'lscpu'));
  writeFileSync(join(dir, 'live', 'bin', 'lscpu'), '#!/bin/sh\ndate +%s.%N\n', { mode: 0o755 });
  return join(dir, 'live');
}

async function shadowRun(host: string, sandbox: Sandbox, natives: Partial<Record<string, NativeStage>> = { ...NATIVE_BACKUP_STAGES, security_gate: securityGate }):
  Promise<{ status: number; stdout: string; state: Map<string, string> }> {
  let stdout = '';
  const env = hostEnv(host, sandbox, { PBK_KEEP_RUN_DIR: '1' });
  delete env.PBK_NOW;   // the machine's clock, as on a node: two runs a few seconds apart
  const orchestrator = new Orchestrator({
    codeDir: REPO, baseDir: sandbox.baseDir, env, dryRun: false, checkOnly: false,
    implementation: (domain) => (domain === 'backup' || domain === 'security' ? 'shadow' : 'bash'), fallback: false, natives,
    stdout: { write: (text) => { stdout += text; }, isTTY: false }, stderr: () => undefined,
  });
  const status = await orchestrator.run();
  const tmp = join(sandbox.baseDir, 'tmp');
  const runs = readdirSync(tmp).filter((n) => n.startsWith('proxmox-backup-run.')).sort();
  const last = runs.at(-1);
  const state = last === undefined ? new Map<string, string>() : parseEnvFile(readFileSync(join(tmp, last, 'state.env'), 'utf8'));
  rmSync(join(tmp, last ?? 'none'), { recursive: true, force: true });
  return { status, stdout, state };
}

describe('shadow on a live-like host (df, free, ps, uptime, ip -s link unstubbed)', () => {
  it('is silent on two runs a few seconds apart', { timeout: 600_000 }, async () => {
    const host = liveHost();
    const sandbox = appendConfig(makeSandbox(), { CHECK_NETWORK_SECURITY: 'true' });
    for (const round of [1, 2]) {
      if (round === 2) await new Promise((resolve) => setTimeout(resolve, 3000));
      const run = await shadowRun(host, sandbox);
      expect(run.stdout, `round ${round}`).not.toMatch(/\[WARNING\] parity:/);
      expect(run.state.get('SHADOW_BACKUP')).toBe('1');
      expect(run.state.get('SHADOW_SECURITY')).toBe('1');   // the gate too: live ps, ss and iptables-save replayed
      for (const key of ['PARITY_MISMATCHES_BACKUP', 'PARITY_CANDIDATE_FAILURES_BACKUP', 'PARITY_COMPARISON_FAILURES_BACKUP',
        'PARITY_MISMATCHES_SECURITY', 'PARITY_CANDIDATE_FAILURES_SECURITY', 'PARITY_COMPARISON_FAILURES_SECURITY']) {
        expect(run.state.get(key), `${key} round ${round}`).toBeUndefined();
      }
    }
  });

  it('a file changed between the control\'s read and the candidate\'s is "changed during the run", not a mismatch', { timeout: 300_000 }, async () => {
    const host = liveHost();
    const hosts = join(host, 'root', 'etc', 'hosts');
    const collect = NATIVE_BACKUP_STAGES.backup_collect;
    if (collect === undefined) throw new Error('no native backup_collect');
    // The candidate runs after the control: the file moves in between, as a busy node's files do.
    const moving: NativeStage = async (context) => {
      appendFileSync(hosts, '10.0.0.99 late.example\n');
      utimesSync(hosts, new Date(), new Date());
      return collect(context);
    };
    const run = await shadowRun(host, makeSandbox(), { ...NATIVE_BACKUP_STAGES, backup_collect: moving });
    expect(run.stdout).not.toMatch(/\[WARNING\] parity:/);
    expect(run.stdout).toMatch(/\[INFO\] parity: backup_collect: 1 file\(s\) changed during the run, not compared: \.\/etc\/hosts$/m);
    expect(run.state.get('PARITY_MISMATCHES_BACKUP')).toBeUndefined();
  });

  it('a real difference still fires under replay', { timeout: 300_000 }, async () => {
    const host = liveHost();
    const collect = NATIVE_BACKUP_STAGES.backup_collect;
    if (collect === undefined) throw new Error('no native backup_collect');
    const extra: NativeStage = async (context) => {
      const status = await collect(context);
      writeFileSync(join(context.runDir.staging, 'etc', 'only-in-ts.cfg'), 'x\n');
      return status;
    };
    const run = await shadowRun(host, makeSandbox(), { ...NATIVE_BACKUP_STAGES, backup_collect: extra });
    expect(run.stdout).toMatch(/\[WARNING\] parity: native backup_collect differs from bash; diff report /);
    expect(run.state.get('PARITY_MISMATCHES_BACKUP')).toBe('1');
  });
});

describe('parity --host on a live-like host: path A records, the others replay', () => {
  it('passes A = B', { timeout: 900_000 }, async () => {
    const report = await runParity({ codeDir: REPO, env: process.env, clock: makeClock(), hosts: [liveHost()], scenarios: ['happy'], jobs: 1 });
    const differing = report.cases.flatMap((c) => c.comparisons.filter((x) => x.verdict !== 'same').map((x) => x.diff));
    expect(differing).toEqual([]);
    expect(report.ok).toBe(true);
    const commands = report.cases[0]?.comparisons.find((c) => c.artefact === 'host-commands.txt');
    expect(commands?.verdict).toBe('same');
  });

  it('still catches the injected difference, and names a command the control never ran', { timeout: 900_000 }, async () => {
    const code = patchedCode('dist/native/backup/collect/index.js', '    c.finishDirs();\n',
      "    c.generated('./etc/injected.cfg', 'x\\n');\n    await c.commands.run(['uname', '-m']);\n    c.finishDirs();\n");
    const report = await runParity({ codeDir: REPO, env: process.env, clock: makeClock(), hosts: [liveHost()], scenarios: ['happy'], jobs: 1, codeDirB: code });
    expect(report.ok).toBe(false);
    const find = (artefact: string) => report.cases[0]?.comparisons.find((c) => c.left === 'A-bash' && c.artefact === artefact);
    expect(find('manifest.txt')?.diff).toMatch(/^\+"\.\/etc\/injected\.cfg" f /m);
    expect(find('host-commands.txt')?.verdict).toBe('differs');
    expect(find('host-commands.txt')?.diff).toMatch(/^\+1× uname -m$/m);
  });
});

describe('record-host: a live node turned into a fixture host from one recording', () => {
  /** One legacy dry run on HOST recording every host command; the recording's argv → stdout. */
  async function recordRun(host: string): Promise<{ dir: string; outputs: Map<string, string> }> {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-recording-'));
    const sandbox = appendConfig(makeSandbox(), { CHECK_NETWORK_SECURITY: 'true' });
    await execa(join(REPO, 'legacy', 'bin', 'proxmox-backup'), ['--dry-run'],
      { env: hostEnv(host, sandbox, { PBK_RECORD_DIR: dir }), extendEnv: false, reject: false, timeout: 600_000 });
    const outputs = new Map<string, string>();
    for (const key of readdirSync(dir)) {
      const argv = readFileSync(join(dir, key, 'argv'), 'latin1').split('\0').slice(0, -1).join(' ');
      outputs.set(argv, readFileSync(join(dir, key, '1', 'stdout'), 'latin1'));
    }
    return { dir, outputs };
  }

  it('answers every command of the next run exactly as the node answered during the recorded one', { timeout: 900_000 }, async () => {
    const live = liveHost();
    const first = await recordRun(live);
    expect([...first.outputs.keys()]).toEqual(expect.arrayContaining(['df -h', 'free -h', 'ip -s link', 'ps -eo pid=,uid=,comm=']));
    const fixture = join(mkdtempSync(join(tmpdir(), 'pbk-recorded-')), 'node1');
    const made = await execa(join(REPO, 'parity', 'hosts', 'record-host'), [fixture, '--root', join(live, 'root'), '--from', first.dir], { reject: false });
    expect(made.stderr).toBe('');
    expect(made.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(join(fixture, 'host.json'), 'utf8'))).toMatchObject({ type: 'pve', fqdn: 'pve1.lab.example' });
    const second = await recordRun(fixture);
    expect(second.outputs).toEqual(first.outputs);
  });
});

