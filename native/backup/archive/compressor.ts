// The compressor of each type (archive.md §3), as a stream stage: xz and lzma through the xz CLI (lzma-native,
// liblzma, when the host has no xz), zstd through zstd-napi (workers sized to the machine), gzip and pigz through zlib, bzip2 through its CLI (pbzip2 when
// there is one and more than one thread — there is no well-kept bzip2 library for Node), none passes through.
// Levels and modes are legacy archive_level's; the output is read by the same CLIs (xz, zstd --long=27, gzip, bzip2).
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Duplex, PassThrough, Writable, type Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import { createRequire } from 'node:module';
import type { CompressStream } from 'zstd-napi';
import { hasProgram } from '../../core/programs.js';

export interface Level {
  /** undefined for none. */
  readonly level: number | undefined;
  readonly extreme: boolean;
  readonly ultra: boolean;
}

/** archive_level TYPE MODE: the effective level; a fallback to gzip (type ≠ configured) caps it at 9. */
export function archiveLevel(type: string, configured: string, mode: string, level: number): Level {
  if (type === 'none') return { level: undefined, extreme: false, ultra: false };
  let value = level;
  let extreme = false;
  let ultra = false;
  if (mode === 'fast') value = 1;
  else if (mode === 'maximum' || mode === 'ultra') {
    value = 9;
    if (type === 'xz' || type === 'lzma') extreme = true;
    if (type === 'zstd') {
      value = 19;
      if (mode === 'ultra') {
        value = 22;
        ultra = true;
      }
    }
  }
  if (type !== configured && value > 9) value = 9;
  return { level: value, extreme, ultra };
}

/** archive_threads: COMPRESSION_THREADS, 0 = the CPUs this process may use, capped at 64. */
export function archiveThreads(configured: number, cpus = availableParallelism()): number {
  const threads = configured > 0 ? configured : Math.max(1, cpus);
  return Math.min(threads, 64);
}

/**
 * libzstd's worker threads (README "Decisions": compression memory). At the fast levels (≤ 9) on a machine of
 * 1-2 CPUs none: the main thread compresses between two tar chunks, which measured as fast and ~40-60 MiB
 * smaller than 1-2 workers competing with it for the same cores. Otherwise the configured threads (the slow
 * levels need every core); in ultra mode at most 2, each worker holding its own match tables and job buffer.
 */
export function zstdWorkers(threads: number, level: number, ultra: boolean, cpus = availableParallelism()): number {
  if (cpus <= 2 && level <= 9) return 0;
  return ultra ? Math.min(threads, 2) : threads;
}

/** Bytes a tar of the staging tree takes at most: contents plus, per entry, header, pax header and padding. */
export function tarSizeBound(contentBytes: number, entries: number): number {
  return contentBytes + entries * 2048 + 20_480;
}

/**
 * zstd's parameters in ultra mode (level 22, long-distance matching), bounded: the window is what legacy's
 * `--long=27` allows (128 MiB) but no larger than the tar (a window beyond the input buys nothing and costs
 * its size), and the match tables are capped (hash 2^23, chain 2^24 entries: 32 + 64 MiB, where level 22's own
 * 2^25 / 2^27 take 128 + 512 MiB). Every archive still decompresses with `zstd -d --long=27`.
 */
export function ultraParameters(expectedBytes: number): { windowLog: number; hashLog: number; chainLog: number } {
  const needed = Math.ceil(Math.log2(Math.max(expectedBytes, 1)));
  const windowLog = Math.min(27, Math.max(20, needed));
  return { windowLog, hashLog: Math.min(23, windowLog), chainLog: Math.min(24, windowLog + 1) };
}

/**
 * The zstd CLI's argv: legacy archive_argv's (`-LEVEL -T<threads> -c -q`), and in ultra mode level 22 with
 * long-distance matching under the same memory ceiling as the library path (ultraParameters, at most 2 workers).
 */
export function zstdArgv(level: Level, threads: number, expectedBytes = 2 ** 27): string[] {
  if (!level.ultra) return ['zstd', `-${level.level ?? 3}`, `-T${threads}`, '-c', '-q'];
  const { windowLog, hashLog, chainLog } = ultraParameters(expectedBytes);
  return ['zstd', '--ultra', '-22', `--long=${windowLog}`, `--zstd=hlog=${hashLog},clog=${chainLog}`, `-T${Math.min(threads, 2)}`, '-c', '-q'];
}

export const EXTENSION: Readonly<Record<string, string>> = { xz: '.xz', zstd: '.zst', gzip: '.gz', pigz: '.gz', bzip2: '.bz2', lzma: '.lzma', none: '' };

export interface StreamStage {
  readonly stream: Duplex | Transform;
  /** A CLI stage: resolves when it has exited, undefined on success, else `program: reason`. A library stage: undefined. */
  readonly done: Promise<string | undefined>;
  /** The program name legacy would show for this stage in a failure line. */
  readonly program: string;
}

/** archive_failure_line: the first stderr line, prefixed with the program's name unless it already is. */
export function failureLine(program: string, stderr: string): string {
  const first = stderr.split('\n')[0] ?? '';
  if (first === '') return `${program}: exited with an error`;
  return first.startsWith(`${program}:`) ? first : `${program}: ${first}`;
}

/**
 * A CLI as a stream stage (stdin → stdout); its failure is its first stderr line, as legacy reports it. CONSUMED is
 * told about each chunk once the pipe has taken it (the tar writer reuses it: memory that does not follow the tree).
 */
export function commandStage(argv: readonly string[], env: Readonly<Record<string, string | undefined>>,
  consumed?: (chunk: Buffer) => void): StreamStage {
  const [file, ...args] = argv;
  const child = spawn(file ?? 'false', args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...env } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  // A reader that stops early (the child died) turns our writes into EPIPE: the exit status tells the story.
  child.stdin.on('error', () => undefined);
  // A run that ends while the stage runs (SIGTERM → process.exit) ends the stage too, rather than leaving it to
  // compress what its pipe still holds.
  const endChild = (): void => {
    child.kill('SIGTERM');
  };
  process.once('exit', endChild);
  const done = new Promise<string | undefined>((resolve) => {
    child.on('error', (error) => resolve(`${file ?? ''}: ${error.message}`));
    child.on('close', (code) => {
      process.removeListener('exit', endChild);
      resolve(code === 0 ? undefined : failureLine(file ?? '', stderr));
    });
  });
  const writable = consumed === undefined ? child.stdin : new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      // a write the dead child refused (EPIPE) is not the stage's failure: its exit status is
      child.stdin.write(chunk, () => {
        consumed(chunk);
        callback();
      });
    },
    final(callback) {
      child.stdin.end(() => callback());
    },
  });
  return { stream: Duplex.from({ writable, readable: child.stdout }), done, program: file ?? '' };
}

/** A library transform as a stream stage: its errors reach the pipeline, which names the stream that failed first. */
function transformStage(stream: Transform | Duplex, program: string): StreamStage {
  return { stream, done: Promise.resolve(undefined), program };
}

export interface CompressorOptions {
  readonly threads: number;
  /** The most the tar stream can hold (tarSizeBound), bounding zstd's window in ultra mode. */
  readonly expectedBytes?: number;
  /** The CPUs this process may use (availableParallelism). */
  readonly cpus?: number;
  /** Called with each input chunk once the compressor holds no reference to it (libzstd copies it; a CLI's pipe took it). */
  readonly consumed?: (chunk: Buffer) => void;
}

// The two compression libraries are native addons, needed only on a host without the xz or zstd CLI: loaded then
// (synchronously, on first use), not by every process that imports the archive stage (issue 21: lazy loading).
const requireModule = createRequire(import.meta.url);
type LzmaNative = typeof import('lzma-native').default;
const lzmaNative = (): LzmaNative => requireModule('lzma-native') as LzmaNative;
const zstdNapi = (): typeof import('zstd-napi') => requireModule('zstd-napi') as typeof import('zstd-napi');

type TransformFunction = (chunk: Buffer, encoding: BufferEncoding, done: (error?: Error | null) => void) => void;

/** zstd-napi's stream, telling `consumed` about each input chunk: its transform copies the chunk into libzstd. */
function zstdStream(parameters: ConstructorParameters<typeof CompressStream>[0], consumed?: (chunk: Buffer) => void): CompressStream {
  const stream = new (zstdNapi().CompressStream)(parameters);
  if (consumed === undefined) return stream;
  const target = stream as unknown as { _transform: TransformFunction };
  const transform = target._transform.bind(stream);
  target._transform = (chunk, encoding, done) => {
    transform(chunk, encoding, done);
    consumed(chunk);
  };
  return stream;
}

export function compressorStage(type: string, level: Level, options: CompressorOptions, env: Readonly<Record<string, string | undefined>>): StreamStage {
  const { threads } = options;
  const cpus = options.cpus ?? availableParallelism();
  const value = level.level ?? 6;
  switch (type) {
    // xz and lzma through the xz CLI when there is one (as legacy): lzma-native measured 1.8× its CPU time and
    // 3× its wall time on 2 cores (README "Decisions"); the library is the fallback for a host without xz.
    case 'xz':
      if (hasProgram('xz', env.PATH ?? '')) return commandStage(['xz', `-${value}`, `-T${threads}`, '-c', ...(level.extreme ? ['--extreme'] : [])], env, options.consumed);
      return transformStage(lzmaNative().createCompressor({ preset: value | (level.extreme ? lzmaNative().PRESET_EXTREME : 0), threads, check: lzmaNative().CHECK_CRC64 }), 'xz');
    case 'lzma':
      if (hasProgram('xz', env.PATH ?? '')) return commandStage(['xz', '--format=lzma', `-${value}`, '-c', ...(level.extreme ? ['--extreme'] : [])], env);
      return transformStage(lzmaNative().createStream('aloneEncoder', { preset: value | (level.extreme ? lzmaNative().PRESET_EXTREME : 0) }), 'xz');
    // zstd through its CLI when there is one (as legacy): compression on another core, and a SIGTERM is handled
    // between two tar chunks, where libzstd's blocking flush in ultra mode held the main thread for minutes.
    case 'zstd':
      if (hasProgram('zstd', env.PATH ?? '')) return commandStage(zstdArgv(level, threads, options.expectedBytes), env, options.consumed);
      return transformStage(zstdStream({
        compressionLevel: value,
        nbWorkers: zstdWorkers(threads, value, level.ultra, cpus),
        ...(level.ultra ? { ...ultraParameters(options.expectedBytes ?? 2 ** 27), enableLongDistanceMatching: true } : {}),
      }, options.consumed), 'zstd');
    case 'gzip':
    case 'pigz':
      return transformStage(createGzip({ level: value }), type);
    case 'bzip2': {
      const path = env.PATH ?? '';
      const argv = hasProgram('pbzip2', path) && threads > 1 ? ['pbzip2', `-${value}`, `-p${threads}`, '-c'] : ['bzip2', `-${value}`, '-c'];
      return commandStage(argv, env);
    }
    case 'none':
      return transformStage(new PassThrough(), 'cat');
    default:
      throw new Error(`unknown compression type: ${type}`);
  }
}

/** age to every recipient of AGE_RECIPIENTS (one per line) and AGE_RECIPIENT_FILE (archive.md §3.4). */
export function encryptorStage(recipients: readonly string[], recipientFile: string, env: Readonly<Record<string, string | undefined>>): StreamStage {
  const argv = ['age'];
  for (const recipient of recipients) if (recipient !== '') argv.push('-r', recipient);
  if (recipientFile !== '') argv.push('-R', recipientFile);
  return commandStage(argv, env);
}
