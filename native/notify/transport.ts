// The edges of the notify domain (notify.md §4, §6): one HTTP attempt (no redirect followed, 5 s to connect,
// 20 s per attempt; direct or through the http:// proxy proxy.ts picks), sendmail, and SMTP through nodemailer's
// SMTP connection (always direct). Each returns a result the stage turns into the legacy log lines; no secret is
// put in an error text here (the stage's log redacts too).
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { proxyFor, type ProxyEnv } from './proxy.js';

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
  /** Where the proxy variables come from (proxy.ts): the stage passes its context's environment. */
  readonly env: ProxyEnv;
}

interface Destroyable { destroy(error?: Error): unknown }

/**
 * One attempt, direct or through an http:// proxy (proxy.ts): an http target as an absolute-form request to
 * the proxy, an https target through a CONNECT tunnel with TLS end to end. A reply of any status is a reply;
 * only a network failure is a reason, with the same words whether a proxy is in the way or not (a refused
 * CONNECT is `network error`, as curl's exit 56). The connect limit covers the proxy, the tunnel and TLS.
 */
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
    const route = proxyFor(target, options.env);
    if (route.via === 'unsupported') {
      resolve({ reason: 'network error' });
      return;
    }
    const https = target.protocol === 'https:';
    const headers: Record<string, string> = { ...options.headers };
    const payload = options.body !== undefined ? Buffer.from(options.body, 'utf8') : undefined;
    if (payload !== undefined) headers['Content-Length'] = String(payload.length);
    const live: Destroyable[] = [];
    let settled = false;
    const finish = (result: HttpResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      clearTimeout(connect);
      for (const item of live) item.destroy();
      resolve(result);
    };
    const fail = (error: unknown): void => finish({ reason: networkReason(error) });
    const total = setTimeout(() => fail(timeoutError()), options.totalMs ?? 20_000);
    const connect = setTimeout(() => fail(timeoutError()), options.connectMs ?? 5_000);
    const connected = (): void => clearTimeout(connect);

    const exchange = (req: ClientRequest, connectEvent: 'connect' | 'secureConnect' | undefined): void => {
      live.push(req);
      if (connectEvent !== undefined) req.on('socket', (socket) => socket.once(connectEvent, connected));
      req.on('error', fail);
      req.on('response', (res) => {
        connected();
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => finish({ reply: { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') } }));
      });
      req.end(payload);
    };

    if (route.via === 'direct') {
      exchange((https ? httpsRequest : httpRequest)(target, { method: options.method, headers, agent: false }),
        https ? 'secureConnect' : 'connect');
      return;
    }
    const { proxy } = route;
    const proxyAuth: Record<string, string> = proxy.authorization !== undefined ? { 'Proxy-Authorization': proxy.authorization } : {};
    if (!https) {
      // Absolute form: the proxy gets the whole URL without user info (which becomes Authorization, as in a
      // direct request) and the target's Host.
      const absolute = new URL(target.href);
      absolute.username = '';
      absolute.password = '';
      const auth = target.username !== '' || target.password !== ''
        ? { auth: `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}` } : {};
      exchange(httpRequest({
        host: proxy.host, port: proxy.port, method: options.method, path: absolute.href, agent: false, ...auth,
        headers: { Host: target.host, ...proxyAuth, ...headers },
      }), 'connect');
      return;
    }
    const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    const authority = `${target.hostname}:${target.port === '' ? '443' : target.port}`;
    const tunnel = httpRequest({
      host: proxy.host, port: proxy.port, method: 'CONNECT', path: authority, agent: false,
      headers: { Host: authority, ...proxyAuth },
    });
    live.push(tunnel);
    tunnel.on('error', fail);
    tunnel.on('connect', (res, socket) => {
      live.push(socket);
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        fail(Object.assign(new Error('the proxy refused the tunnel'), { code: 'PBK_PROXY_CONNECT' }));
        return;
      }
      const secure = tlsConnect({ socket, host, ...(isIP(host) === 0 ? { servername: host } : {}), ALPNProtocols: ['http/1.1'] });
      live.push(secure);
      secure.once('secureConnect', connected);
      secure.on('error', fail);
      exchange(httpsRequest(target, { method: options.method, headers, createConnection: () => secure }), undefined);
    });
    tunnel.end();
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
