// backup_archive (phase 10, archive.md §1-5, §7): the staging tree → tar → compressor [→ age] → `<name>.tmp`
// (0600 from its first byte) → rename; then `.sha256` and `.metadata` through their own temp names. One stream,
// nothing held in memory; the SHA-256 is taken from the bytes as they are written, not by re-reading the file.
// Lines, state keys and outcomes are legacy/lib/archive.sh's.
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync, chmodSync, mkdirSync, renameSync, rmSync, statSync, statfsSync, accessSync, constants, writeFileSync } from 'node:fs';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { nowSeconds } from '../../core/clock.js';
import type { ExitStatus } from '../../core/exit-code.js';
import { esc } from '../../core/esc.js';
import { humanSize } from '../../core/human.js';
import type { RunLog } from '../../core/log.js';
import { toBytes } from '../../core/bytes-path.js';
import { toolVersion } from '../../core/version.js';
import type { NativeStageContext } from '../../core/stage.js';
import { Progress } from '../../core/progress.js';
import { archiveLevel, archiveThreads, compressorStage, encryptorStage, EXTENSION, tarSizeBound, type StreamStage } from './compressor.js';
import { ChunkPool, tarStream } from './tar-writer.js';

const STRERROR: Readonly<Record<string, string>> = {
  ENOSPC: 'No space left on device', EDQUOT: 'Disk quota exceeded', EIO: 'Input/output error',
  EROFS: 'Read-only file system', EACCES: 'Permission denied', EFBIG: 'File too large',
};

/** archive_ratio: (1 - A/U) × 100, half-up to 2 decimals, or Unknown. */
export function archiveRatio(archive: number, uncompressed: number): string {
  if (uncompressed === 0) return 'Unknown';
  const a = BigInt(archive);
  const u = BigInt(uncompressed);
  const num = 2n * (u - a) * 10000n + u;
  const den = 2n * u;
  let q = num / den;
  if (num % den !== 0n && num < 0n) q -= 1n;
  const sign = q < 0n ? '-' : '';
  if (q < 0n) q = -q;
  return `${sign}${q / 100n}.${(q % 100n).toString().padStart(2, '0')}%`;
}

/** archive_prechecks: the directory creatable and writable (ERROR), 1 GiB free (WARNING). */
function prechecks(dir: string, log: RunLog): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch {
    log.error(`Backup directory not writable: ${esc(dir)}`);
    return false;
  }
  try {
    const fs = statfsSync(dir);
    const freeKb = Math.floor((fs.bavail * fs.bsize) / 1024);
    if (freeKb < 1_048_576) log.warning(`Low disk space available in backup directory: ${Math.floor(freeKb / 1024)}MB`);
  } catch {
    // no figure, no warning (df failing is silent in legacy too)
  }
  return true;
}

interface Written { readonly sha256: string; readonly failure?: string }

/**
 * The archive file as a stream sink that writes synchronously: a local file write costs microseconds, a thread-pool
 * round trip per chunk costs a scheduler wake-up (milliseconds on a loaded 2-core host, most of the phase's wall
 * time in issue 21's profile). Created 0600 from its first byte; errors reach the pipeline as the output's.
 */
function fileSink(path: string): Writable {
  let fd: number | undefined;
  const writeAll = (chunk: Buffer): void => {
    let offset = 0;
    while (offset < chunk.length) offset += writeSync(fd as number, chunk, offset, chunk.length - offset);
  };
  const close = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  return new Writable({
    highWaterMark: 1 << 20,
    construct(callback) {
      try {
        fd = openSync(path, 'w', 0o600);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    writev(chunks, callback) {
      try {
        for (const { chunk } of chunks) writeAll(chunk as Buffer);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    final(callback) {
      try {
        close();
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    destroy(error, callback) {
      try {
        close();
      } catch {
        // the first error is the one reported
      }
      callback(error);
    },
  });
}

/**
 * tar | compressor [| age] > tmp, hashing what is written. A failure is named as legacy names it: a full disk as
 * the last writer's write error, then a failing CLI stage (compressor before age), then whichever stream failed first.
 */
async function writeArchive(staging: string, tmp: string, stages: StreamStage[], progress: Progress, pool: ChunkPool): Promise<Written> {
  const hash = createHash('sha256');
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  // The line is built only for a terminal: off one, formatting it for each of 80 000 entries cost more than the headers.
  const source = tarStream(staging, progress.active ? (entries, bytes) => progress.update(`Archiving: ${entries} entries, ${humanSize(bytes)}`) : undefined, pool);
  const output = fileSink(tmp);
  let first: { readonly who: string; readonly error: Error } | undefined;
  const watch = (stream: NodeJS.EventEmitter, who: string): void => {
    stream.on('error', (error: Error) => { first ??= { who, error }; });
  };
  watch(source, 'tar');
  for (const stage of stages) watch(stage.stream, stage.program);
  watch(output, 'output');
  let failed = false;
  try {
    await pipeline([source, ...stages.map((s) => s.stream), hasher, output]);
  } catch {
    failed = true;
  }
  const stageFailures = await Promise.all(stages.map((s) => s.done));
  progress.done();
  const sha256 = hash.digest('hex');
  if (!failed && stageFailures.every((f) => f === undefined)) return { sha256 };
  const code = (first?.error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (first?.who === 'output' || STRERROR[code] !== undefined) {
    return { sha256, failure: `${stages[stages.length - 1]?.program ?? 'cat'}: write error: ${STRERROR[code] ?? first?.error.message ?? ''}` };
  }
  const cliFailure = stageFailures.find((f) => f !== undefined);
  if (cliFailure !== undefined) return { sha256, failure: cliFailure };
  return { sha256, failure: first === undefined ? 'archive pipeline failed' : `${first.who}: ${first.error.message}` };
}

function writeSidecar(path: string, content: string): boolean {
  try {
    writeFileSync(`${path}.tmp`, content, { mode: 0o600 });
    chmodSync(`${path}.tmp`, 0o600);
    renameSync(`${path}.tmp`, path);
    return true;
  } catch {
    rmSync(`${path}.tmp`, { force: true });
    return false;
  }
}

function failed(runDir: NativeStageContext['runDir'], log: RunLog, message: string): ExitStatus {
  log.error(message);
  runDir.setState('STATUS_ARCHIVE', '2');
  return 2;
}

export async function backupArchive({ runDir, log, env, clock, config, facts, state }: NativeStageContext): Promise<ExitStatus> {
  const type = state.get('COMPRESSION_EFFECTIVE');
  const encrypt = config.ENCRYPT_ARCHIVE;
  const name = `${facts.PROXMOX_TYPE}-backup-${facts.HOSTNAME}-${facts.RUN_TIMESTAMP}.tar${EXTENSION[type] ?? ''}${encrypt ? '.age' : ''}`;
  const dir = config.LOCAL_BACKUP_PATH;
  const archive = `${dir}/${name}`;
  log.step('Creating backup archive');
  if (facts.DRY_RUN) {
    log.info(`Dry run: would create archive ${name}`);
    return 0;
  }
  if (!prechecks(dir, log)) {
    runDir.setState('STATUS_ARCHIVE', '2');
    return 2;
  }
  const level = archiveLevel(type, config.COMPRESSION_TYPE, config.COMPRESSION_MODE, config.COMPRESSION_LEVEL);
  const threads = archiveThreads(config.COMPRESSION_THREADS);
  const tmp = `${archive}.tmp`;
  const counted = state.has('UNCOMPRESSED_SIZE') && state.has('STAGED_ENTRIES');
  const expectedBytes = counted ? tarSizeBound(Number(state.get('UNCOMPRESSED_SIZE')), Number(state.get('STAGED_ENTRIES'))) : undefined;
  const pool = new ChunkPool();
  const stages = [compressorStage(type, level, { threads, consumed: (chunk) => pool.give(chunk), ...(expectedBytes === undefined ? {} : { expectedBytes }) }, env)];
  if (encrypt) stages.push(encryptorStage(config.AGE_RECIPIENTS, config.AGE_RECIPIENT_FILE, env));
  const progress = Progress.forConsole(env);
  const written = await writeArchive(toBytes(runDir.staging), tmp, stages, progress, pool);
  let size = 0;
  if (written.failure === undefined) {
    try {
      size = statSync(tmp).size;
    } catch {
      size = 0;
    }
  }
  if (written.failure !== undefined || size === 0) {
    rmSync(tmp, { force: true });
    return failed(runDir, log, `Failed to create backup archive: ${esc(written.failure ?? 'empty output')}`);
  }
  try {
    chmodSync(tmp, 0o600);
    renameSync(tmp, archive);
  } catch {
    rmSync(tmp, { force: true });
    return failed(runDir, log, 'Failed to create backup archive: rename failed');
  }
  if (!writeSidecar(`${archive}.sha256`, `${written.sha256}  ${name}\n`)) return failed(runDir, log, `Failed to write checksum file ${name}.sha256`);
  const startTime = Number(facts.START_TIME);
  const duration = nowSeconds(clock) - startTime;   // the run clock: PBK_NOW pins it
  const uncompressed = Number(state.get('UNCOMPRESSED_SIZE') || '0');
  const ratio = archiveRatio(size, uncompressed);
  const meta = [`COMPRESSION_RATIO=${ratio}`, `COMPRESSION_TYPE=${type}`, `COMPRESSION_LEVEL=${level.level ?? ''}`,
    `BACKUP_DURATION=${duration}`, `COMPRESSION_MODE=${config.COMPRESSION_MODE}`, `HOST_TYPE=${facts.PROXMOX_TYPE}`,
    `HOSTNAME=${facts.HOSTNAME}`, `TIMESTAMP=${facts.RUN_TIMESTAMP}`, `VERSION=${toolVersion()}`];
  if (facts.PVE_VERSION !== '') meta.push(`PVE_VERSION=${facts.PVE_VERSION}`);
  if (facts.PBS_VERSION !== '') meta.push(`PBS_VERSION=${facts.PBS_VERSION}`);
  meta.push(`ARCHIVE_SIZE=${size}`, `UNCOMPRESSED_SIZE=${uncompressed}`, `FILES_INCLUDED=${state.get('FILES_INCLUDED')}`,
    `FILE_MISSING=${state.get('FILE_MISSING')}`, `ENCRYPTED=${String(encrypt)}`, `SHA256=${written.sha256}`);
  if (!writeSidecar(`${archive}.metadata`, `${meta.join('\n')}\n`)) log.warning(`Failed to write metadata file ${name}.metadata`);
  state.set('BACKUP_FILE', archive);
  state.set('ARCHIVE_SIZE', String(size));
  state.set('COMPRESSION_RATIO', ratio);
  state.set('BACKUP_DURATION', String(duration));
  state.set('STATUS_ARCHIVE', '0');
  log.success(`Backup archive created: ${name} (${humanSize(size)}, ratio ${ratio})`);
  log.info(`Archive contains ${state.get('DIRS_INCLUDED')} directories and ${state.get('FILES_INCLUDED')} files`);
  return 0;
}
