// Usage: node dist/native/tools/bench.js            (make bench)
// Summary: The backup domain (collect → archive → verify), bash vs ts, on pve-cluster with realistic command
// latencies and on the generated `big` host (and a tenth of it, to show memory does not follow host size): wall
// time and peak RSS of each, and the ts/bash ratios.
//
// Both sides run the same three stages on a run directory prepared by one legacy `--check-only` run (its
// context and detection state), each as one process tree measured by GNU time (%e wall, %M the largest RSS of
// any process in the tree: bash's tar/zstd children, node and its libraries' threads). Environment knobs:
// BENCH_RUNS (default 3; the median is shown), BENCH_BIG_RUNS (default 1, for big and big-tenth), BENCH_TMP
// (default /dev/shm), BENCH_BIG_DIR (default .bench/big, made by parity/hosts/make-big when missing),
// BENCH_HOSTS (default "pve-cluster-latency big-tenth big"), BENCH_COMPRESSION (default zstd:3).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, appendFileSync, chmodSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeDirectory } from '../cli/environment.js';
import { formatEnvLine, parseEnvFile } from '../core/state-env.js';
import { benchSecurity } from './bench-security.js';

const REPO = codeDirectory();
const HOSTS = join(REPO, 'parity', 'hosts');
const BENCH = join(REPO, '.bench');

/**
 * Seconds a real node takes to answer (perl start-up plus the API round trip of pvesh/pveum/pvesm, measured on
 * PVE 8 nodes: 0.3-0.8 s); system tools answer in a few milliseconds.
 */
const LATENCY: Readonly<Record<string, number>> = {
  pvesh: 0.6, pveum: 0.4, pvesm: 0.5, pvecm: 0.4, pveversion: 0.3, ceph: 0.3, 'proxmox-backup-manager': 0.3,
};

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** pve-cluster with a .delay beside every recorded output (stubs linked by absolute path). */
function latencyHost(): string {
  const dir = join(BENCH, 'pve-cluster-latency');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'bin'), { recursive: true });
  for (const part of ['root', 'outputs']) cpSync(join(HOSTS, 'pve-cluster', part), join(dir, part), { recursive: true, verbatimSymlinks: true });
  for (const file of ['host.json', 'modes.txt', 'dirs.txt']) copyFileSync(join(HOSTS, 'pve-cluster', file), join(dir, file));
  for (const stub of readdirSync(join(HOSTS, 'pve-cluster', 'bin'))) symlinkSync(join(HOSTS, '_stub', 'stub'), join(dir, 'bin', stub));
  for (const command of readdirSync(join(dir, 'outputs'))) {
    const seconds = LATENCY[command] ?? 0.02;
    for (const key of readdirSync(join(dir, 'outputs', command))) {
      if (/\.(err|rc|delay)$/.test(key)) continue;
      writeFileSync(join(dir, 'outputs', command, `${key}.delay`), `${seconds}\n`);
    }
  }
  execFileSync(join(HOSTS, 'prepare'), [dir], { stdio: 'inherit' });
  return dir;
}

/** The generated hosts: `big` (100k files, 1 GiB) and `big-tenth` (10k files, 128 MiB), made once. */
function bigHost(name: 'big' | 'big-tenth'): string {
  const dir = name === 'big' ? process.env.BENCH_BIG_DIR ?? join(BENCH, 'big') : join(BENCH, name);
  if (!existsSync(join(dir, 'root'))) {
    log(`generating the ${name} host in ${dir} (once)`);
    const size = name === 'big' ? {} : { BIG_FILES: '10000', BIG_MIB: '128' };
    execFileSync(join(HOSTS, 'make-big'), [dir], { stdio: 'inherit', env: { ...process.env, ...size } });
  }
  return dir;
}

interface Sandbox { readonly base: string; readonly env: Record<string, string>; readonly runDir: string }

/** A BASE_DIR with backup.env, and the run directory of one legacy --check-only run on HOST. */
function prepare(host: string, compression: string): Sandbox {
  // Staging and archives on a tmpfs (as /tmp is on Debian 13): the figures measure the implementations, not
  // how fast this machine's disk absorbs 2 GiB of writes (on a VM disk that varied tenfold between runs).
  const scratch = process.env.BENCH_TMP ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const base = mkdtempSync(join(scratch, 'pbk-bench-'));
  for (const dir of ['env', 'tmp']) mkdirSync(join(base, dir));
  const [type = 'zstd', level = '3'] = compression.split(':');
  writeFileSync(join(base, 'env', 'backup.env'), [
    `LOCAL_BACKUP_PATH="${base}/backup"`, `LOCAL_LOG_PATH="${base}/log"`, 'PROMETHEUS_ENABLED="false"',
    `COMPRESSION_TYPE="${type}"`, 'COMPRESSION_MODE="standard"', `COMPRESSION_LEVEL="${level}"`, '',
  ].join('\n'), { mode: 0o600 });
  const env: Record<string, string> = {
    PATH: `${join(host, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`, SYSTEM_ROOT_PREFIX: join(host, 'root'), BASE_DIR: base,
    TZ: 'UTC', LC_ALL: 'C.UTF-8', TMPDIR: join(base, 'tmp'), PBK_COMMAND_TIMEOUT: '60', HOME: process.env.HOME ?? '/root',
  };
  const result = spawnSync(join(REPO, 'legacy', 'bin', 'proxmox-backup'), ['--check-only'], { env: { ...env, PBK_KEEP_RUN_DIR: '1' }, encoding: 'utf8' });
  const match = /Run directory kept \(PBK_KEEP_RUN_DIR=1\): (.+)/.exec(result.stderr);
  if (match?.[1] === undefined) throw new Error(`legacy --check-only kept no run directory:\n${result.stdout}${result.stderr}`);
  return { base, env, runDir: match[1] };
}

/** A fresh run directory from the prepared one: same context and state, a real (not check-only) run. */
function stageDir(sandbox: Sandbox): string {
  const dir = mkdtempSync(join(sandbox.env.TMPDIR ?? tmpdir(), 'proxmox-backup-run.'));
  chmodSync(dir, 0o700);
  copyFileSync(join(sandbox.runDir, 'context.env'), join(dir, 'context.env'));
  copyFileSync(join(sandbox.runDir, 'state.env'), join(dir, 'state.env'));
  writeFileSync(join(dir, 'run.log'), '', { mode: 0o600 });
  appendFileSync(join(dir, 'context.env'), [['CHECK_ONLY', 'false'], ['DRY_RUN', 'false'], ['RUN_DIR', dir], ['LOG_FILE', '']]
    .map(([k, v]) => formatEnvLine(k ?? '', v ?? '')).join(''));
  return dir;
}

interface Measure { readonly wall: number; readonly rssKiB: number; readonly status: number; readonly entries: string }

function measure(argv: string[], sandbox: Sandbox, dir: string): Measure {
  const timeFile = join(dir, 'time.out');
  const result = spawnSync('/usr/bin/time', ['-f', '%e %M', '-o', timeFile, ...argv], { env: sandbox.env, encoding: 'utf8' });
  const [wall = 'NaN', rss = 'NaN'] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()?.split(' ') ?? [];
  const state = parseEnvFile(readFileSync(join(dir, 'state.env'), 'utf8'));
  if ((result.status ?? 2) >= 2) log(`  stage run ended ${result.status ?? 'by signal'}:\n${readFileSync(join(dir, 'run.log'), 'utf8').split('\n').filter((l) => l.includes('[ERROR]')).join('\n')}`);
  return { wall: Number(wall), rssKiB: Number(rss), status: result.status ?? 2, entries: state.get('STAGED_ENTRIES') ?? '?' };
}

const BASH_STAGES = 'for s in backup_collect backup_archive backup_verify; do st=0; "$0/shims/$s" "$1" || st=$?; [ "$st" -lt 2 ] || exit "$st"; done';

function runOnce(impl: 'bash' | 'ts', sandbox: Sandbox): Measure {
  const dir = stageDir(sandbox);
  try {
    const argv = impl === 'bash'
      ? ['bash', '-c', BASH_STAGES, REPO, dir]
      : [process.execPath, join(REPO, 'dist', 'native', 'tools', 'run-stages.js'), dir, 'backup_collect', 'backup_archive', 'backup_verify'];
    return measure(argv, sandbox, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(sandbox.base, 'backup'), { recursive: true, force: true });
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

function main(): void {
  const runs = Number(process.env.BENCH_RUNS ?? '3');
  const compression = process.env.BENCH_COMPRESSION ?? 'zstd:3';
  const hosts = (process.env.BENCH_HOSTS ?? 'pve-cluster-latency big-tenth big').split(/\s+/).filter((h) => h !== '');
  mkdirSync(BENCH, { recursive: true });
  const rows: string[] = [];
  const rssOf: Record<string, number> = {};
  for (const name of hosts) {
    const host = name === 'big' || name === 'big-tenth' ? bigHost(name) : name === 'pve-cluster-latency' ? latencyHost() : join(HOSTS, name);
    const sandbox = prepare(host, compression);
    const results: Record<string, Measure[]> = { bash: [], ts: [] };
    const hostRuns = name.startsWith('big') ? Number(process.env.BENCH_BIG_RUNS ?? '1') : runs;
    try {
      for (let i = 0; i < hostRuns; i += 1) {
        for (const impl of ['bash', 'ts'] as const) {
          const m = runOnce(impl, sandbox);
          log(`${name} ${impl} run ${i + 1}/${hostRuns}: ${m.wall.toFixed(2)} s, ${(m.rssKiB / 1024).toFixed(0)} MiB, exit ${m.status}, ${m.entries} entries`);
          results[impl]?.push(m);
        }
      }
    } finally {
      rmSync(sandbox.base, { recursive: true, force: true });
    }
    const wall = (impl: string): number => median((results[impl] ?? []).map((m) => m.wall));
    const rss = (impl: string): number => median((results[impl] ?? []).map((m) => m.rssKiB)) / 1024;
    rssOf[name] = rss('ts');
    rows.push([name.padEnd(20), wall('bash').toFixed(2).padStart(8), wall('ts').toFixed(2).padStart(8), (wall('ts') / wall('bash')).toFixed(2).padStart(8),
      rss('bash').toFixed(0).padStart(9), rss('ts').toFixed(0).padStart(9), (rss('ts') / rss('bash')).toFixed(2).padStart(8)].join(' '));
  }
  const header = `${'host'.padEnd(20)} ${'bash s'.padStart(8)} ${'ts s'.padStart(8)} ${'ts/bash'.padStart(8)} ${'bash MiB'.padStart(9)} ${'ts MiB'.padStart(9)} ${'ts/bash'.padStart(8)}`;
  process.stdout.write(`\nbackup domain (collect → archive → verify), ${compression}, median of ${runs} (big: ${process.env.BENCH_BIG_RUNS ?? '1'}); wall time and peak RSS\n${header}\n${rows.join('\n')}\n`);
  if (rssOf.big !== undefined && rssOf['big-tenth'] !== undefined) {
    process.stdout.write(`ts peak RSS, big / big-tenth: ${(rssOf.big / rssOf['big-tenth']).toFixed(2)} (10x the files and 8x the bytes)\n`);
  }
}


main();
// The security gate on an installed copy (issue 19): native/tools/bench-security.ts.
process.stdout.write(benchSecurity(REPO, (line) => process.stderr.write(`${line}\n`)));
