// An archive as a plain tar stream: [age -d] | [decompressor] with the real CLIs, as an operator would run them,
// so nothing is ever held in memory or written in plain text. Used by verification and the parity normaliser.
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';

/** The decompressor of each compression type (the legacy verify_decompress_argv twin); none has none. */
export const DECOMPRESS: Readonly<Record<string, readonly string[]>> = {
  xz: ['xz', '-dc'], zstd: ['zstd', '-dc', '-q', '--long=27'], gzip: ['gzip', '-dc'], pigz: ['gzip', '-dc'],
  bzip2: ['bzip2', '-dc'], lzma: ['xz', '--format=lzma', '-dc'],
};

const BY_SUFFIX: readonly (readonly [RegExp, string])[] = [
  [/\.tar\.gz$|\.tgz$/, 'gzip'], [/\.tar\.bz2$/, 'bzip2'], [/\.tar\.xz$/, 'xz'], [/\.tar\.lzma$/, 'lzma'], [/\.tar\.zst$/, 'zstd'],
  [/\.tar$/, 'none'],
];

/** The compression type an archive name says (its `.age` suffix aside), or undefined for an unknown name. */
export function compressionOfName(name: string): string | undefined {
  const plain = name.endsWith('.age') ? name.slice(0, -4) : name;
  return BY_SUFFIX.find(([pattern]) => pattern.test(plain))?.[1];
}

export interface TarStream {
  readonly stream: NodeJS.ReadableStream;
  /** Resolves when every stage has ended: undefined when all succeeded, else which one failed and why. */
  readonly done: Promise<string | undefined>;
  kill(): void;
}

export interface TarStreamOptions {
  readonly type: string;
  readonly ageIdentity?: string;
  /** The decompressors' environment (PATH): passed in, never read from this process. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function openTarStream(path: string, options: TarStreamOptions): TarStream {
  const stages: (readonly string[])[] = [];
  if (options.ageIdentity !== undefined) stages.push(['age', '-d', '-i', options.ageIdentity]);
  const decompressor = DECOMPRESS[options.type];
  if (decompressor !== undefined) stages.push(decompressor);
  if (stages.length === 0) return { stream: createReadStream(path), done: Promise.resolve(undefined), kill: () => undefined };
  const children: ChildProcess[] = stages.map(([file, ...args], index) => spawn(file ?? 'false', index === 0 ? [...args, '--', path] : args, {
    stdio: [index === 0 ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: { ...options.env },
  }));
  for (let i = 1; i < children.length; i += 1) children[i - 1]?.stdout?.pipe(children[i]?.stdin as NodeJS.WritableStream);
  const ends = children.map((child) => {
    let text = '';
    child.stderr?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    return new Promise<string | undefined>((resolve) => {
      child.on('close', (code) => resolve(code === 0 ? undefined : `${basename(child.spawnfile)} exited ${code ?? 'by signal'}: ${text.trim()}`));
      child.on('error', (error) => resolve(`${child.spawnfile}: ${error.message}`));
    });
  });
  const last = children[children.length - 1];
  if (last?.stdout === null || last?.stdout === undefined) throw new Error('no output stream');
  return {
    stream: last.stdout,
    done: Promise.all(ends).then((failures) => failures.find((f) => f !== undefined)),
    kill: () => { for (const child of children) child.kill('SIGKILL'); },
  };
}
