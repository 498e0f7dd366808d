// The security gate on an installed node (issue 19), for `make bench`: the repository copied with its
// node_modules (as a new user installs it), the manifest recorded, then wall time of
//   - `tar -cf /dev/null` of the installation (the yardstick: one read of the tree),
//   - the gate stage alone, each side one process: shims/security_gate RUN_DIR (bash) and
//     dist/native/tools/run-stages.js RUN_DIR security_gate (ts), basic and full mode,
//   - the ts gate's own time inside a run (run-stages --time: node's start and module loading excluded),
//   - the side tool `legacy/bin/security-check` (bash; it loads the configuration first).
// BENCH_SECURITY_RUNS (default 3; the median is shown), BENCH_SECURITY_DIR (default: a temp dir under TMPDIR).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEnvLine } from '../core/state-env.js';

const PARTS = ['bin', 'legacy', 'shims', 'native', 'dist', 'node_modules', 'VERSION', 'flags.json', 'package.json', 'package-lock.json'];

interface Install { readonly base: string; readonly entries: number }

function install(repo: string, parent: string): Install {
  const base = mkdtempSync(join(parent, 'pbk-bench-security-'));
  chmodSync(base, 0o755);
  for (const part of PARTS) {
    if (!existsSync(join(repo, part))) continue;
    const copied = spawnSync('cp', ['-a', '--', join(repo, part), join(base, part)], { stdio: 'inherit' });
    if (copied.status !== 0) throw new Error(`cannot copy ${part}`);
  }
  mkdirSync(join(base, 'env'), { mode: 0o700 });
  writeFileSync(join(base, 'env', 'backup.env'), `LOCAL_BACKUP_PATH="${base}/backup"\nLOCAL_LOG_PATH="${base}/log"\n`, { mode: 0o600 });
  for (const dir of ['backup', 'log']) mkdirSync(join(base, dir), { mode: 0o700 });
  const recorded = spawnSync(join(base, 'legacy', 'bin', 'security-check'), ['--update-hashes'], {
    env: { ...process.env, BASE_DIR: base, DISABLE_COLORS: 'true' }, stdio: 'ignore',
  });
  if (recorded.status !== 0) throw new Error(`security-check --update-hashes failed (${recorded.status ?? 'signal'})`);
  const count = spawnSync('find', [base], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { base, entries: count.stdout.split('\n').filter((l) => l !== '').length };
}

/** A 0700 run directory with the context the gate reads. */
function runDir(base: string, full: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbk-bench-run.'));
  chmodSync(dir, 0o700);
  const context: Record<string, string> = {
    BASE_DIR: base, CONFIG_FILE: join(base, 'env', 'backup.env'), RUN_DIR: dir, LOG_FILE: '', HOSTNAME: 'localhost',
    LOCAL_BACKUP_PATH: join(base, 'backup'), LOCAL_LOG_PATH: join(base, 'log'), FULL_SECURITY_CHECK: String(full),
    ABORT_ON_SECURITY_ISSUES: 'false', AUTO_UPDATE_HASHES: 'true', REMOVE_UNAUTHORIZED_FILES: 'false',
    CHECK_NETWORK_SECURITY: 'false', CHECK_FIREWALL: 'false', CHECK_OPEN_PORTS: 'false', SECURITY_ALLOWED_PORTS: '',
    DRY_RUN: 'false', CHECK_ONLY: 'false', DEBUG_LEVEL: 'standard', DISABLE_COLORS: 'true',
  };
  writeFileSync(join(dir, 'context.env'), Object.entries(context).map(([k, v]) => formatEnvLine(k, v)).join(''), { mode: 0o600 });
  writeFileSync(join(dir, 'state.env'), '', { mode: 0o600 });
  writeFileSync(join(dir, 'run.log'), '', { mode: 0o600 });
  return dir;
}

function timed(argv: string[], env: NodeJS.ProcessEnv = process.env): { seconds: number; status: number | null } {
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0] ?? '', argv.slice(1), { stdio: 'ignore', env });
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, status: result.status };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** Runs the bench and returns its report (a few lines). */
export function benchSecurity(repo: string, log: (line: string) => void = () => undefined): string {
  const runs = Number(process.env.BENCH_SECURITY_RUNS ?? '3');
  const parent = process.env.BENCH_SECURITY_DIR ?? tmpdir();
  const inst = install(repo, parent);
  const rows: [string, number][] = [];
  try {
    const measure = (name: string, once: () => { seconds: number; status: number | null }): void => {
      const seconds: number[] = [];
      for (let i = 0; i < runs; i += 1) {
        const m = once();
        log(`security ${name} run ${i + 1}/${runs}: ${m.seconds.toFixed(2)} s, exit ${m.status ?? 'signal'}`);
        seconds.push(m.seconds);
      }
      rows.push([name, median(seconds)]);
    };
    const stage = (side: 'bash' | 'ts', full: boolean) => (): { seconds: number; status: number | null } => {
      const dir = runDir(inst.base, full);
      try {
        return side === 'bash'
          ? timed([join(repo, 'shims', 'security_gate'), dir])
          : timed([process.execPath, join(repo, 'dist', 'native', 'tools', 'run-stages.js'), dir, 'security_gate']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    measure('tar -cf /dev/null', () => timed(['tar', '-cf', '/dev/null', '-C', inst.base, '.']));
    measure('gate basic, bash', stage('bash', false));
    measure('gate basic, ts', stage('ts', false));
    measure('gate full, bash', stage('bash', true));
    measure('gate full, ts', stage('ts', true));
    // The gate inside a run: node is already running there (ts) and the pipeline has sourced the libraries (bash),
    // so each side's share is the stage's own time, which run-stages --time and PBK_STAGE_TIME=1 print.
    const inRun = (side: 'bash' | 'ts', full: boolean) => (): { seconds: number; status: number | null } => {
      const dir = runDir(inst.base, full);
      const [file, ...args] = side === 'ts'
        ? [process.execPath, join(repo, 'dist', 'native', 'tools', 'run-stages.js'), '--time', dir, 'security_gate']
        : [join(repo, 'shims', 'security_gate'), dir];
      try {
        const result = spawnSync(file ?? '', args,
          { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PBK_STAGE_TIME: '1' } });
        const seconds = Number(/^security_gate: ([\d.]+) s$/m.exec(result.stderr)?.[1] ?? Number.NaN);
        return { seconds, status: result.status };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    measure('gate basic, ts, in a run', inRun('ts', false));
    measure('gate full, ts, in a run', inRun('ts', true));
    measure('gate basic, bash, in a run', inRun('bash', false));
    measure('gate full, bash, in a run', inRun('bash', true));
    const toolEnv = { ...process.env, BASE_DIR: inst.base, DISABLE_COLORS: 'true' };
    measure('security-check tool, bash', () => timed([join(inst.base, 'legacy', 'bin', 'security-check')], toolEnv));
    measure('security-check tool, ts', () => timed([process.execPath, join(repo, 'dist', 'native', 'cli', 'main.js'), 'security-check'], toolEnv));
    // tar -cf /dev/null reads no contents (GNU tar skips them); this reads every byte, as a backup of the tree would.
    measure('tar -c | cat (contents)', () => timed(['sh', '-c', 'tar -cf - -C "$1" . | cat > /dev/null', 'sh', inst.base]));
  } finally {
    rmSync(inst.base, { recursive: true, force: true });
  }
  const tar = rows[0]?.[1] ?? Number.NaN;
  const read = rows.find(([name]) => name.startsWith('tar -c |'))?.[1] ?? Number.NaN;
  const lines = rows.map(([name, s]) => `${name.padEnd(28)} ${s.toFixed(2).padStart(7)} ${(s / tar).toFixed(1).padStart(8)} ${(s / read).toFixed(1).padStart(10)}`);
  return `\nsecurity gate on an installed copy (${inst.entries} entries with node_modules), median of ${runs}\n`
    + `${'what'.padEnd(28)} ${'s'.padStart(7)} ${'x tar'.padStart(8)} ${'x tar|cat'.padStart(10)}\n${lines.join('\n')}\n`;
}

// `node dist/native/tools/bench-security.js [REPO]`: this part of `make bench` alone.
if (process.argv[1]?.endsWith('bench-security.js') === true) {
  const repo = process.argv[2] ?? join(import.meta.dirname, '..', '..', '..');
  process.stdout.write(benchSecurity(repo, (line) => process.stderr.write(`${line}\n`)));
}
