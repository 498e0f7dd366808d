// The edges of the notify domain (notify.md §4, §6): one HTTP attempt (no redirect followed, 5 s to connect,
// 20 s per attempt), sendmail, and SMTP through nodemailer's SMTP connection. Each returns a result the stage
// turns into the legacy log lines; no secret is put in an error text here (the stage's log redacts too).
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

export interface HttpReply { readonly status: number; readonly headers: IncomingHttpHeaders; readonly body: string }
export type HttpResult = { readonly reply: HttpReply } | { readonly reason: string };

/** §6.2: a Node network error → the words curl's exit code gives on the legacy side. */
export function networkReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'name resolution failed';
  if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET'].includes(code)) return 'connection failed';
  if (code === 'PBK_TIMEOUT' || code === 'ETIMEDOUT') return 'timeout';
  if (code.startsWith('ERR_TLS_') || code.startsWith('CERT_') || code.includes('SELF_SIGNED') || code.startsWith('UNABLE_TO_')
    || code.startsWith('ERR_SSL_') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT') return 'TLS error';
  return 'network error';
}

function timeoutError(): Error {
  return Object.assign(new Error('timeout'), { code: 'PBK_TIMEOUT' });
}

export interface HttpOptions {
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly connectMs?: number;
  readonly totalMs?: number;
}

/** One attempt. A reply of any status is a reply; only a network failure is a reason. */
export function httpAttempt(url: string, options: HttpOptions): Promise<HttpResult> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ reason: 'network error' });
      return;
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      resolve({ reason: 'network error' });
      return;
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { ...options.headers };
    const payload = options.body !== undefined ? Buffer.from(options.body, 'utf8') : undefined;
    if (payload !== undefined) headers['Content-Length'] = String(payload.length);
    let settled = false;
    const finish = (result: HttpResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      clearTimeout(connect);
      resolve(result);
    };
    const req = send(target, { method: options.method, headers, agent: false });
    const total = setTimeout(() => req.destroy(timeoutError()), options.totalMs ?? 20_000);
    const connect = setTimeout(() => req.destroy(timeoutError()), options.connectMs ?? 5_000);
    req.on('socket', (socket) => {
      socket.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connect));
    });
    req.on('error', (error) => finish({ reason: networkReason(error) }));
    req.on('response', (res) => {
      clearTimeout(connect);
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => finish({ reason: networkReason(error) }));
      res.on('end', () => finish({ reply: { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') } }));
    });
    req.end(payload);
  });
}

export type SendmailResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** §4.3: SENDMAIL_PATH -t -i with the message on stdin, 60 s. */
export function sendmail(path: string, message: string, env: Readonly<Record<string, string | undefined>>): Promise<SendmailResult> {
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    accessSync(path, constants.X_OK);
  } catch {
    return Promise.resolve({ ok: false, reason: 'missing' });
  }
  return new Promise((resolve) => {
    const child = spawn(path, ['-t', '-i'], { stdio: ['pipe', 'ignore', 'ignore'], env: { ...env } });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    }, 60_000);
    child.stdin.on('error', () => undefined);
    child.stdin.end(message);
    child.on('error', () => {
      clearTimeout(timer);
      resolve({ ok: false, reason: 'exit code 126' });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve({ ok: false, reason: 'timeout after 60 s' });
      else if (code === 0) resolve({ ok: true });
      else resolve({ ok: false, reason: `exit code ${code ?? 128 + signalNumber(signal)}` });
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 0;
}

export interface SmtpOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: 'tls' | 'starttls' | 'none';
  readonly user: string;
  readonly password: string;
  readonly ehloName: string;
  readonly from: string;
  readonly recipients: readonly string[];
  /** LF line endings; sent with CRLF. */
  readonly message: string;
}

/** §4.4: the failure reason of an SMTP error from nodemailer. */
function smtpReason(error: unknown): string {
  const e = error as { code?: string; errno?: string; message?: string } | undefined;
  const code = e?.code ?? '';
  if (code === 'EDNS') return 'name resolution failed';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (code === 'ETLS') return 'TLS error';
  if (code === 'EAUTH') return 'authentication failed';
  if (code === 'ECONNECTION' || code === 'ESOCKET') {
    const inner = networkReason({ code: e?.errno ?? '' });
    if (inner === 'TLS error' || /certificate|SSL|TLS/i.test(e?.message ?? '')) return 'TLS error';
    if (inner === 'network error') return 'connection failed';
    return inner;
  }
  return 'rejected by server';
}

/** One SMTP dialogue; undefined on success, else the reason. */
export async function smtpSend(options: SmtpOptions): Promise<string | undefined> {
  const connection = new SMTPConnection({
    host: options.host, port: options.port, secure: options.tls === 'tls', ignoreTLS: options.tls === 'none',
    opportunisticTLS: options.tls === 'starttls', name: options.ehloName, connectionTimeout: 10_000, greetingTimeout: 10_000,
    socketTimeout: 60_000, logger: false, debug: false,
  });
  const deadline = setTimeout(() => connection.close(), 60_000);
  let failure: unknown;
  connection.on('error', (error: unknown) => {
    failure ??= error;
  });
  try {
    await new Promise<void>((resolve, reject) => connection.connect((error) => (error ? reject(error) : resolve())));
    if (options.user !== '') {
      // A password never travels in clear (decision 9): STARTTLS must have happened.
      if (options.tls === 'starttls' && !connection.secure) return 'STARTTLS not offered';
      const offered = (connection as unknown as { _supportedAuth?: string[] })._supportedAuth ?? [];
      const method = offered.includes('PLAIN') ? 'PLAIN' : offered.includes('LOGIN') ? 'LOGIN' : undefined;
      if (method === undefined) return 'authentication failed';
      await new Promise<void>((resolve, reject) => connection.login({ user: options.user, pass: options.password, method } as never,
        (error) => (error ? reject(error) : resolve())));
    }
    const crlf = options.message.replace(/\r?\n/g, '\r\n');
    await new Promise<void>((resolve, reject) => connection.send({ from: options.from, to: [...options.recipients] }, crlf,
      (error, info) => {
        if (error) reject(error);
        else if (info.rejected.length > 0) reject(Object.assign(new Error('recipient refused'), { code: 'EENVELOPE' }));
        else resolve();
      }));
    connection.quit();
    return undefined;
  } catch (error) {
    connection.close();
    return smtpReason(failure ?? error);
  } finally {
    clearTimeout(deadline);
  }
}

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
