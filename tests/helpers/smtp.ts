// A real SMTP server on loopback (aiosmtpd, through tests/helpers/smtp-sink): each message it accepts is one JSON
// line in `out`. Started per test; stopSmtpSinks() in afterEach.
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { REPO } from '../legacy/run.js';

export interface Sink { port: number; out: string; server: ResultPromise }
let servers: ResultPromise[] = [];

export async function stopSmtpSinks(): Promise<void> {
  for (const server of servers) server.kill();
  await Promise.allSettled(servers);
  servers = [];
}

export async function smtpSink(dir: string, rejectRcpt?: string): Promise<Sink> {
  const out = join(dir, 'smtp.jsonl');
  const server = execa('/usr/bin/python3', [join(REPO, 'tests', 'helpers', 'smtp-sink'), out, ...(rejectRcpt === undefined ? [] : ['--reject-rcpt', rejectRcpt])],
    { reject: false, buffer: false });
  servers.push(server);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('smtp-sink did not start')), 10_000);
    server.stdout?.on('data', (chunk: Buffer) => {
      const match = /PORT (\d+)/.exec(chunk.toString());
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  return { port, out, server };
}

