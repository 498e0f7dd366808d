// Usage: node dist/native/tools/bench.js [--quick] [--json FILE]      (make bench, make bench-quick)
// Summary: The backup domain, its archive phase, the storage phase and the restore tool, bash vs ts, beside the
// limits the machine allows (what `tar | zstd -T0`, `tar | xz -T0` and `tar | cat` take on the same staging tree;
// cp, rclone copyto and sha256sum of the same archive set; `zstd -dc | tar -x` of the restored archive): wall time
// and peak RSS of each side, as a table on stdout and as JSON (default .bench/bench.json). See BENCHMARKS.md.
//
// The report is a list of sections (SECTIONS below): each measures something and returns rows; adding one is a
// function and a line in that list. Every measured command is one process tree timed by GNU time (%e wall, %M
// the largest RSS of any process in the tree: bash's tar/zstd children, node and its libraries' threads).
//
// Sections: `full` runs a whole `bin/switch-mode run-backup`, every flag domain on bash vs every one on ts
// (`--flag D=V`, flags.json untouched), on pve-cluster with a real node's CLI latencies (LATENCY); `domain` runs collect → archive → verify on a run directory prepared by one legacy `--check-only`
// run (its context and detection state); `archive` collects once, then times the archive stage alone on that
// staging tree (bash, ts) and the limit pipelines on the same tree; `storage` times storage_check_tiers +
// storage_run with the three tiers (a 1 GiB archive set, a secondary directory, an rclone WebDAV server on loopback)
// beside cp + sync, rclone copyto and sha256sum of the same files; `restore` makes one archive of big-tenth (the
// native stages) and times `restore --archive A --all --to EMPTY`, bash vs ts, beside `zstd -dc | tar -x` of the
// same archive into an empty directory. --quick (under 3 minutes once the generated hosts exist): one run of the
// whole backup on pve-cluster with latencies (no `domain` host), the archive phase on 20k and 80k files with zstd, the storage phase with a 256 MiB
// archive, the restore of a pve-single archive.
// Environment knobs: BENCH_RUNS (default 3, quick 1; the median is shown; `full` interleaves bash and ts runs), BENCH_BIG_RUNS (default 1),
// BENCH_TMP (default /dev/shm), BENCH_BIG_DIR (default .bench/big, made by parity/hosts/make-big when missing),
// BENCH_HOSTS (domain hosts, default "pve-cluster-latency big-tenth big", quick none), BENCH_COMPRESSION (default zstd:3),
// BENCH_ARCHIVE_HOSTS (default "files-20k files-80k"), BENCH_ARCHIVE_COMPRESSIONS (default "zstd:3 xz:6", quick "zstd:3"),
// BENCH_STORAGE_MIB (the storage section's archive, default 1024, quick 256), BENCH_RESTORE_HOST (default
// big-tenth, quick pve-single), BENCH_RESTORE_COMPRESSION (default zstd:3), BENCH_NODE_ARGS (node options for
// the ts side, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, existsSync, openSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, appendFileSync, chmodSync, copyFileSync } from 'node:fs';
import { availableParallelism, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { codeDirectory } from '../cli/environment.js';
import { DOMAINS } from '../core/stage.js';
import { formatEnvLine, parseEnvFile } from '../core/state-env.js';
import { benchSecurity } from './bench-security.js';

const REPO = codeDirectory();
const HOSTS = join(REPO, 'parity', 'hosts');
const BENCH = join(REPO, '.bench');

/**
 * Seconds a real node takes to answer: estimates, not recordings (BENCHMARKS.md "Host latencies"). The Proxmox
 * CLIs are perl programs that load their module tree before doing anything (pveversion, qm and pct config:
 * 0.3-0.4 s) and the API ones then make a round trip through pveproxy/pmxcfs (pvesh 0.6-1.0 s, pvesm status with
 * its storage probes 0.5 s); the ceph CLI is python with a monitor round trip (0.5 s); apt and dpkg read their
 * databases (0.3 s); system tools answer in a few milliseconds.
 */
const LATENCY: Readonly<Record<string, number>> = {
  pvesh: 0.8, pveum: 0.4, pvesm: 0.5, pvecm: 0.4, pveversion: 0.4, qm: 0.3, pct: 0.3, ceph: 0.5,
  apt: 0.3, 'apt-get': 0.3, dpkg: 0.3, 'dpkg-query': 0.3, 'proxmox-backup-manager': 0.4, 'proxmox-backup-client': 0.4,
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

/** The generated hosts (parity/hosts/make-big), made once under .bench/: files and bulk MiB of each. */
const GENERATED: Readonly<Record<string, { readonly files: string; readonly mib: string }>> = {
  big: { files: '100000', mib: '1024' }, 'big-tenth': { files: '10000', mib: '128' },
  'files-20k': { files: '20000', mib: '64' }, 'files-80k': { files: '80000', mib: '64' },
};

function generatedHost(name: string): string {
  const size = GENERATED[name];
  if (size === undefined) throw new Error(`bench: unknown generated host ${name}`);
  const dir = name === 'big' ? process.env.BENCH_BIG_DIR ?? join(BENCH, 'big') : join(BENCH, name);
  if (!existsSync(join(dir, 'root'))) {
    log(`generating the ${name} host in ${dir} (once)`);
    execFileSync(join(HOSTS, 'make-big'), [dir], { stdio: 'inherit', env: { ...process.env, BIG_FILES: size.files, BIG_MIB: size.mib } });
  }
  return dir;
}

function hostDir(name: string): string {
  if (GENERATED[name] !== undefined) return generatedHost(name);
  return name === 'pve-cluster-latency' ? latencyHost() : join(HOSTS, name);
}

interface Sandbox { readonly base: string; readonly env: Record<string, string>; readonly runDir: string }

/** A BASE_DIR with backup.env, and the run directory of one legacy --check-only run on HOST. */
function prepare(host: string, compression: string, config: Readonly<Record<string, string>> = {}, extraEnv: Readonly<Record<string, string>> = {}): Sandbox {
  // Staging and archives on a tmpfs (as /tmp is on Debian 13): the figures measure the implementations, not
  // how fast this machine's disk absorbs 2 GiB of writes (on a VM disk that varied tenfold between runs).
  const scratch = process.env.BENCH_TMP ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const base = mkdtempSync(join(scratch, 'pbk-bench-'));
  for (const dir of ['env', 'tmp']) mkdirSync(join(base, dir));
  const [type = 'zstd', level = '6'] = compression.split(':');
  writeFileSync(join(base, 'env', 'backup.env'), [
    `LOCAL_BACKUP_PATH="${base}/backup"`, `LOCAL_LOG_PATH="${base}/log"`, 'PROMETHEUS_ENABLED="false"',
    `COMPRESSION_TYPE="${type}"`, 'COMPRESSION_MODE="standard"', `COMPRESSION_LEVEL="${level}"`,
    ...Object.entries(config).map(([key, value]) => `${key}="${value}"`), '',
  ].join('\n'), { mode: 0o600 });
  const env: Record<string, string> = {
    PATH: `${join(host, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`, SYSTEM_ROOT_PREFIX: join(host, 'root'), BASE_DIR: base,
    TZ: 'UTC', LC_ALL: 'C.UTF-8', TMPDIR: join(base, 'tmp'), PBK_COMMAND_TIMEOUT: '60', HOME: process.env.HOME ?? '/root', ...extraEnv,
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

interface Measure {
  readonly wall: number;
  readonly cpu: number;
  readonly rssKiB: number;
  readonly status: number;
  /** What `run-stages --time` printed for the last stage (its own wall seconds inside the process), if it did. */
  readonly stageSeconds?: number;
}

/** Wall seconds, CPU seconds (user + system, every thread) and peak RSS (KiB) of one process tree. */
function timed(argv: string[], env: Record<string, string>, timeFile: string, expectStatus = -1): Measure {
  const result = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', '-o', timeFile, ...argv], { env, encoding: 'utf8' });
  const [wall = 'NaN', rss = 'NaN', user = 'NaN', system = 'NaN'] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()?.split(' ') ?? [];
  if ((result.status ?? 2) >= 2 && result.status !== expectStatus) log(`  ${argv.slice(0, 3).join(' ')}… ended ${result.status ?? 'by signal'}: ${result.stderr.split('\n').slice(-3).join(' ')}`);
  const stage = [...result.stderr.matchAll(/^[a-z_]+: ([\d.]+) s$/gm)].pop()?.[1];
  return { wall: Number(wall), cpu: Number(user) + Number(system), rssKiB: Number(rss), status: result.status ?? 2, ...(stage === undefined ? {} : { stageSeconds: Number(stage) }) };
}

function stageErrors(dir: string): void {
  const errors = readFileSync(join(dir, 'run.log'), 'utf8').split('\n').filter((l) => l.includes('[ERROR]'));
  if (errors.length > 0) log(`  ${errors.join('\n  ')}`);
}

const BASH_STAGES = 'for s in "${@:2}"; do st=0; "$0/shims/$s" "$1" || st=$?; [ "$st" -lt 2 ] || exit "$st"; done';

/** The argv that runs STAGES on DIR with one implementation, as one process tree. */
function stagesArgv(impl: 'bash' | 'ts', dir: string, stages: readonly string[]): string[] {
  return impl === 'bash'
    ? ['bash', '-c', BASH_STAGES, REPO, dir, ...stages]
    : [process.execPath, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''), join(REPO, 'dist', 'native', 'tools', 'run-stages.js'), dir, ...stages];
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** One line of the report: a side's median wall time and peak RSS, and what it is compared with. */
export interface BenchRow {
  readonly section: string;
  readonly host: string;
  readonly compression: string;
  readonly side: string;
  readonly runs: number;
  readonly wallSeconds: number;
  /** User + system CPU seconds of the whole tree: the fairer figure when the machine is shared. */
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
  /** The side this one is compared with (bash, or a limit pipeline), and the ratio of wall times. */
  readonly versus?: string;
  readonly ratio?: number;
  readonly cpuRatio?: number;
  readonly entries?: string;
  /** Storage: the floor this side is also compared with, and the ratios of wall and CPU times to it. */
  readonly limit?: string;
  readonly limitRatio?: number;
  readonly limitCpuRatio?: number;
}

export interface BenchOptions { readonly quick: boolean; readonly runs: number }

/** A section of the report: measures something and returns its rows. */
export interface BenchSection {
  readonly name: string;
  readonly title: string;
  run(options: BenchOptions): BenchRow[];
}

function row(section: string, host: string, compression: string, side: string, measures: Measure[], extra: Partial<BenchRow> = {}): BenchRow {
  return {
    section, host, compression, side, runs: measures.length,
    wallSeconds: median(measures.map((m) => m.wall)), cpuSeconds: Number(median(measures.map((m) => m.cpu)).toFixed(2)), peakRssMiB: Math.round(median(measures.map((m) => m.rssKiB)) / 1024), ...extra,
  };
}

function compare(rows: BenchRow[], side: string, versus: string): BenchRow[] {
  const base = rows.find((r) => r.side === versus);
  return rows.map((r) => (r.side === side && base !== undefined
    ? { ...r, versus, ratio: Number((r.wallSeconds / base.wallSeconds).toFixed(2)), cpuRatio: Number((r.cpuSeconds / base.cpuSeconds).toFixed(2)) }
    : r));
}

/** The backup domain (collect → archive → verify), bash vs ts. */
const domainSection: BenchSection = {
  name: 'domain',
  title: 'backup domain (collect → archive → verify), bash vs ts',
  run({ quick, runs }) {
    const compression = process.env.BENCH_COMPRESSION ?? 'zstd:3';
    // --quick: none (the `full` section runs the whole backup on the latency host).
    const hosts = (process.env.BENCH_HOSTS ?? (quick ? '' : 'pve-cluster-latency big-tenth big')).split(/\s+/).filter((h) => h !== '');
    const rows: BenchRow[] = [];
    for (const name of hosts) {
      const sandbox = prepare(hostDir(name), compression);
      const results: Record<'bash' | 'ts', Measure[]> = { bash: [], ts: [] };
      let entries = '?';
      const hostRuns = name.startsWith('big') ? Number(process.env.BENCH_BIG_RUNS ?? '1') : runs;
      try {
        for (let i = 0; i < hostRuns; i += 1) {
          for (const impl of ['bash', 'ts'] as const) {
            const dir = stageDir(sandbox);
            try {
              const m = timed(stagesArgv(impl, dir, ['backup_collect', 'backup_archive', 'backup_verify']), sandbox.env, join(dir, 'time.out'));
              if (m.status >= 2) stageErrors(dir);
              entries = parseEnvFile(readFileSync(join(dir, 'state.env'), 'utf8')).get('STAGED_ENTRIES') ?? '?';
              log(`domain ${name} ${impl} run ${i + 1}/${hostRuns}: ${m.wall.toFixed(2)} s (cpu ${m.cpu.toFixed(2)} s), ${(m.rssKiB / 1024).toFixed(0)} MiB, exit ${m.status}, ${entries} entries`);
              results[impl].push(m);
            } finally {
              rmSync(dir, { recursive: true, force: true });
              rmSync(join(sandbox.base, 'backup'), { recursive: true, force: true });
            }
          }
        }
      } finally {
        rmSync(sandbox.base, { recursive: true, force: true });
      }
      rows.push(...compare([row('domain', name, compression, 'bash', results.bash, { entries }),
        row('domain', name, compression, 'ts', results.ts, { entries })], 'ts', 'bash'));
    }
    return rows;
  },
};

/** Every flag domain on one side: the command-line flags of a whole run (flags.json stays as it is). */
function allFlags(impl: 'bash' | 'ts'): string[] {
  return DOMAINS.flatMap((domain) => ['--flag', `${domain}=${impl}`]);
}

/** The last line of a run's log file that matches PATTERN (what the run says it collected), or ''. */
function logLine(dir: string, pattern: RegExp): string {
  if (!existsSync(dir)) return '';
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.log')).sort().reverse()) {
    const line = readFileSync(join(dir, file), 'utf8').split('\n').reverse().find((l) => pattern.test(l));
    if (line !== undefined) return line.replace(/^.*?\] /, '');
  }
  return '';
}

/**
 * A whole `run-backup` (every phase: detection, security gate, collection, archive, verification, storage,
 * notifications, metrics) through bin/switch-mode, every domain on bash vs every domain on ts, on the host
 * whose stubs answer with a real node's latencies: the end-to-end figure (ts ≤ 0.30 of bash).
 */
const fullSection: BenchSection = {
  name: 'full',
  title: 'run-backup end to end, every domain bash vs every domain ts, host with real CLI latencies',
  run({ runs }) {
    const compression = process.env.BENCH_COMPRESSION ?? 'zstd:3';
    const name = 'pve-cluster-latency';
    const sandbox = prepare(hostDir(name), compression);
    const results: Record<'bash' | 'ts', Measure[]> = { bash: [], ts: [] };
    const collected: Record<string, string> = {};
    try {
      for (let i = 0; i < runs; i += 1) {
        for (const impl of ['bash', 'ts'] as const) {
          const argv = [join(REPO, 'bin', 'switch-mode'), 'run-backup', ...allFlags(impl)];
          const m = timed(argv, sandbox.env, join(sandbox.base, 'time.out'));
          const said = logLine(join(sandbox.base, 'log'), /Collection finished/);
          collected[impl] = said;
          log(`full ${name} ${impl} run ${i + 1}/${runs}: ${m.wall.toFixed(2)} s (cpu ${m.cpu.toFixed(2)} s), ${(m.rssKiB / 1024).toFixed(0)} MiB, exit ${m.status}; ${said}`);
          results[impl].push(m);
          for (const dir of ['backup', 'log']) rmSync(join(sandbox.base, dir), { recursive: true, force: true });
        }
      }
    } finally {
      rmSync(sandbox.base, { recursive: true, force: true });
    }
    if (collected.bash !== collected.ts) log(`  the two sides collected differently: bash "${collected.bash ?? ''}", ts "${collected.ts ?? ''}"`);
    return compare([row('full', name, compression, 'bash', results.bash), row('full', name, compression, 'ts', results.ts)], 'ts', 'bash');
  },
};

/** What the machine allows on a staging tree: tar (GNU, sorted, pax) into each compressor CLI, or into cat. */
const LIMITS: Readonly<Record<string, (level: string) => string>> = {
  zstd: (level) => `zstd -${level} -T0 -q -c`,
  xz: (level) => `xz -${level} -T0 -c`,
};

function limitArgv(pipe: string, staging: string, out: string): string[] {
  return ['bash', '-c', `set -o pipefail; tar --sort=name --format=pax --numeric-owner -cf - -C "$0" . | ${pipe} > "$1"`, staging, out];
}

/** The archive phase alone on one staging tree: bash, ts and the limits. */
const archiveSection: BenchSection = {
  name: 'archive',
  title: 'archive phase alone on one staging tree, bash and ts beside the limits (tar | compressor CLI)',
  run({ quick, runs }) {
    const hosts = (process.env.BENCH_ARCHIVE_HOSTS ?? 'files-20k files-80k').split(/\s+/).filter((h) => h !== '');
    // --quick: zstd only (xz's sides and its collection took ≈30 s of a 210 s quick run at load 5-7).
    const compressions = (process.env.BENCH_ARCHIVE_COMPRESSIONS ?? (quick ? 'zstd:3' : 'zstd:3 xz:6')).split(/\s+/).filter((c) => c !== '');
    const rows: BenchRow[] = [];
    for (const name of hosts) {
      const host = hostDir(name);
      for (const compression of compressions) {
        // xz is slow on purpose (it is the small-archive choice): measured on the first host only.
        if (compression.startsWith('xz') && name !== hosts[0]) continue;
        const [type = 'zstd', level = '6'] = compression.split(':');
        const sandbox = prepare(host, compression);
        const dir = stageDir(sandbox);
        try {
          const collect = timed(stagesArgv('ts', dir, ['backup_collect']), sandbox.env, join(dir, 'time.out'));
          if (collect.status >= 2) stageErrors(dir);
          const entries = parseEnvFile(readFileSync(join(dir, 'state.env'), 'utf8')).get('STAGED_ENTRIES') ?? '?';
          const staging = join(dir, 'staging');
          const out = join(sandbox.base, 'limit.out');
          const sides: Record<string, () => string[]> = {
            bash: () => stagesArgv('bash', dir, ['backup_archive']),
            // --time (first): the stage's own time on stderr as well.
            ts: () => stagesArgv('ts', '--time', [dir, 'backup_archive']),
            [`tar | ${type} -T0`]: () => limitArgv(LIMITS[type]?.(level) ?? 'cat', staging, out),
            'tar | cat': () => limitArgv('cat', staging, out),
            // node's start and the modules run-stages loads (every domain's), on no stage: usage, exit 64.
            'node start': () => stagesArgv('ts', dir, []),
          };
          const results: Record<string, Measure[]> = {};
          for (let i = 0; i < runs; i += 1) {
            for (const [side, argv] of Object.entries(sides)) {
              const m = timed(argv(), sandbox.env, join(sandbox.base, 'time.out'), side === 'node start' ? 64 : -1);
              if (m.status >= 2 && (side === 'bash' || side === 'ts')) stageErrors(dir);
              log(`archive ${name} ${compression} ${side} run ${i + 1}/${runs}: ${m.wall.toFixed(2)} s (cpu ${m.cpu.toFixed(2)} s), ${(m.rssKiB / 1024).toFixed(0)} MiB, exit ${m.status}`);
              (results[side] ??= []).push(m);
              rmSync(join(sandbox.base, 'backup'), { recursive: true, force: true });
              rmSync(out, { force: true });
            }
          }
          const limit = `tar | ${type} -T0`;
          let sideRows = Object.entries(results).map(([side, measures]) => row('archive', name, compression, side, measures, { entries }));
          // The phase inside a run, where node is already up: the stage's own wall time (run-stages --time), and
          // the tree's CPU less node's start (each run's ts CPU less the median start, then the median).
          const start = median((results['node start'] ?? []).map((m) => m.cpu));
          const inRun = (results.ts ?? []).map((m) => ({ ...m, wall: m.stageSeconds ?? Number.NaN, cpu: m.cpu - start }));
          sideRows.splice(2, 0, row('archive', name, compression, 'ts, in a run', inRun, { entries }));
          sideRows = compare(compare(compare(sideRows, 'ts', limit), 'ts, in a run', limit), 'bash', limit);
          rows.push(...sideRows);
        } finally {
          rmSync(dir, { recursive: true, force: true });
          rmSync(sandbox.base, { recursive: true, force: true });
        }
      }
    }
    return rows;
  },
};

/** `rclone serve webdav DIR` on a free loopback port, its stderr in LOG; the URL it serves once it says so. */
function serveWebDav(dir: string, logFile: string): { readonly url: string; readonly server: ChildProcess } {
  mkdirSync(dir, { recursive: true });
  const fd = openSync(logFile, 'w');
  const server = spawn('rclone', ['serve', 'webdav', dir, '--addr', '127.0.0.1:0', '--config', '/dev/null'], { stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < 20_000; waited += 50) {
    const match = /started on (?:\[)?(http:\/\/127\.0\.0\.1:\d+\/)/.exec(readFileSync(logFile, 'utf8'));
    if (match?.[1] !== undefined) return { url: match[1], server };
    Atomics.wait(pause, 0, 0, 50);
  }
  server.kill('SIGTERM');
  throw new Error(`rclone serve webdav did not start: ${readFileSync(logFile, 'utf8')}`);
}

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD_HH-MM-SS` of a date, as archive names carry it. */
function stamp(date: Date): string {
  return date.toISOString().replace('T', '_').replace(/:/g, '-').slice(0, 19);
}

/** SEEDED older sets of this host (a few bytes each, verified) in DIR: retention has work in every tier. */
function seedHistory(dir: string, prefix: string, newest: Date, seeded: number): void {
  mkdirSync(dir, { recursive: true });
  for (let day = 1; day <= seeded; day += 1) {
    const name = `${prefix}${stamp(new Date(newest.getTime() - day * DAY_MS))}.tar.zst`;
    const body = `old set ${day}\n`;
    writeFileSync(join(dir, name), body, { mode: 0o600 });
    writeFileSync(join(dir, `${name}.sha256`), `${createHash('sha256').update(body).digest('hex')}  ${name}\n`, { mode: 0o640 });
    writeFileSync(join(dir, `${name}.metadata`), `TIMESTAMP=${stamp(newest)}\n`, { mode: 0o640 });
  }
}

/**
 * The storage phase (storage_check_tiers + storage_run) with all three tiers: the archive set in the primary
 * directory, the secondary tier a local directory, the cloud tier an rclone WebDAV server on loopback (the remote
 * the storage tests use; it has no SHA-256, so the cloud is verified by size as on most WebDAV and S3-like
 * remotes). Beside it the limits: `cp` + `sync` of the three files, `rclone copyto` of them to the same remote,
 * `sha256sum` of the archive, and their serial sum (one copy, one upload, two hashes: what both sides must do).
 */
const storageSection: BenchSection = {
  name: 'storage',
  title: 'storage phase (check tiers + run: secondary dir, cloud on rclone serve webdav), bash vs ts beside the limits',
  run({ quick, runs }) {
    const mib = Number(process.env.BENCH_STORAGE_MIB ?? (quick ? '256' : '1024'));
    const seeded = 9;
    const keep = 7;
    const scratch = process.env.BENCH_TMP ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
    const served = mkdtempSync(join(scratch, 'pbk-bench-webdav-'));
    const rcloneConfig = join(served, 'rclone.conf');
    let server: ChildProcess | undefined;
    /** A new server for each measured run: its directory changed only while no server caches a listing of it. */
    const serve = (): void => {
      server?.kill('SIGTERM');
      const started = serveWebDav(join(served, 'cloud'), join(served, 'serve.log'));
      server = started.server;
      writeFileSync(rcloneConfig, `[cloud]\ntype = webdav\nurl = ${started.url}\nvendor = other\n`, { mode: 0o600 });
    };
    const rows: BenchRow[] = [];
    let sandbox: Sandbox | undefined;
    const limitSecondary = join(served, 'limit-secondary');
    try {
      serve();
      const secondary = join(served, 'secondary');
      const cloudDir = join(served, 'cloud', 'backup');
      sandbox = prepare(join(HOSTS, 'pve-single'), 'zstd:3', {
        ENABLE_SECONDARY_BACKUP: 'true', SECONDARY_BACKUP_PATH: secondary, SECONDARY_LOG_PATH: join(served, 'secondary-log'),
        ENABLE_CLOUD_BACKUP: 'true', RCLONE_REMOTE: 'cloud', CLOUD_BACKUP_PATH: '/backup', CLOUD_LOG_PATH: '/log',
        MAX_LOCAL_BACKUPS: String(keep), MAX_SECONDARY_BACKUPS: String(keep), MAX_CLOUD_BACKUPS: String(keep),
        // Each upload attempt is bounded by CLOUD_LIST_TIMEOUT + 5 s on both sides (default 15: a 1 GiB upload on a
        // loaded machine ran out of it, three attempts, 20 s of waits): raised so the bench times uploads, not kills.
        CLOUD_LIST_TIMEOUT: '600',
        // The default 10M bandwidth limit would make every upload of 1 GiB take 102 s on both sides: measured unthrottled.
        RCLONE_BANDWIDTH_LIMIT: '',
      }, { RCLONE_CONFIG: rcloneConfig });
      const box = sandbox;
      const context = parseEnvFile(readFileSync(join(box.runDir, 'context.env'), 'utf8'));
      const state = parseEnvFile(readFileSync(join(box.runDir, 'state.env'), 'utf8'));
      const get = (key: string): string => state.get(key) ?? context.get(key) ?? '';
      const prefix = `${get('PROXMOX_TYPE')}-backup-${get('HOSTNAME')}-`;
      const runTime = new Date(`${get('RUN_TIMESTAMP').replace('_', 'T').replace(/-(\d\d)-(\d\d)$/, ':$1:$2')}Z`);
      const name = `${prefix}${get('RUN_TIMESTAMP')}.tar.zst`;
      const primary = join(box.base, 'backup');
      const archive = join(primary, name);
      const bytes = mib * 1048576;
      // The archive: incompressible bytes, as a zstd archive is; made once, its sidecars as the archive stage writes them.
      mkdirSync(primary, { recursive: true, mode: 0o700 });
      log(`storage: writing a ${mib} MiB archive ${archive}`);
      execFileSync('bash', ['-c', 'head -c "$1" /dev/urandom > "$2" && chmod 0600 "$2"', 'bash', String(bytes), archive]);
      const hash = execFileSync('sha256sum', ['--', archive], { encoding: 'utf8' }).split(' ', 1)[0] ?? '';
      writeFileSync(`${archive}.sha256`, `${hash}  ${name}\n`, { mode: 0o640 });
      writeFileSync(`${archive}.metadata`, `TIMESTAMP=${get('RUN_TIMESTAMP')}\nSIZE=${bytes}\nSHA256=${hash}\n`, { mode: 0o640 });
      const files = [`${archive}.sha256`, `${archive}.metadata`, archive];
      /** Fresh tiers: secondary and cloud emptied, SEEDED older sets in each tier (the primary too), a new server. */
      const freshTiers = (): void => {
        server?.kill('SIGTERM');
        server = undefined;
        for (const dir of [secondary, join(served, 'cloud'), limitSecondary]) rmSync(dir, { recursive: true, force: true });
        for (const file of readdirSync(primary)) if (!files.includes(join(primary, file))) rmSync(join(primary, file));
        for (const dir of [primary, secondary, cloudDir]) seedHistory(dir, prefix, runTime, seeded);
        mkdirSync(limitSecondary);
        serve();
      };
      const stages = ['storage_check_tiers', 'storage_run'];
      const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
      const stateLines = [['BACKUP_FILE', archive], ['STATUS_ARCHIVE', '0'], ['STATUS_VERIFY', '0'], ['ARCHIVE_SIZE', String(bytes)]]
        .map(([k, v]) => formatEnvLine(k ?? '', v ?? '')).join('');
      /** Each side: its argv, and the run directory of a stage side. */
      const sides: Record<string, () => { readonly argv: string[]; readonly dir?: string }> = {
        bash: () => { const dir = stageDir(box); return { argv: stagesArgv('bash', dir, stages), dir }; },
        ts: () => { const dir = stageDir(box); return { argv: stagesArgv('ts', dir, stages), dir }; },
        'cp + sync': () => ({ argv: ['bash', '-c', 'cp -- "${@:2}" "$1"/ && cd "$1" && sync -- *', 'bash', limitSecondary, ...files] }),
        'rclone copyto': () => ({ argv: ['bash', '-c', 'for f in "$@"; do rclone copyto "$f" "cloud:/limit/${f##*/}" || exit 2; done', 'bash', ...files] }),
        sha256sum: () => ({ argv: ['sha256sum', '--', archive] }),
        // OpenSSL's SHA-256 (with the CPU's SHA extensions where it has them), which node's crypto uses too.
        ...(hasOpenssl ? { 'openssl sha256': () => ({ argv: ['openssl', 'dgst', '-sha256', archive] }) } : {}),
      };
      const results: Record<string, Measure[]> = {};
      for (let i = 0; i < runs; i += 1) {
        for (const [side, make] of Object.entries(sides)) {
          freshTiers();
          const { argv, dir } = make();
          if (dir !== undefined) appendFileSync(join(dir, 'state.env'), stateLines);
          const m = timed(argv, box.env, join(box.base, 'time.out'));
          let outcome = '';
          if (dir !== undefined) {
            const after = parseEnvFile(readFileSync(join(dir, 'state.env'), 'utf8'));
            outcome = `, secondary ${after.get('STATUS_SECONDARY') ?? '?'}, cloud ${after.get('STATUS_CLOUD') ?? '?'}, ${after.get('CLOUD_BACKUPS_DELETED') ?? '?'} deleted in the cloud`;
            if (m.status !== 0) log(readFileSync(join(dir, 'run.log'), 'utf8').split('\n').filter((l) => /WARNING|ERROR/.test(l)).join('\n'));
            rmSync(dir, { recursive: true, force: true });
          }
          log(`storage ${mib} MiB ${side} run ${i + 1}/${runs}: ${m.wall.toFixed(2)} s (cpu ${m.cpu.toFixed(2)} s), ${(m.rssKiB / 1024).toFixed(0)} MiB, exit ${m.status}${outcome}`);
          (results[side] ??= []).push(m);
        }
      }
      const host = `pve-single ${mib} MiB`;
      const sideRows = Object.entries(results).map(([side, measures]) => row('storage', host, 'zstd', side, measures));
      // The serial floor: one copy, one upload, two hashes of the archive (the copy check and the consistency
      // check), each by the faster of sha256sum and openssl.
      const part = (side: string): BenchRow | undefined => sideRows.find((r) => r.side === side);
      const hashes = [part('sha256sum'), part('openssl sha256')].filter((r) => r !== undefined).sort((a, b) => a.wallSeconds - b.wallSeconds);
      const parts = [part('cp + sync'), part('rclone copyto'), hashes[0], hashes[0]];
      const floor: BenchRow = {
        section: 'storage', host, compression: 'zstd', side: 'limits, serial', runs,
        wallSeconds: Number(parts.reduce((sum, r) => sum + (r?.wallSeconds ?? NaN), 0).toFixed(2)),
        cpuSeconds: Number(parts.reduce((sum, r) => sum + (r?.cpuSeconds ?? NaN), 0).toFixed(2)),
        peakRssMiB: Math.max(...parts.map((r) => r?.peakRssMiB ?? 0)),
      };
      rows.push(...compare([...sideRows, floor], 'ts', 'bash').map((r) => (r.side === 'bash' || r.side === 'ts'
        ? { ...r, limit: floor.side, limitRatio: Number((r.wallSeconds / floor.wallSeconds).toFixed(2)), limitCpuRatio: Number((r.cpuSeconds / floor.cpuSeconds).toFixed(2)) }
        : r)));
    } finally {
      server?.kill('SIGTERM');
      if (sandbox !== undefined) rmSync(sandbox.base, { recursive: true, force: true });
      rmSync(served, { recursive: true, force: true });
    }
    return rows;
  },
};

/** The command that writes the tar stream of a COMPRESSION archive on stdout (verify_decompress_argv, stream.ts). */
const DECOMPRESS: Readonly<Record<string, string>> = {
  zstd: 'zstd -dc -q --long=27', xz: 'xz -dc', gzip: 'gzip -dc', bzip2: 'bzip2 -dc', lzma: 'xz --format=lzma -dc', none: 'cat',
};

/** The tree under DIR, one sorted line per entry: path, type, mode, owner, size, mtime and link target. */
function treeListing(dir: string): string {
  return execFileSync('bash', ['-c', 'set -o pipefail; cd "$0" && find . -mindepth 1 -printf "%P\\t%y\\t%m\\t%U:%G\\t%s\\t%T@\\t%l\\n" | LC_ALL=C sort', dir],
    { encoding: 'utf8', maxBuffer: 1 << 28 });
}

/**
 * The restore tool (issue 20): one backup archive of HOST (the native stages, collect → archive → verify), then
 * `restore --archive A --all --to TARGET` into a fresh empty directory, bash (`legacy/bin/proxmox-restore
 * restore`) vs ts (`dist/native/cli/main.js restore`), with the environment the restore parity test uses; beside
 * it the limit, the archive's decompressor into `tar -x` in an empty directory. The first run of each side also
 * compares the restored trees (type, mode, owner, size, mtime, link).
 */
const restoreSection: BenchSection = {
  name: 'restore',
  title: 'restore --all of one backup archive into an empty directory, bash vs ts beside the limit (decompressor | tar -x)',
  run({ quick, runs }) {
    const name = process.env.BENCH_RESTORE_HOST ?? (quick ? 'pve-single' : 'big-tenth');
    const compression = process.env.BENCH_RESTORE_COMPRESSION ?? 'zstd:3';
    const type = compression.split(':')[0] ?? 'zstd';
    const hostRuns = quick ? 1 : runs;
    const sandbox = prepare(hostDir(name), compression);
    const rows: BenchRow[] = [];
    try {
      const made = stageDir(sandbox);
      let archive = '';
      let entries = '?';
      try {
        const m = timed(stagesArgv('ts', made, ['backup_collect', 'backup_archive', 'backup_verify']), sandbox.env, join(made, 'time.out'));
        if (m.status >= 2) stageErrors(made);
        const state = parseEnvFile(readFileSync(join(made, 'state.env'), 'utf8'));
        archive = state.get('BACKUP_FILE') ?? '';
        entries = state.get('STAGED_ENTRIES') ?? '?';
        log(`restore ${name}: archive ${archive} (${entries} entries, made by the native stages in ${m.wall.toFixed(2)} s, exit ${m.status})`);
      } finally {
        rmSync(made, { recursive: true, force: true });
      }
      if (archive === '' || !existsSync(archive)) throw new Error(`bench: the backup of ${name} left no archive`);
      const target = join(sandbox.base, 'target');
      // The restore parity test's environment (tests/tools/restore-parity.test.ts): no host stubs, no system root.
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin', BASE_DIR: sandbox.base, TZ: 'UTC', LC_ALL: 'C.UTF-8',
        TMPDIR: join(sandbox.base, 'tmp'), HOME: process.env.HOME ?? '/root',
      };
      const args = ['restore', '--archive', archive, '--all', '--to', target];
      const limit = `${type} -dc | tar -x`;
      const sides: Record<string, () => string[]> = {
        bash: () => [join(REPO, 'legacy', 'bin', 'proxmox-restore'), ...args],
        ts: () => [process.execPath, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''), join(REPO, 'dist', 'native', 'cli', 'main.js'), ...args],
        [limit]: () => ['bash', '-c', `set -o pipefail; ${DECOMPRESS[type] ?? 'cat'} -- "$0" | tar --numeric-owner -xf - -C "$1"`, archive, target],
      };
      const results: Record<string, Measure[]> = {};
      const trees: Record<string, string> = {};
      for (let i = 0; i < hostRuns; i += 1) {
        for (const [side, argv] of Object.entries(sides)) {
          // A fresh empty target, no restore log or safety backup left by the run before.
          for (const dir of [target, join(sandbox.base, 'log'), join(sandbox.base, 'restore-safety')]) rmSync(dir, { recursive: true, force: true });
          mkdirSync(target);
          const m = timed(argv(), env, join(sandbox.base, 'time.out'));
          if (i === 0 && side !== limit) trees[side] = treeListing(target);
          log(`restore ${name} ${compression} ${side} run ${i + 1}/${hostRuns}: ${m.wall.toFixed(2)} s (cpu ${m.cpu.toFixed(2)} s), ${(m.rssKiB / 1024).toFixed(0)} MiB, exit ${m.status}`);
          (results[side] ??= []).push(m);
        }
      }
      if (trees.bash === trees.ts) log(`restore ${name}: the restored trees of bash and ts are identical`);
      else {
        for (const side of ['bash', 'ts']) writeFileSync(join(BENCH, `restore-${side}.tree`), trees[side] ?? '');
        log(`restore ${name}: the restored trees of bash and ts DIFFER: diff ${join(BENCH, 'restore-bash.tree')} ${join(BENCH, 'restore-ts.tree')}`);
      }
      const sideRows = compare(Object.entries(results).map(([side, measures]) => row('restore', name, compression, side, measures, { entries })), 'ts', 'bash');
      const floor = sideRows.find((r) => r.side === limit);
      rows.push(...sideRows.map((r) => (floor !== undefined && (r.side === 'bash' || r.side === 'ts')
        ? { ...r, limit, limitRatio: Number((r.wallSeconds / floor.wallSeconds).toFixed(2)), limitCpuRatio: Number((r.cpuSeconds / floor.cpuSeconds).toFixed(2)) }
        : r)));
    } finally {
      rmSync(sandbox.base, { recursive: true, force: true });
    }
    return rows;
  },
};

/** The report, section by section (another section is one more entry here). */
const SECTIONS: readonly BenchSection[] = [fullSection, domainSection, archiveSection, storageSection, restoreSection];

function table(section: BenchSection, rows: BenchRow[]): string {
  const header = `${'host'.padEnd(20)} ${'compr'.padEnd(7)} ${'side'.padEnd(15)} ${'wall s'.padStart(7)} ${'cpu s'.padStart(7)} ${'MiB'.padStart(6)}  wall ratio`;
  const lines = rows.map((r) => [r.host.padEnd(20), r.compression.padEnd(7), r.side.padEnd(15), r.wallSeconds.toFixed(2).padStart(7), r.cpuSeconds.toFixed(2).padStart(7),
    String(r.peakRssMiB).padStart(6), [r.ratio === undefined ? '' : ` ${r.ratio.toFixed(2)}× ${r.versus ?? ''}`,
      r.limitRatio === undefined ? '' : `${r.ratio === undefined ? ' ' : ', '}${r.limitRatio.toFixed(2)}× ${r.limit ?? ''}`].join('')].join(' '));
  return `\n${section.title}\n${header}\n${lines.join('\n')}\n`;
}

function main(args: string[]): void {
  const quick = args.includes('--quick');
  const jsonAt = args.indexOf('--json');
  const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] ?? '' : join(BENCH, 'bench.json');
  const only = process.env.BENCH_SECTIONS?.split(/\s+/).filter((s) => s !== '');
  const runs = Number(process.env.BENCH_RUNS ?? (quick ? '1' : '3'));
  mkdirSync(BENCH, { recursive: true });
  const started = Date.now();
  const report: Record<string, BenchRow[]> = {};
  for (const section of SECTIONS) {
    if (only !== undefined && !only.includes(section.name)) continue;
    report[section.name] = section.run({ quick, runs });
    process.stdout.write(table(section, report[section.name] ?? []));
  }
  // The security gate on an installed copy (native/tools/bench-security.ts): its own table, text only.
  if (only === undefined || only.includes('security')) process.stdout.write(benchSecurity(REPO, log));
  const machine = { cpus: availableParallelism(), memoryMiB: Math.round(totalmem() / 1048576), node: process.version, kernel: release() };
  writeFileSync(jsonFile, `${JSON.stringify({ date: new Date().toISOString(), quick, runs, machine, seconds: Math.round((Date.now() - started) / 1000), sections: report }, null, 2)}\n`);
  process.stdout.write(`\nJSON: ${jsonFile} (${Math.round((Date.now() - started) / 1000)} s)\n`);
}

main(process.argv.slice(2));
