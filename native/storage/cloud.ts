// The cloud tier through rclone (storage.md §3): argv arrays, never a shell; every call with RCLONE_FLAGS and the
// step's --timeout/--contimeout, bounded N+5 s (native/restore/rclone.ts, shared with the restore tools). The remote
// name was validated by the configuration (config.md §8); a remote starting with `-` is refused here too, before
// any call, so no value can become an rclone option.
import { rclone, rcloneFlags, timedOutReason, type RcloneResult } from '../restore/rclone.js';
import { esc } from '../core/esc.js';
import { replayHostCommand } from '../core/host-record.js';
import { jsonObjects } from '../core/json-objects.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Seconds between the three attempts of an upload (storage.md §3.2). */
export const UPLOAD_WAITS = [5, 15] as const;

/**
 * storage_reason: the first line of a tool's stderr (bytes, as legacy reads them), rclone's timestamp and level
 * prefix removed, esc()-ed; `unknown error` when there is none.
 */
export function storageReason(stderr: string | Buffer): string {
  const bytes = typeof stderr === 'string' ? Buffer.from(stderr, 'utf8') : stderr;
  // latin1 maps each byte to one character and back: the patterns are ASCII, the rest goes to esc() as bytes.
  let line = bytes.toString('latin1').replace(/\n+$/, '').split('\n', 1)[0] ?? '';
  const stamped = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d (.*)$/s.exec(line);
  if (stamped?.[1] !== undefined) line = stamped[1];
  const levelled = /^(?:ERROR|NOTICE|INFO) *: *(?:: *)?(.*)$/s.exec(line);
  if (levelled?.[1] !== undefined) line = levelled[1];
  return line === '' ? 'unknown error' : esc(Buffer.from(line, 'latin1'));
}

/**
 * The argv a storage shadow recording keys an rclone call by (legacy storage_rclone_key_args): the whole command
 * line, a local path (an argument starting with /) as <local>/NAME — the candidate's tiers are scratch copies.
 */
export function rcloneKeyArgv(args: readonly string[], limitSeconds: number, flags: string): string[] {
  return ['rclone', ...args, ...rcloneFlags(flags), '--timeout', `${limitSeconds}s`, '--contimeout', `${limitSeconds}s`]
    .map((arg) => (arg.startsWith('/') ? `<local>/${arg.slice(arg.lastIndexOf('/') + 1)}` : arg));
}

export interface CloudOptions {
  readonly remote: string;
  readonly flags: string;
  readonly bandwidthLimit: string;
  readonly env: Env;
  /** A shadow candidate: never calls rclone, only replays the control's calls. */
  readonly shadow: boolean;
  /** Waits between upload attempts (UPLOAD_WAITS), in ms; a sleep function so tests of the stage need not wait. */
  readonly sleep: (ms: number) => Promise<void>;
}

/** One remote's rclone calls, each returning its outcome; the last stderr is kept for the caller's reason. */
export class Cloud {
  lastError: Buffer = Buffer.alloc(0);

  constructor(private readonly options: CloudOptions) {
    if (options.remote.startsWith('-')) throw new Error(`refusing rclone remote ${esc(options.remote)}: it would read as an option`);
  }

  /** `REMOTE:PATH` without a trailing slash on PATH (storage_remote). */
  spec(path: string): string {
    return `${this.options.remote}:${path.endsWith('/') ? path.slice(0, -1) : path}`;
  }

  /**
   * One rclone call; with PBK_RCLONE_REPLAY_DIR (a storage shadow candidate) the control's recorded result of the
   * same call instead, so a candidate never touches the remote (a call the control did not make: status 127).
   */
  async call(limitSeconds: number, args: readonly string[], wallSeconds = limitSeconds): Promise<Omit<RcloneResult, 'stderr' | 'timedOut'>> {
    const replay = this.options.env.PBK_RCLONE_REPLAY_DIR;
    if (this.options.shadow && (replay === undefined || replay === '')) {
      this.lastError = Buffer.from('shadow: no recording of the control to replay rclone from');
      return { ok: false, stdout: Buffer.alloc(0) };
    }
    if (replay !== undefined && replay !== '') {
      const recorded = replayHostCommand(replay, rcloneKeyArgv(args, limitSeconds, this.options.flags));
      // The control's rclone ended by timeout (124, or 137 after the KILL) is worded as a live call's (rclone()).
      this.lastError = Buffer.from(timedOutReason(recorded.stderr.toString('latin1'), recorded.status === 124 || recorded.status === 137, wallSeconds), 'latin1');
      return { ok: recorded.status === 0, stdout: recorded.stdout };
    }
    const result = await rclone(args, limitSeconds, this.options.flags, this.options.env, wallSeconds);
    this.lastError = Buffer.from(result.stderr, 'latin1');
    return result;
  }

  /** The connectivity test (storage.md §3.1): list the remote's top level, then make the backup path. */
  async reachable(limitSeconds: number, path: string): Promise<boolean> {
    return (await this.call(limitSeconds, ['lsf', '--max-depth', '1', '--dirs-only', `${this.options.remote}:`])).ok
      && (await this.call(limitSeconds, ['mkdir', this.spec(path)])).ok;
  }

  /**
   * `rclone copyto FILE DIR/<name>` with up to three attempts, 5 s then 15 s apart (storage.md §3.2), each ended
   * after WALLSECONDS (CLOUD_PARALLEL_UPLOAD_TIMEOUT); rclone's idle and connect timeouts are LIMITSECONDS.
   */
  async upload(limitSeconds: number, wallSeconds: number, file: string, dirSpec: string): Promise<boolean> {
    const name = file.slice(file.lastIndexOf('/') + 1);
    const bw = this.options.bandwidthLimit === '' ? [] : ['--bwlimit', this.options.bandwidthLimit];
    for (let attempt = 0; ; attempt += 1) {
      if ((await this.call(limitSeconds, ['copyto', file, `${dirSpec}/${name}`, ...bw], wallSeconds)).ok) return true;
      const wait = UPLOAD_WAITS[attempt];
      if (wait === undefined) return false;
      await this.options.sleep(wait * 1000);
    }
  }

  /** `rclone lsf --files-only DIR`: the file names, or undefined when the listing failed. */
  async list(limitSeconds: number, dirSpec: string): Promise<string[] | undefined> {
    const result = await this.call(limitSeconds, ['lsf', '--files-only', dirSpec]);
    if (!result.ok) return undefined;
    return result.stdout.toString('utf8').split('\n').filter((n) => n !== '');
  }

  /**
   * `rclone lsjson --files-only --hash DIR --include NAME*`: size and lower-case SHA-256 ('' when the backend has
   * none) by file name, or undefined when the listing failed.
   */
  async listWithHashes(limitSeconds: number, dirSpec: string, name: string): Promise<Map<string, { size: string; sha256: string }> | undefined> {
    const result = await this.call(limitSeconds, ['lsjson', '--files-only', '--hash', dirSpec, '--include', `${name}*`]);
    if (!result.ok) return undefined;
    const listed = new Map<string, { size: string; sha256: string }>();
    // Not a JSON array: nothing listed (legacy's Perl reader prints nothing), so each file is "listed with size none".
    for (const entry of jsonObjects(result.stdout.toString('utf8')) ?? []) {
      if (typeof entry.Name !== 'string') continue;
      const hashes = entry.Hashes as Record<string, unknown> | undefined;
      const sha = typeof hashes?.sha256 === 'string' ? hashes.sha256.toLowerCase() : '';
      listed.set(entry.Name, { size: typeof entry.Size === 'number' ? String(entry.Size) : '', sha256: sha });
    }
    return listed;
  }

  /** `rclone delete DIR --include NAME* …` (one call for up to 50 sets, storage.md §4 item 7). */
  async deleteSets(limitSeconds: number, dirSpec: string, names: readonly string[]): Promise<boolean> {
    return (await this.call(limitSeconds, ['delete', dirSpec, ...names.flatMap((n) => ['--include', `${n}*`])])).ok;
  }

  /** `rclone cat FILE`: its content with trailing newlines removed ('' on failure, as legacy's `|| true`). */
  async cat(limitSeconds: number, fileSpec: string): Promise<string> {
    const result = await this.call(limitSeconds, ['cat', fileSpec]);
    return result.stdout.toString('utf8').replace(/\n+$/, '');
  }
}
