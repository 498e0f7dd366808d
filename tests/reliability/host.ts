// Throwaway copies of fixture hosts with hostile commands swapped in (tests only).
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { HOSTS_DIR } from '../legacy/run.js';

/** A dereferenced copy of fixture host NAME (its stubs become plain files) that a test may change. */
export function copyHost(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbk-host-'));
  execaSync('cp', ['-a', '--', join(HOSTS_DIR, name), join(dir, name)]);
  rmSync(join(dir, name, 'bin'), { recursive: true });
  execaSync('cp', ['-rL', '--preserve=mode,timestamps', '--', join(HOSTS_DIR, name, 'bin'), join(dir, name, 'bin')]);
  return join(dir, name);
}

/** Replaces command NAME of HOST by a bash script that starts a grandchild sleeper (a copy of sleep under a
 * unique path, so the test finds survivors of its own alone) and waits for it. Returns the sleeper's path. */
export function hangingCommand(host: string, name: string): string {
  const sleeper = join(host, 'bin', `pbk-sleeper-${process.pid}-${Date.now()}`);
  copyFileSync('/bin/sleep', sleeper);
  chmodSync(sleeper, 0o755);
  const script = join(host, 'bin', name);
  rmSync(script, { force: true });
  writeFileSync(script, `#!/bin/bash\n'${sleeper}' 1000\necho done\n`, { mode: 0o755 });
  return sleeper;
}

/** Wraps command NAME of HOST: it starts a sleeper in the background (holding stdout and stderr), then runs
 * the recorded stub as before. Returns the sleeper's path. */
export function daemonizingCommand(host: string, name: string): string {
  const sleeper = join(host, 'bin', `pbk-sleeper-${process.pid}-${Date.now()}`);
  copyFileSync('/bin/sleep', sleeper);
  chmodSync(sleeper, 0o755);
  mkdirSync(join(host, 'orig-bin'), { recursive: true });
  const script = join(host, 'bin', name);
  renameSync(script, join(host, 'orig-bin', name));   // the stub finds the host as its directory's parent
  writeFileSync(script, `#!/bin/bash\n'${sleeper}' 1000 &\nexec '${join(host, 'orig-bin', name)}' "$@"\n`, { mode: 0o755 });
  return sleeper;
}

/** PIDs of live processes whose executable is PATH. */
export function processesOf(path: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const exe = readlinkSync(`/proc/${entry}/exe`);
      const state = /\) (\S)/.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'))?.[1];
      if (exe === path && state !== 'Z') found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}
