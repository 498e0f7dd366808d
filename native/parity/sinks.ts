// Loopback sinks for the parity harness and the notify tests (notify.md §9): an HTTP server speaking the
// Telegram Bot API (it answers from a script of replies and records every request), and a fake sendmail that
// records its argv and stdin.
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';

export interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** When the request arrived: monotonic milliseconds (performance.now), for intervals between requests. */
  readonly at: number;
}

export interface Reply { readonly status: number; readonly body: string; readonly headers?: Record<string, string> }

export interface HttpSink {
  readonly base: string;
  readonly requests: Recorded[];
  /** Replies used in order; the last one repeats. */
  replies: Reply[];
  close(): Promise<void>;
}

export const TELEGRAM_OK: Reply = { status: 200, body: '{"ok":true,"result":{"message_id":1}}' };

export async function startHttpSink(replies: Reply[] = [TELEGRAM_OK]): Promise<HttpSink> {
  const requests: Recorded[] = [];
  const sink = { requests, replies } as { requests: Recorded[]; replies: Reply[] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: performance.now() });
      const reply = sink.replies[Math.min(requests.length - 1, sink.replies.length - 1)] ?? TELEGRAM_OK;
      res.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return Object.assign(sink, {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** The text field of a recorded sendMessage form body. */
export function formField(body: string, name: string): string | undefined {
  for (const pair of body.split('&')) {
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq) === name) return decodeURIComponent(pair.slice(eq + 1));
  }
  return undefined;
}

/** A sendmail stand-in: appends `argv: …` and the message to DIR/sendmail.log, exits with STATUS. */
export function fakeSendmail(dir: string, status = 0): string {
  const path = join(dir, 'sendmail');
  writeFileSync(path, `#!/bin/sh\n{ printf 'argv: %s\\n' "$*"; cat; printf '\\n--- end\\n'; } >> "${join(dir, 'sendmail.log')}"\nexit ${status}\n`, { mode: 0o755 });
  return path;
}
