// The plain tar stream of an archive as legacy's STREAM_SCRIPT makes it (restore.md §4.2-§4.3):
// `age -d -i F… -- ARCHIVE | DECOMPRESSOR` or `DECOMPRESSOR < ARCHIVE`, real CLIs, argv arrays, no shell, each
// stage's stderr kept for the error message; nothing is written to disk. Unlike core/tar-stream.ts the
// decompressor reads its stdin (its messages name `(stdin)` as legacy's do) and there may be several identities.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { escPath, fromBytes, fsPath } from '../core/bytes-path.js';
import { ByteReader, CorruptArchive } from './tar-reader.js';

/** verify_decompress_argv of legacy/lib/verify.sh, by compression type (`none` reads through cat). */
export const DECOMPRESSORS: Readonly<Record<string, readonly string[]>> = {
  xz: ['xz', '-dc'], zstd: ['zstd', '-dc', '-q', '--long=27'], gzip: ['gzip', '-dc'], bzip2: ['bzip2', '-dc'],
  lzma: ['xz', '--format=lzma', '-dc'], none: ['cat'],
};

export interface StreamOptions {
  readonly archive: string;             // a byte string
  readonly compression: string;
  readonly identities: readonly string[];  // age -i files; none: not decrypted
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly timeoutSeconds: number;
  /** Aborted (SIGINT/SIGTERM while restoring): the stages are ended like a timeout, the read fails `interrupted`. */
  readonly signal?: AbortSignal;
}

interface Stage { readonly child: ChildProcess; stderr: string; readonly exit: Promise<number> }

function stage(argv: readonly string[], stdin: number | 'pipe' | 'ignore', env: StreamOptions['env']): Stage {
  const [file = 'false', ...args] = argv;
  const child = spawn(file, args, { stdio: [stdin, 'pipe', 'pipe'], env: { ...env } });
  const result: Stage = {
    child, stderr: '',
    exit: new Promise((resolve) => {
      child.on('error', () => resolve(127));
      child.on('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + 15)));
    }),
  };
  child.stderr?.on('data', (chunk: Buffer) => { result.stderr += chunk.toString('latin1'); });
  return result;
}

/**
 * Runs READ over the plain tar stream (EXTRACTION_TIMEOUT for all of it) and returns restore_stream_error's
 * message when it failed, in its order: age's stderr (no identity matches / damaged), the reader's corrupt
 * reason, any stage failing (the decompressor's first stderr line, `timed out`, `read failed`); else undefined.
 */
export async function readArchiveStream<T>(name: string, options: StreamOptions,
  read: (reader: ByteReader) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; message: string }> {
  const fd = openSync(fsPath(options.archive), 'r');
  const stages: Stage[] = [];
  try {
    if (options.identities.length > 0) {
      stages.push(stage(['age', '-d', ...options.identities.flatMap((f) => ['-i', f]), '--', fromBytes(options.archive)], 'ignore', options.env));
    }
    const decompressor = DECOMPRESSORS[options.compression] ?? DECOMPRESSORS.none ?? [];
    const input = stages[0]?.child.stdout;
    const last = stage(decompressor, input === undefined || input === null ? fd : 'pipe', options.env);
    if (input !== undefined && input !== null && last.child.stdin !== null) {
      input.pipe(last.child.stdin);
      last.child.stdin.on('error', () => undefined);
    }
    stages.push(last);
    const source = last.child.stdout;
    if (source === null) throw new Error('no output stream');
    let timedOut = false;
    // Ending early (corrupt, timed out): the reader's pipe is let go and every stage ended, so none stays
    // blocked writing (node's children may inherit an ignored SIGPIPE).
    const stop = (): void => {
      source.destroy();
      for (const s of stages) s.child.kill('SIGTERM');
      setTimeout(() => { for (const s of stages) s.child.kill('SIGKILL'); }, 5000).unref();   // timeout -k 5
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutSeconds * 1000);
    let interrupted = false;
    const onAbort = (): void => {
      interrupted = true;
      stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let value: T | undefined;
    let corrupt: string | undefined;
    try {
      value = await read(new ByteReader(source));
    } catch (error) {
      // a timeout or an interrupt ends the pipe under the reader
      if (!(error instanceof CorruptArchive) && !timedOut && !interrupted) throw error;
      if (error instanceof CorruptArchive) corrupt = error.message;
      stop();
    }
    const codes = await Promise.all(stages.map((s) => s.exit));
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    if (interrupted) return { ok: false, message: 'interrupted' };
    const age = options.identities.length > 0 ? stages[0] : undefined;
    if (age !== undefined && age.stderr !== '') {
      return { ok: false, message: `Cannot decrypt ${escPath(name)}: ${age.stderr.includes('no identity matched') ? 'no identity matches' : 'archive is damaged'}` };
    }
    if (corrupt !== undefined && !timedOut) return { ok: false, message: `Archive is corrupt: ${corrupt}` };
    if (codes.every((code) => code === 0) && !timedOut && value !== undefined) return { ok: true, value };
    const reason = timedOut ? 'timed out' : last.stderr.split('\n').find((line) => line !== '') ?? 'read failed';
    return { ok: false, message: `Archive is corrupt: ${escPath(reason)}` };
  } finally {
    closeSync(fd);
  }
}

/** sha256_within: the file's SHA-256 (hex), or undefined when it cannot be read within SECONDS. */
export async function sha256Within(path: string, seconds: number): Promise<string | undefined> {
  const hash = createHash('sha256');
  const input = createReadStream(fsPath(path));
  const reading = pipeline(input, hash).then(() => hash.digest('hex'), () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      input.destroy();
      resolve(undefined);
    }, seconds * 1000);
  });
  try {
    return await Promise.race([reading, limit]);
  } finally {
    clearTimeout(timer);
  }
}
