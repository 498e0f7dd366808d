// The storage domain, bash vs ts (issue #17; storage.md): the three stages (storage_check_tiers, storage_run,
// storage_logs) run in sequence on each side, legacy through its shims and native in-process, each on its own copy
// of the same tiers — a local dir, a secondary dir and a real rclone WebDAV server on loopback, reached directly or
// through a proxy that corrupts or stalls. Compared: the statuses, the log lines, the storage state keys and every
// file left in every tier (name, mode, size, SHA-256).
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffArrays } from 'diff';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunDir } from '../../native/core/run-dir.js';
import { NATIVE_STORAGE_STAGES } from '../../native/storage/index.js';
import { sharedKeptRun, runNativeStage, runShim, stageDir, stageEnv, type KeptRun } from '../backup/stage-run.js';
import { startWebDav, type WebDav } from './webdav.js';

const STAGES = ['storage_check_tiers', 'storage_run', 'storage_logs'] as const;
const HOST = 'pve-backup-pve1.lab.example-';
const ROOT = process.geteuid?.() === 0;

let kept: KeptRun;
let base: string;
let webdav: WebDav;
let archiveName: string;

beforeAll(async () => {
  kept = await sharedKeptRun('pve-single');
  const state = readFileSync(join(kept.runDir, 'state.env'), 'utf8');
  const backupFile = /^BACKUP_FILE='(.*)'$/m.exec(state)?.[1] ?? '';
  archiveName = backupFile.slice(backupFile.lastIndexOf('/') + 1);
  base = mkdtempSync(join(tmpdir(), 'pbk-native-storage-'));
  webdav = await startWebDav(join(base, 'cloud'), base);
});

afterAll(async () => {
  await webdav.stop();
  rmSync(base, { recursive: true, force: true });
});

// ---- worlds: one copy of every tier per side ----

interface World {
  readonly side: 'bash' | 'ts';
  readonly dir: string;
  readonly local: string;
  readonly localLog: string;
  readonly secondary: string;
  readonly secondaryLog: string;
  readonly cloud: string;
  readonly cloudLog: string;
}

function makeWorld(caseName: string, side: World['side']): World {
  const dir = join(base, caseName, side);
  const world = {
    side, dir, local: join(dir, 'local'), localLog: join(dir, 'local-log'), secondary: join(dir, 'secondary'),
    secondaryLog: join(dir, 'secondary-log'), cloud: join(webdav.dir, caseName, side, 'backup'), cloudLog: join(webdav.dir, caseName, side, 'log'),
  };
  for (const d of [world.local, world.localLog]) mkdirSync(d, { recursive: true });
  // This run's set and log, as phases 10-11 and 6 left them.
  const from = join(kept.sandbox.backupDir, archiveName);
  for (const suffix of ['', '.sha256', '.metadata']) copyFileSync(`${from}${suffix}`, join(world.local, `${archiveName}${suffix}`));
  writeFileSync(join(world.localLog, logName()), 'the run log\n', { mode: 0o600 });
  return world;
}

function logName(): string {
  return archiveName.replace(/\.tar.*$/, '.log');
}

/** One set with a valid checksum (or none: unverified), named for STAMP (`YYYY-MM-DD_HH-MM-SS`). */
function seedSet(dir: string, stamp: string, options: { ext?: string; verified?: boolean; prefix?: string } = {}): string {
  mkdirSync(dir, { recursive: true });
  const name = `${options.prefix ?? HOST}${stamp}.tar${options.ext ?? '.zst'}`;
  writeFileSync(join(dir, name), `seeded ${stamp}\n`, { mode: 0o600 });
  const hash = createHash('sha256').update(readFileSync(join(dir, name))).digest('hex');
  if (options.verified !== false) writeFileSync(join(dir, `${name}.sha256`), `${hash}  ${name}\n`, { mode: 0o640 });
  writeFileSync(join(dir, `${name}.metadata`), `TIMESTAMP=${stamp}\n`, { mode: 0o640 });
  return name;
}

type Seeder = (dir: string, tier: 'local' | 'secondary' | 'cloud' | 'local-log' | 'secondary-log' | 'cloud-log') => void;

interface Case {
  readonly context?: Record<string, string>;
  /** State keys over the kept run's (a phase's outcome). */
  readonly state?: Record<string, string>;
  readonly seed?: Seeder;
  /** The rclone remote the cloud tier uses (default: the WebDAV server). */
  readonly remote?: string;
  /** More RCLONE_FLAGS. */
  readonly rcloneFlags?: string;
  readonly extraConfig?: string;
  /** Called on each world after seeding (mounts). */
  readonly prepare?: (world: World) => Promise<void>;
  /**
   * Run the two sides at the same time (each has its own worlds and remote paths): only for a case that spends its
   * time asleep (the upload retry waits), never one that depends on a limit being met under load.
   */
  readonly concurrent?: boolean;
}

function contextOf(world: World, c: Case): Record<string, string> {
  return {
    LOCAL_BACKUP_PATH: world.local, LOCAL_LOG_PATH: world.localLog,
    ENABLE_SECONDARY_BACKUP: 'true', SECONDARY_BACKUP_PATH: world.secondary, SECONDARY_LOG_PATH: world.secondaryLog,
    ENABLE_CLOUD_BACKUP: 'true', RCLONE_REMOTE: c.remote ?? 'cloud', RCLONE_FLAGS: `--low-level-retries 1 --retries 1${c.rcloneFlags ?? ''}`,
    CLOUD_BACKUP_PATH: world.cloud.slice(webdav.dir.length), CLOUD_LOG_PATH: world.cloudLog.slice(webdav.dir.length),
    // Generous limits: on a loaded CI machine an rclone call can take seconds; a case about a limit sets its own.
    CLOUD_CONNECTIVITY_TIMEOUT: '30', CLOUD_LIST_TIMEOUT: '60', CONSISTENCY_TIMEOUT: '60',
    SET_BACKUP_PERMISSIONS: 'false', STORAGE_WARNING_THRESHOLD_PRIMARY: '100', STORAGE_WARNING_THRESHOLD_SECONDARY: '100',
    MAX_LOCAL_BACKUPS: '2', MAX_SECONDARY_BACKUPS: '2', MAX_CLOUD_BACKUPS: '2', MAX_LOCAL_LOGS: '2', MAX_SECONDARY_LOGS: '2', MAX_CLOUD_LOGS: '2',
    ...c.context,
  };
}

interface SideResult {
  readonly statuses: number[];
  readonly lines: string[];
  readonly state: string[];
  readonly tiers: string[];
}

/** A tier's files: name, mode, owner, size and hash — but this run's log: a shim also writes its lines there. */
function treeOf(dir: string): string[] {
  if (!existsSync(dir)) return ['(absent)'];
  return readdirSync(dir).sort().map((name) => {
    const path = join(dir, name);
    const stats = lstatSync(path);
    if (name === logName()) return `${name} ${(stats.mode & 0o7777).toString(8)} ${stats.uid}:${stats.gid}`;
    const data = stats.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16) : '';
    return `${name} ${(stats.mode & 0o7777).toString(8)} ${stats.uid}:${stats.gid} ${stats.isFile() ? stats.size : 'dir'} ${data}`;
  });
}

async function runSide(caseName: string, side: World['side'], c: Case): Promise<SideResult> {
  const world = makeWorld(caseName, side);
  for (const [dir, tier] of [[world.local, 'local'], [world.secondary, 'secondary'], [world.cloud, 'cloud'], [world.localLog, 'local-log'],
    [world.secondaryLog, 'secondary-log'], [world.cloudLog, 'cloud-log']] as const) c.seed?.(dir, tier);
  await c.prepare?.(world);
  // LOG_FILE goes in state: stageDir empties it in the context (state wins, as in a shim).
  const dir: RunDir = stageDir(kept, contextOf(world, c), {
    BACKUP_FILE: join(world.local, archiveName), LOG_FILE: join(world.localLog, logName()), ...c.state,
  });
  const configPath = join(world.dir, 'rclone.conf');
  writeFileSync(configPath, readFileSync(webdav.configPath, 'utf8') + (c.extraConfig ?? ''), { mode: 0o600 });
  const env = stageEnv(kept, { RCLONE_CONFIG: configPath });
  const statuses: number[] = [];
  let lines: string[] = [];
  for (const stage of STAGES) {
    const native = NATIVE_STORAGE_STAGES[stage];
    if (native === undefined) throw new Error(`no native ${stage}`);
    const result = side === 'bash' ? await runShim(stage, dir, env) : await runNativeStage(native, dir, env);
    statuses.push(result.status);
    lines = result.lines;
  }
  const text = (s: string): string => s.split(world.dir).join('<WORLD>').split(`/${caseName}/${side}/`).join('/<CASE>/');
  const state = readFileSync(dir.statePath, 'utf8').split('\n').filter((l) => /^(TIER_|STATUS_|LOG_|PRIMARY_|SECONDARY_|CLOUD_)/.test(l));
  const tiers = [world.local, world.secondary, world.cloud, world.localLog, world.secondaryLog, world.cloudLog]
    .flatMap((d) => [`[${text(d)}]`, ...treeOf(d)]);
  rmSync(dir.path, { recursive: true, force: true });
  return { statuses, lines: lines.map((l) => rcloneTimeout(text(l))), state: state.map(text), tiers: tiers.map(text) };
}

/**
 * rclone words one stalled request two ways, whichever of its two equal deadlines fires first: "net/http: timeout
 * awaiting response headers" or "read tcp LOCAL->REMOTE: i/o timeout" (with the ephemeral local port). Both sides
 * pass rclone's words on as they are; the comparison reads them as one.
 */
function rcloneTimeout(line: string): string {
  return line.replace(/net\/http: timeout awaiting response headers|read tcp [0-9.:]+->[0-9.:]+: i\/o timeout/g, '<rclone timeout>');
}

/** The lines only one side has, '- ' bash's and '+ ts's, in order: a failure report short enough for a CI excerpt. */
function differences(bash: readonly string[], ts: readonly string[]): string[] {
  return diffArrays([...bash], [...ts]).flatMap((part) => {
    if (part.added === true) return part.value.map((line) => `+ ${line}`);
    if (part.removed === true) return part.value.map((line) => `- ${line}`);
    return [];
  });
}

/** Both sides on the same case; their results must be equal. Returns bash's for further checks. */
async function bothSides(caseName: string, c: Case = {}): Promise<SideResult> {
  const [bash, ts] = c.concurrent === true
    ? await Promise.all([runSide(caseName, 'bash', c), runSide(caseName, 'ts', c)])
    : [await runSide(caseName, 'bash', c), await runSide(caseName, 'ts', c)];
  expect(differences(bash.lines, ts.lines), 'log lines (- bash, + ts)').toEqual([]);
  expect(differences(bash.state, ts.state), 'state (- bash, + ts)').toEqual([]);
  expect(differences(bash.tiers, ts.tiers), 'tiers (- bash, + ts)').toEqual([]);
  expect(ts.statuses, 'statuses').toEqual(bash.statuses);
  return bash;
}

const seedEverywhere = (stamps: readonly string[]): Seeder => (dir, tier) => {
  if (tier.endsWith('log')) {
    mkdirSync(dir, { recursive: true });
    for (const stamp of stamps) writeFileSync(join(dir, `${HOST}${stamp}.log`), `log ${stamp}\n`, { mode: 0o640 });
    return;
  }
  for (const stamp of stamps) seedSet(dir, stamp);
};

// ---- the cases ----

describe('three tiers, count retention', () => {
  it('copies, uploads, verifies, rotates every tier and its logs; foreign, unverified, orphaned and temp files as legacy; usage over the thresholds', async () => {
    const result = await bothSides('count', {
      context: { STORAGE_WARNING_THRESHOLD_PRIMARY: '0', STORAGE_WARNING_THRESHOLD_SECONDARY: '0' },
      seed: (dir, tier) => {
        seedEverywhere(['2024-11-20_02-00-00', '2024-11-21_02-00-00', '2024-11-22_02-00-00'])(dir, tier);
        if (tier.endsWith('log')) {
          writeFileSync(join(dir, 'pve-backup-other.example-2024-11-01_02-00-00.log'), 'foreign\n');
          return;
        }
        seedSet(dir, '2024-11-23_02-00-00', { verified: false });                 // unverified: kept, warned
        seedSet(dir, '2024-11-19_02-00-00', { prefix: 'pve-backup-other.example-' });  // another host
        writeFileSync(join(dir, `${HOST}2024-11-01_02-00-00.tar.zst.sha256`), 'orphan\n');
        writeFileSync(join(dir, `${HOST}2024-11-24_02-00-00.tar.zst.tmp`), 'a live copy\n');
        writeFileSync(join(dir, 'notes.txt'), 'not ours\n');
      },
    });
    expect(result.statuses).toEqual([0, 1, 0]);
    expect(result.lines).toContain(`[SUCCESS] Cloud upload verified (3 files)`);
    expect(result.lines).toContain('[INFO] Rotation cloud: 4 backups, keeping 2');
    expect(result.lines.filter((l) => l.startsWith('[WARNING] Unverified backup'))).toHaveLength(3);
    expect(result.lines.filter((l) => l.startsWith('[INFO] Removed orphaned'))).toHaveLength(2);
    expect(result.lines.filter((l) => / storage usage at \d+% \(threshold 0%\)$/.test(l))).toHaveLength(2);
  });

  it('a run that made no archive (verification failed): nothing copied, uploaded or rotated, tiers skipped; an unknown backup user', async () => {
    const result = await bothSides('verify-failed', { seed: seedEverywhere(['2024-11-20_02-00-00', '2024-11-21_02-00-00', '2024-11-22_02-00-00']),
      state: { STATUS_VERIFY: '2' }, context: { SET_BACKUP_PERMISSIONS: 'true', BACKUP_USER: 'pbk-no-such-user', BACKUP_GROUP: 'nogroup' } });
    expect(result.state).toContain("STATUS_SECONDARY='skipped'");
    expect(result.lines).toContain('[WARNING] Backup user pbk-no-such-user or group nogroup not found; permissions unchanged');
  });

  it('dry-run: what a real run would delete, nothing written', async () => {
    await bothSides('dry-run', { seed: seedEverywhere(['2024-11-20_02-00-00', '2024-11-21_02-00-00', '2024-11-22_02-00-00']),
      context: { DRY_RUN: 'true' } });
  });

});

/** A history of COUNT backups over about three years, deterministic: ISO week-year ends, DST days, equal stamps. */
function history(count: number): string[] {
  const stamps = new Set<string>(['2024-12-29_02-00-00', '2024-12-30_02-00-00', '2025-01-05_23-59-59', '2025-03-30_02-30-00',
    '2025-10-26_02-30-00', '2026-01-01_00-00-00', '2026-01-01_00-00-00', '2027-01-03_12-00-00']);
  let seed = 12_345;
  const next = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed;
  };
  const start = Date.UTC(2024, 5, 1) / 1000;
  while (stamps.size < count) {
    const epoch = start + (next() % (3 * 365 * 86_400));
    stamps.add(new Date(epoch * 1000).toISOString().replace('T', '_').replace(/:/g, '-').slice(0, 19));
  }
  return [...stamps];
}

describe('GFS retention over a generated history (storage.md §5, decision 22)', () => {
  it('70 sets across three years in every tier: the same sets kept and deleted (cloud in batches of 50)', async () => {
    const stamps = history(70);
    const result = await bothSides('gfs', {
      context: { RETENTION_DAILY: '3', RETENTION_WEEKLY: '2', RETENTION_MONTHLY: '4', RETENTION_YEARLY: '2', DEBUG_LEVEL: 'advanced' },
      seed: (dir, tier) => {
        if (tier.endsWith('log')) return;
        stamps.forEach((stamp, i) => seedSet(dir, stamp, { ext: i % 5 === 0 ? '.xz' : '.zst', verified: i % 17 !== 3 }));
      },
    });
    const deleted = result.lines.filter((l) => l.startsWith('[INFO] Deleted ')).length;
    expect(deleted).toBeGreaterThan(3 * 51);
    expect(result.lines.some((l) => l.startsWith('[DEBUG] Keep '))).toBe(true);
  });
});

// ---- a remote that misbehaves: a proxy in front of the WebDAV server ----

type Misbehaviour = 'truncate-archive' | 'stall' | 'corrupt-checksum-read';

async function startProxy(target: string, how: Misbehaviour): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    if (how === 'stall') return;   // accepted, never answered
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      const archive = /\.tar\.[a-z0-9]+$/.test(req.url ?? '');
      if (how === 'truncate-archive' && req.method === 'PUT' && archive) body = body.subarray(0, body.length - 1);
      const headers = { ...req.headers, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      // A connection per request upstream: no reused socket the server may have closed meanwhile.
      const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers, agent: false }, (up) => {
        const parts: Buffer[] = [];
        up.on('data', (c: Buffer) => parts.push(c));
        up.on('end', () => {
          let answer = Buffer.concat(parts);
          if (how === 'corrupt-checksum-read' && req.method === 'GET' && (req.url ?? '').endsWith('.sha256')) answer = Buffer.from(answer.toString().replace(/^./, '0'));
          const out = { ...up.headers, 'content-length': String(answer.length) };
          delete out['transfer-encoding'];
          res.writeHead(up.statusCode ?? 502, out);
          res.end(answer);
        });
      });
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  // rclone keeps its connection to the proxy between requests; Node's 5 s idle close could race with the next one.
  server.keepAliveTimeout = 0;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

async function withProxy(how: Misbehaviour, run: (remoteConfig: string) => Promise<void>): Promise<void> {
  const proxy = await startProxy(webdav.url, how);
  try {
    await run(`\n[proxied]\ntype = webdav\nurl = ${proxy.url}\nvendor = other\n`);
  } finally {
    await proxy.close();
  }
}

describe('a remote that misbehaves', () => {
  it('stores a truncated archive: rclone\'s own size check fails each of the three attempts (5 s, 15 s apart)', async () => {
    await withProxy('truncate-archive', async (extraConfig) => {
      // 2 × 20 s of retry waits (storage.md §3.2, the product's own): the sides wait at the same time.
      const result = await bothSides('truncated', { remote: 'proxied', extraConfig, concurrent: true });
      expect(result.lines).toContain(`[WARNING] Cloud upload failed for ${archiveName}: ${archiveName}: corrupted on transfer: sizes differ `
        + `${statSync(join(kept.sandbox.backupDir, archiveName)).size} vs ${statSync(join(kept.sandbox.backupDir, archiveName)).size - 1}`);
      expect(result.state).toContain("STATUS_CLOUD='error'");
    });
  });

  it('stores a truncated archive rclone accepts (--ignore-size): verification catches it, the remote set is deleted', async () => {
    await withProxy('truncate-archive', async (extraConfig) => {
      const result = await bothSides('truncated-accepted', { remote: 'proxied', extraConfig, rcloneFlags: ' --ignore-size' });
      expect(result.lines.some((l) => l.startsWith(`[WARNING] Cloud verification failed for ${archiveName}: ${archiveName} listed with size`))).toBe(true);
      expect(result.state).toContain("STATUS_CLOUD='error'");
      const cloud = result.tiers.findIndex((l) => l.endsWith('/<CASE>/backup]'));
      expect(result.tiers[cloud + 1], 'the remote set is deleted').toMatch(/^\[/);
    });
  });

  it('an upload that moves data for longer than the listing limit completes (it is bounded by the upload limit)', async () => {
    // A 2 MiB archive at 256 KiB/s: about 8 s of steady writes, past CLOUD_LIST_TIMEOUT + 5 = 7 s, which ended every
    // such upload until this wave; no write waits as long as the 2 s idle timeout.
    const big = randomBytes(2 << 20);
    const result = await bothSides('slow-upload', {
      context: { CLOUD_LIST_TIMEOUT: '2', RCLONE_BANDWIDTH_LIMIT: '256k', CLOUD_PARALLEL_UPLOAD_TIMEOUT: '120' },
      prepare: async (world) => {
        writeFileSync(join(world.local, archiveName), big);
        writeFileSync(join(world.local, `${archiveName}.sha256`), `${createHash('sha256').update(big).digest('hex')}  ${archiveName}\n`);
      },
    });
    expect(result.state).toContain("STATUS_CLOUD='ok'");
    expect(result.lines).toContain('[SUCCESS] Cloud upload verified (3 files)');
  });

  it('serves a different checksum file: the consistency check says so', async () => {
    await withProxy('corrupt-checksum-read', async (extraConfig) => {
      const result = await bothSides('bad-sha', { remote: 'proxied', extraConfig });
      expect(result.lines).toContain(`[WARNING] Checksum mismatch between primary and cloud for ${archiveName}`);
    });
  });

  it('never answers: the connectivity test is ended by its bound, the cloud tier is off, the rest completes', async () => {
    await withProxy('stall', async (extraConfig) => {
      // rclone's own retries (3 × 10 of 2 s each) outlast the bound of 2 + 5 s: it is ended before it prints a word.
      const result = await bothSides('stalled', {
        remote: 'proxied', extraConfig, context: { CLOUD_CONNECTIVITY_TIMEOUT: '2' }, rcloneFlags: ' --low-level-retries 10 --retries 3',
      });
      expect(result.lines).toContain('[WARNING] Cloud remote proxied unreachable: rclone did not finish within 7 s; cloud tier disabled for this run');
      expect(result.state).toContain("TIER_CLOUD='off'");
      expect(result.lines).toContain('[SUCCESS] Backup consistent across 2 tier(s)');
    });
  });

});

// ---- secondary tiers that cannot take the set (root: tmpfs mounts) ----

const mounted: string[] = [];
afterAll(async () => {
  for (const dir of mounted) await execa('umount', ['-l', dir], { reject: false });
});

async function mountTmpfs(dir: string, options: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await execa('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounted.push(dir);
}

describe.skipIf(!ROOT)('secondary tiers that cannot take the set', () => {
  it('a read-only secondary: the tier is off with a WARNING; the cloud still gets the set', async () => {
    const result = await bothSides('readonly', {
      prepare: async (world) => {
        await mountTmpfs(join(world.dir, 'secondary'), 'size=1m');
        await execa('mount', ['-o', 'remount,ro', join(world.dir, 'secondary')]);
      },
    });
    expect(result.lines.some((l) => l.startsWith('[WARNING] Secondary storage not writable: '))).toBe(true);
    expect(result.state).toContain("STATUS_CLOUD='ok'");
  });

  it('a full secondary: the copy fails, the partial set is removed, no temp file is left', async () => {
    const result = await bothSides('full', {
      prepare: async (world) => {
        await mountTmpfs(world.secondary, 'size=8k');
        await mountTmpfs(world.secondaryLog, 'size=4k');
        writeFileSync(join(world.secondaryLog, 'filler'), Buffer.alloc(4096));
      },
    });
    expect(result.lines.some((l) => l.includes(`Secondary copy failed for ${archiveName}: cp: error writing`))).toBe(true);
    expect(result.lines.some((l) => l.includes('Secondary log copy failed for'))).toBe(true);
    expect(result.tiers.join('\n')).not.toMatch(/\.tmp /);
  });
});

describe.skipIf(!ROOT)('the permission step (storage.md §8)', () => {
  it('sets R2 owners and modes on this host\'s files and the dirs, as legacy', async () => {
    const result = await bothSides('perms', { context: { SET_BACKUP_PERMISSIONS: 'true', BACKUP_USER: 'nobody', BACKUP_GROUP: 'nogroup' },
      seed: seedEverywhere(['2024-11-21_02-00-00', '2024-11-22_02-00-00']) });
    expect(result.lines.some((l) => l.startsWith('[INFO] Changed owner of '))).toBe(true);
  });
});
