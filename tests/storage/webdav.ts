// A real rclone WebDAV server on loopback (storage.md §3.4): the cloud tier of the storage tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';

export interface WebDav {
  readonly url: string;
  readonly dir: string;
  readonly configPath: string;
  stop(): Promise<void>;
}

/** Serves DIR over WebDAV on 127.0.0.1 (a free port) and writes an rclone.conf naming it `remote`. */
export async function startWebDav(dir: string, configDir: string, remote = 'cloud'): Promise<WebDav> {
  mkdirSync(dir, { recursive: true });
  const server: ResultPromise = execa('rclone', ['serve', 'webdav', dir, '--addr', '127.0.0.1:0', '--config', '/dev/null'], {
    reject: false, buffer: false, stdin: 'ignore',
  });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`rclone serve webdav did not start: ${seen}`)), 10_000);
    server.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /started on (?:\[)?(http:\/\/127\.0\.0\.1:\d+\/)/.exec(seen);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  const configPath = join(configDir, 'rclone.conf');
  writeFileSync(configPath, `[${remote}]\ntype = webdav\nurl = ${url}\nvendor = other\n`, { mode: 0o600 });
  return {
    url, dir, configPath,
    stop: async () => {
      server.kill('SIGTERM');
      await server;
    },
  };
}
