// A collected command that outlives its timeout through a grandchild (issue 14 §1; run.md §7, decision 24): the
// run finishes on both sides, and no grandchild survives it.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { runOnce } from '../../native/backup/collect/commands.js';
import { execCommand } from '../../native/core/exec.js';
import { hostEnv, logOf, makeSandbox, REPO, runLegacy } from '../legacy/run.js';
import { copyHost, daemonizingCommand, hangingCommand, processesOf } from './host.js';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function survivors(sleeper: string): Promise<number[]> {
  for (let i = 0; i < 20 && processesOf(sleeper).length > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
  return processesOf(sleeper);
}

function hangingHost(): { host: string; sleeper: string } {
  const host = copyHost('pve-single');
  made.push(dirname(host));
  return { host, sleeper: hangingCommand(host, 'lspci') };
}

describe('one command with a grandchild that outlives the timeout', () => {
  it('runOnce: ends the whole group on timeout (124), leaves no survivor', async () => {
    const { host, sleeper } = hangingHost();
    const result = await runOnce([join(host, 'bin', 'lspci'), '-v'], 1, { PATH: process.env.PATH });
    expect(result.status).toBe(124);
    expect(await survivors(sleeper)).toEqual([]);
  }, 20_000);

  it('runOnce: a command that exits leaving a grandchild on its stdout returns at once with its output', async () => {
    const { sleeper } = hangingHost();
    const result = await runOnce(['bash', '-c', `'${sleeper}' 1000 & echo started`], 30, { PATH: process.env.PATH });
    expect(result.status).toBe(0);
    expect(result.stdout.toString()).toBe('started\n');
    expect(await survivors(sleeper)).toEqual([]);
  }, 20_000);

  it('execCommand (detection, time zone): the same bound', async () => {
    const { host, sleeper } = hangingHost();
    const result = await execCommand([join(host, 'bin', 'lspci')], { timeoutMs: 1000, env: { PATH: process.env.PATH } });
    expect(result.timedOut).toBe(true);
    expect(await survivors(sleeper)).toEqual([]);
  }, 20_000);
});

describe('a whole run with lspci hanging in a grandchild, timeout 1 s', () => {
  it('legacy: finishes, says the command timed out, no survivor', async () => {
    const { host, sleeper } = hangingHost();
    const sandbox = makeSandbox();
    const result = await runLegacy(host, sandbox, ['-v'], { PBK_COMMAND_TIMEOUT: '1' });
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(logOf(sandbox)).toContain('[DEBUG] Failed to collect PCI devices - command: lspci -v - timed out');
    expect(await survivors(sleeper)).toEqual([]);
  });

  it('ts (orchestrator and backup native): finishes, says the command timed out, no survivor', async () => {
    const { host, sleeper } = hangingHost();
    const sandbox = makeSandbox();
    const result = await execa(join(REPO, 'bin', 'switch-mode'), ['run-backup', '-v', '--flag', 'orchestrator=ts', '--flag', 'backup=ts'], {
      env: hostEnv(host, sandbox, { PBK_COMMAND_TIMEOUT: '1' }), extendEnv: false, reject: false, timeout: 90_000,
    });
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(logOf(sandbox)).toContain('[DEBUG] Failed to collect PCI devices - command: lspci -v - timed out');
    expect(await survivors(sleeper)).toEqual([]);
  });
});

describe('a probe that exits leaving a daemon on its stdout (hostname during detection)', () => {
  function daemonHost(): { host: string; sleeper: string } {
    const host = copyHost('pve-single');
    made.push(dirname(host));
    return { host, sleeper: daemonizingCommand(host, 'hostname') };
  }

  it('legacy: detection reads the output and goes on; the daemon is ended', async () => {
    const { host, sleeper } = daemonHost();
    const sandbox = makeSandbox();
    const result = await runLegacy(host, sandbox, ['--check-only'], { PBK_COMMAND_TIMEOUT: '1' });
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(String(result.stdout)).toContain('pve1');
    expect(await survivors(sleeper)).toEqual([]);
  });

  it('ts: detection reads the output and goes on; the daemon is ended', async () => {
    const { host, sleeper } = daemonHost();
    const sandbox = makeSandbox();
    const result = await execa(join(REPO, 'bin', 'switch-mode'), ['run-backup', '--check-only', '--flag', 'orchestrator=ts', '--flag', 'backup=ts'], {
      env: hostEnv(host, sandbox, { PBK_COMMAND_TIMEOUT: '1' }), extendEnv: false, reject: false, timeout: 90_000,
    });
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(String(result.stdout)).toContain('pve1');
    expect(await survivors(sleeper)).toEqual([]);
  });
});
