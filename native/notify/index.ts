// notify_run (phase 13, notify.md): the frozen summary (summary.ts) rendered per channel, then e-mail, Telegram
// and webhooks one after the other, with legacy's log lines, state keys and RUN_DIR/notify copies.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BoolKey } from '../core/config-keys.js';
import { typedConfig, typedFacts } from '../core/config-view.js';
import { esc } from '../core/esc.js';
import type { ExitStatus } from '../core/exit-code.js';
import { nowSeconds, wallSeconds, type Clock } from '../core/clock.js';
import { freeBytes, logLines, readLog } from '../core/log-lines.js';
import type { RunLog } from '../core/log.js';
import { toolVersion } from '../core/version.js';
import type { NativeStage, NativeStageContext, StageName } from '../core/stage.js';
import { body, cut, emailMessage, exitCodeOf, outcomeOf, redactUrl, telegramText, title, webhookPayload, type SummaryState } from './summary.js';
import { httpAttempt, sendmail, smtpSend, type HttpReply, type HttpResult } from './transport.js';

type Channel = 'email' | 'telegram' | 'webhook';
type Result = 'sent' | 'failed' | 'disabled' | 'skipped';

const WAITS = [1, 2];
const ADDRESS = /^[A-Za-z0-9._%+=-]+@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const TOKEN = /^[0-9]+:[A-Za-z0-9_-]{35,}$/;
const CHAT = /^-?[0-9]+$|^@[A-Za-z][A-Za-z0-9_]{4,}$/;

function isFile(path: string): boolean {
  try {
    return path !== '' && statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The snapshot at phase start (§1.2 "Frozen snapshot"). */
export function gatherSummary(values: ReadonlyMap<string, string>, runLog: string, clock: Clock): SummaryState {
  const config = typedConfig(values);
  const file = values.get('BACKUP_FILE') ?? '';
  let metadataLevel: string | undefined;
  if (file !== '' && isFile(`${file}.metadata`)) {
    metadataLevel = readFileSync(`${file}.metadata`, 'utf8').split('\n').filter((l) => l.startsWith('COMPRESSION_LEVEL='))
      .map((l) => l.slice('COMPRESSION_LEVEL='.length)).join('\n').replace(/\n+$/, '');
  }
  const secondary = values.get('STATUS_SECONDARY') || (config.ENABLE_SECONDARY_BACKUP ? 'skipped' : 'disabled');
  return {
    values, config, facts: typedFacts(values), version: toolVersion(), now: nowSeconds(clock), sendTime: wallSeconds(clock),
    logErrors: logLines('ERROR', runLog), logWarnings: logLines('WARNING', runLog),
    archiveExists: isFile(file), metadataLevel, logFileExists: isFile(values.get('LOG_FILE') ?? ''),
    freeLocal: freeBytes(values.get('LOCAL_BACKUP_PATH') ?? ''),
    freeSecondary: secondary === 'disabled' ? undefined : freeBytes(values.get('SECONDARY_BACKUP_PATH') ?? ''),
  };
}

const sleep = (seconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** notify_json: a top-level (or a.b) field of a JSON reply as legacy prints it; '' when absent or not JSON. */
export function jsonField(text: string, path: string): string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return '';
  }
  for (const key of path.split('.')) {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return '';
    data = (data as Record<string, unknown>)[key];
  }
  if (typeof data === 'boolean') return data ? 'true' : 'false';
  if (typeof data === 'string' || typeof data === 'number') return String(data);
  return '';
}

function retryAfterHeader(reply: HttpReply): string {
  const value = reply.headers['retry-after'];
  const first = Array.isArray(value) ? value[0] : value;
  return /^\s*([0-9]*)/.exec(first ?? '')?.[1] ?? '';
}

class Notifier {
  private readonly notifyDir: string;
  private saidDry = false;
  private saidBelow = false;
  private readonly results: Record<Channel, Result> = { email: 'disabled', telegram: 'disabled', webhook: 'disabled' };
  private recipients: string[] = [];

  constructor(private readonly context: NativeStageContext, private readonly summary: SummaryState, private readonly send: boolean) {
    this.notifyDir = join(context.runDir.path, 'notify');
  }

  private get log(): RunLog {
    return this.context.log;
  }

  private get config(): NativeStageContext['config'] {
    return this.context.config;
  }

  private get facts(): NativeStageContext['facts'] {
    return this.context.facts;
  }

  private keep(name: string, text: string): void {
    mkdirSync(this.notifyDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.notifyDir, name), text, { mode: 0o600 });
  }

  private get userAgent(): string {
    return `proxmox-backup/${this.summary.version}`;
  }

  async run(): Promise<ExitStatus> {
    this.log.step('Sending notifications');
    mkdirSync(this.notifyDir, { recursive: true, mode: 0o700 });
    let anySent = false;
    let anyFailed = false;
    for (const channel of ['email', 'telegram', 'webhook'] as const) {
      let result: Result = this.decide(channel);
      if (result === 'skipped' || result === 'disabled') {
        this.results[channel] = result;
      } else {
        result = channel === 'email' ? await this.email() : channel === 'telegram' ? await this.telegram() : await this.webhooks();
        this.results[channel] = result;
      }
      if (result === 'sent') anySent = true;
      if (result === 'failed') anyFailed = true;
    }
    if (anyFailed && !anySent) this.log.warning('All notification channels failed');
    const c = exitCodeOf(this.summary);
    if (this.send && !(await healthcheck(this.context, c === 2 ? 'fail' : 'success', String(c)))) anyFailed = true;
    this.context.runDir.setState('NOTIFY_EMAIL', this.results.email);
    this.context.runDir.setState('NOTIFY_TELEGRAM', this.results.telegram);
    this.context.runDir.setState('NOTIFY_WEBHOOK', this.results.webhook);
    return anyFailed ? 1 : 0;
  }

  /** Rows 1-3 of §1.2; 'sent' stands for "deliver". */
  private decide(channel: Channel): Result {
    const [key, label]: [BoolKey, string] = channel === 'email' ? ['EMAIL_ENABLED', 'E-mail'] : channel === 'telegram' ? ['TELEGRAM_ENABLED', 'Telegram'] : ['WEBHOOK_ENABLED', 'Webhook'];
    if (!this.config[key]) {
      this.log.skip(`${label} notification disabled`);
      return 'disabled';
    }
    if ((this.facts.DRY_RUN || this.facts.CHECK_ONLY) && !this.config.NOTIFY_DRY_RUN) {
      if (!this.saidDry) this.log.info('Dry run: would send notifications (NOTIFY_DRY_RUN=false)');
      this.saidDry = true;
      return 'skipped';
    }
    const c = exitCodeOf(this.summary);
    const on = this.config.NOTIFY_ON;
    if ((on === 'warning' && c < 1) || (on === 'error' && c < 2)) {
      if (!this.saidBelow) this.log.info(`Notifications not sent: outcome ${outcomeOf(this.summary)} is below NOTIFY_ON=${on}`);
      this.saidBelow = true;
      return 'skipped';
    }
    return 'sent';
  }

  // -------------------------------------------------------------------------------------------------
  // E-mail (§4)

  private rootPamEmail(): { mail: string; source: string } | undefined {
    const root = this.config.SYSTEM_ROOT_PREFIX.replace(/\/$/, '');
    const type = this.facts.PROXMOX_TYPE;
    if (type === 'pve' || type === 'dual') {
      const text = readLog(`${root}/etc/pve/user.cfg`);
      for (const line of text.split('\n')) {
        const fields = line.split(':');
        if (fields[0] === 'user' && fields[1] === 'root@pam') {
          if ((fields[6] ?? '') !== '') return { mail: fields[6] ?? '', source: '/etc/pve/user.cfg' };
          break;
        }
      }
    }
    if (type === 'pbs' || type === 'dual') {
      const text = readLog(`${root}/etc/proxmox-backup/user.cfg`);
      let inside = false;
      for (const line of text.split('\n')) {
        const fields = line.trim().split(/\s+/);
        if (line.startsWith('user: ')) inside = fields[1] === 'root@pam';
        if (inside && fields[0] === 'email' && (fields[1] ?? '') !== '') return { mail: fields[1] ?? '', source: '/etc/proxmox-backup/user.cfg' };
      }
    }
    return undefined;
  }

  private findRecipients(): boolean {
    let list = this.config.EMAIL_RECIPIENT;
    this.recipients = [];
    if (list.replace(/[\s,]/g, '') === '') {
      const found = this.rootPamEmail();
      if (found === undefined) {
        this.log.warning('No e-mail recipient: EMAIL_RECIPIENT is empty and root@pam has no e-mail address');
        return false;
      }
      list = found.mail;
      this.log.info(`E-mail recipient taken from root@pam in ${found.source}`);
    }
    for (const raw of list.split(',')) {
      const item = raw.trim();
      if (item === '') continue;
      if (ADDRESS.test(item)) this.recipients.push(item);
      else this.log.warning(`Invalid e-mail address ignored: ${esc(item)}`);
    }
    return this.recipients.length > 0;
  }

  private async email(): Promise<Result> {
    for (const key of ['EMAIL_FROM', 'EMAIL_RECIPIENT', 'EMAIL_SUBJECT_PREFIX'] as const) {
      if (/[\r\n]/.test(this.config[key])) {
        this.log.warning(`E-mail not sent: ${key} contains a line break`);
        return 'failed';
      }
    }
    const from = this.config.EMAIL_FROM || `root@${this.facts.HOSTNAME}`;
    if (!/^[A-Za-z0-9._%+=-]+@[A-Za-z0-9.-]+$/.test(from) && !/^[ -~]+ <[A-Za-z0-9._%+=-]+@[A-Za-z0-9.-]+>$/.test(from)) {
      this.log.warning('E-mail not sent: EMAIL_FROM is not a valid address');
      return 'failed';
    }
    if (!this.findRecipients()) return 'failed';
    const smtp = this.config.EMAIL_DELIVERY_METHOD === 'smtp';
    if (smtp && this.config.SMTP_HOST === '') {
      this.log.warning('E-mail not sent: SMTP_HOST is empty');
      return 'failed';
    }
    const message = emailMessage(this.summary, from, this.recipients);
    this.keep('email.eml', message);
    if (!this.send) return 'sent';
    if (!smtp) return this.sendmail(message, '');
    if (await this.smtp(from, message)) return 'sent';
    if (!this.config.EMAIL_FALLBACK_SENDMAIL) return 'failed';
    this.log.info('Falling back to sendmail');
    return this.sendmail(message, ' (fallback)');
  }

  private async sendmail(message: string, suffix: string): Promise<Result> {
    const rc = this.recipients.join(', ');
    this.log.info(`Sending e-mail to ${rc} via sendmail`);
    const path = this.config.SENDMAIL_PATH;
    const result = await sendmail(path, message, this.context.env);
    if (result.ok) {
      this.log.success(`E-mail sent to ${rc} via sendmail${suffix}`);
      return 'sent';
    }
    if (result.reason === 'missing') this.log.warning(`E-mail via sendmail failed: ${esc(path)} not found or not executable`);
    else this.log.warning(`E-mail via sendmail failed: ${result.reason}`);
    return 'failed';
  }

  private async smtp(from: string, message: string): Promise<boolean> {
    const rc = this.recipients.join(', ');
    const where = `${this.config.SMTP_HOST}:${this.config.SMTP_PORT}`;
    this.log.info(`Sending e-mail to ${rc} via SMTP ${where}`);
    const address = /<([^>]+)>$/.exec(from)?.[1] ?? from;
    const tls = this.config.SMTP_TLS;
    const reason = await smtpSend({
      host: this.config.SMTP_HOST, port: this.config.SMTP_PORT, tls: tls === 'tls' || tls === 'none' ? tls : 'starttls',
      user: this.config.SMTP_USER, password: this.config.SMTP_PASSWORD, ehloName: this.facts.HOSTNAME, from: address,
      recipients: this.recipients, message,
    });
    if (reason === undefined) {
      this.log.success(`E-mail sent to ${rc} via SMTP ${where}`);
      return true;
    }
    this.log.warning(`E-mail via SMTP failed: ${reason}`);
    return false;
  }

  // -------------------------------------------------------------------------------------------------
  // Telegram (§3)

  private async centralLookup(): Promise<{ token: string; chat: string } | undefined> {
    const base = this.config.TELEGRAM_SERVER_API_HOST.replace(/\/$/, '');
    const serverId = this.facts.SERVER_ID;
    let result: HttpResult = { reason: '' };
    let reason = '';
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      this.log.debug(`GET ${base}/api/get-chat-id (attempt ${attempt}/3)`);
      result = await httpAttempt(`${base}/api/get-chat-id?server_id=${serverId}`,
        { method: 'GET', headers: { 'User-Agent': this.userAgent, Accept: 'application/json' }, env: this.context.env });
      const wait = WAITS[attempt - 1] ?? 0;
      if ('reason' in result) reason = result.reason;
      else if (result.reply.status === 429 || (result.reply.status >= 500 && result.reply.status <= 599)) reason = `HTTP ${result.reply.status}`;
      else break;
      if (attempt === 3) break;
      this.log.info(`Telegram central server attempt ${attempt}/3 failed (${reason}); retrying in ${wait} s`);
      await sleep(wait);
    }
    if ('reason' in result) {
      this.log.warning(`Telegram central server unreachable: ${reason}`);
      return undefined;
    }
    const { status } = result.reply;
    if (status !== 200) {
      if (status === 403) this.log.warning(`Telegram central server: bot not started; start the bot and send it server ID ${serverId}`);
      else if (status === 409) this.log.warning(`Telegram central server: server ID ${serverId} is not registered`);
      else if (status === 422) this.log.warning(`Telegram central server rejected server ID ${serverId}`);
      else this.log.warning(`Telegram central server returned HTTP ${status}`);
      return undefined;
    }
    const chat = jsonField(result.reply.body, 'chat_id');
    const token = jsonField(result.reply.body, 'bot_token');
    if (!TOKEN.test(token) || !CHAT.test(chat)) {
      this.log.warning('Telegram central server returned an invalid response');
      return undefined;
    }
    this.log.addSecret(token);   // a secret from now on (§6.4)
    this.log.debug('Telegram chat resolved by the central server');
    return { token, chat };
  }

  private async telegram(): Promise<Result> {
    let token: string;
    let chat: string;
    if (this.config.BOT_TELEGRAM_TYPE === 'centralized') {
      if (this.config.TELEGRAM_SERVER_API_HOST === '') return 'failed';   // the load-time WARNING said it
      if (!this.send) {
        this.keep('telegram.txt', telegramText(this.summary, this.results.email));
        return 'sent';
      }
      const found = await this.centralLookup();
      if (found === undefined) return 'failed';
      ({ token, chat } = found);
    } else {
      token = this.config.TELEGRAM_BOT_TOKEN;
      chat = this.config.TELEGRAM_CHAT_ID;
      if (token === '' || chat === '') {
        this.log.warning('Telegram not sent: TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID is empty');
        return 'failed';
      }
      if (!TOKEN.test(token)) {
        this.log.warning('Telegram not sent: TELEGRAM_BOT_TOKEN has an invalid format');
        return 'failed';
      }
      if (!CHAT.test(chat)) {
        this.log.warning('Telegram not sent: TELEGRAM_CHAT_ID has an invalid format');
        return 'failed';
      }
    }
    const text = telegramText(this.summary, this.results.email);
    this.keep('telegram.txt', text);
    if (!this.send) return 'sent';
    const form = `chat_id=${encodeURIComponent(chat)}&text=${encodeURIComponent(text)}`;
    const base = this.config.TELEGRAM_API_BASE.replace(/\/$/, '');
    let reason = '';
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      this.log.debug(`POST ${base}/bot***/sendMessage (attempt ${attempt}/3)`);
      const result = await httpAttempt(`${base}/bot${token}/sendMessage`, {
        method: 'POST', body: form, headers: { 'User-Agent': this.userAgent, 'Content-Type': 'application/x-www-form-urlencoded' },
        env: this.context.env,
      });
      let retry = false;
      let wait = WAITS[attempt - 1] ?? 0;
      if ('reason' in result) {
        reason = result.reason;
        retry = true;
      } else if (result.reply.status >= 200 && result.reply.status <= 299) {
        // eslint-disable-next-line no-restricted-syntax -- Telegram's reply field as legacy's notify_json prints it, not configuration
        if (jsonField(result.reply.body, 'ok') === 'true') {
          this.log.success('Telegram notification sent');
          return 'sent';
        }
        reason = 'invalid response';
      } else {
        const { status } = result.reply;
        reason = `HTTP ${status}`;
        const description = jsonField(result.reply.body, 'description');
        if (description !== '') reason += `: ${cut(description.split('\n')[0] ?? '')}`;
        if (status === 429 || (status >= 500 && status <= 599)) retry = true;
        if (status === 429) {
          let after = jsonField(result.reply.body, 'parameters.retry_after');
          if (after === '') after = retryAfterHeader(result.reply);
          if (after !== '') {
            wait = Number(after);
            if (wait > 30) retry = false;
          }
        }
      }
      if (!retry || attempt === 3) break;
      this.log.info(`Telegram attempt ${attempt}/3 failed (${reason}); retrying in ${wait} s`);
      await sleep(wait);
    }
    this.log.warning(`Telegram notification failed: ${reason}`);
    return 'failed';
  }

  // -------------------------------------------------------------------------------------------------
  // Webhooks (§5)

  private async webhooks(): Promise<Result> {
    const urls = this.config.WEBHOOK_URLS.filter((u) => u !== '');
    if (urls.length === 0) {
      this.log.warning('Webhook not sent: WEBHOOK_URLS is empty');
      return 'failed';
    }
    const auth = this.config.WEBHOOK_AUTH_HEADER;
    if (auth !== '' && !/^[A-Za-z0-9-]+: ?[^\r\n]+$/.test(auth)) {
      this.log.warning('Webhook not sent: WEBHOOK_AUTH_HEADER is not a valid header line');
      return 'failed';
    }
    let all = true;
    for (const [index, url] of urls.entries()) {
      const n = index + 1;
      if (!/^https?:\/\/[^/?#@]*@?[^/?#:@]+(:[0-9]+)?([/?#].*)?$/.test(url)) {
        this.log.warning(`Webhook ${n} not sent: not a valid http(s) URL`);
        all = false;
        continue;
      }
      if (!(await this.webhook(n, url, auth))) all = false;
    }
    return all ? 'sent' : 'failed';
  }

  private async webhook(n: number, url: string, auth: string): Promise<boolean> {
    const shown = redactUrl(url);
    const payload = webhookPayload(this.summary, this.config.WEBHOOK_FORMAT, url);
    if (payload === undefined) {
      this.log.warning(`Webhook ${n} (${shown}) failed: ntfy URL has no topic`);
      return false;
    }
    this.keep(`webhook-${n}.json`, payload.body);
    if (!this.send) return true;
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, 'Content-Type': 'application/json' };
    if (auth !== '') {
      const colon = auth.indexOf(':');
      headers[auth.slice(0, colon)] = auth.slice(colon + 1).replace(/^ /, '');
    }
    let reason = '';
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      this.log.debug(`POST ${shown} (attempt ${attempt}/3)`);
      const result = await httpAttempt(payload.target, { method: 'POST', body: payload.body, headers, env: this.context.env });
      let retry = false;
      let wait = WAITS[attempt - 1] ?? 0;
      if ('reason' in result) {
        reason = result.reason;
        retry = true;
      } else if (result.reply.status >= 200 && result.reply.status <= 299) {
        this.log.success(`Webhook ${n} (${shown}) delivered (HTTP ${result.reply.status})`);
        return true;
      } else {
        const { status } = result.reply;
        reason = `HTTP ${status}`;
        const first = result.reply.body.split('\n')[0] ?? '';
        if (first !== '') this.log.debug(`Response body: ${cut(first)}`);
        if (status === 429 || (status >= 500 && status <= 599)) retry = true;
        if (status === 429) {
          const after = retryAfterHeader(result.reply);
          if (after !== '') {
            wait = Number(after);
            if (wait > 30) retry = false;
          }
        }
      }
      if (!retry || attempt === 3) break;
      this.log.info(`Webhook ${n} (${shown}) attempt ${attempt}/3 failed (${reason}); retrying in ${wait} s`);
      await sleep(wait);
    }
    this.log.warning(`Webhook ${n} (${shown}) failed: ${reason}`);
    return false;
  }
}

/** The ping URL for start, success or fail: the suffix goes before any query. */
export function healthcheckUrl(url: string, kind: 'start' | 'success' | 'fail'): string {
  const q = url.indexOf('?');
  const base = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  const suffix = kind === 'start' ? '/start' : kind === 'fail' ? '/fail' : '';
  return `${base.replace(/\/$/, '')}${suffix}${query}`;
}

/**
 * The healthchecks-style ping (README "Decisions", the dead-man's switch): POST, body = the exit code (empty for
 * start), the §6 limits and retries; real backup runs only. HEALTHCHECK_URL is a secret and never logged. False
 * when it failed (a WARNING).
 */
export async function healthcheck(context: NativeStageContext, kind: 'start' | 'success' | 'fail', body: string): Promise<boolean> {
  const url = context.config.HEALTHCHECK_URL;
  if (url === '' || context.facts.DRY_RUN || context.facts.CHECK_ONLY || context.shadow === true) return true;
  const { log } = context;
  if (!/^https?:\/\/[^/?#@]*@?[^/?#:@]+(:[0-9]+)?([/?#].*)?$/.test(url)) {
    log.warning('Healthcheck ping not sent: HEALTHCHECK_URL is not a valid http(s) URL');
    return false;
  }
  const headers = { 'User-Agent': `proxmox-backup/${toolVersion()}`, 'Content-Type': 'text/plain' };
  let reason = '';
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    log.debug(`Healthcheck ping ${kind} (attempt ${attempt}/3)`);
    const result = await httpAttempt(healthcheckUrl(url, kind), { method: 'POST', body, headers, env: context.env });
    let retry = false;
    let wait = WAITS[attempt - 1] ?? 0;
    if ('reason' in result) {
      reason = result.reason;
      retry = true;
    } else if (result.reply.status >= 200 && result.reply.status <= 299) {
      log.success(`Healthcheck ping ${kind} sent`);
      return true;
    } else {
      const { status } = result.reply;
      reason = `HTTP ${status}`;
      if (status === 429 || (status >= 500 && status <= 599)) retry = true;
      if (status === 429) {
        const after = retryAfterHeader(result.reply);
        if (after !== '') {
          wait = Number(after);
          if (wait > 30) retry = false;
        }
      }
    }
    if (!retry || attempt === 3) break;
    log.info(`Healthcheck ping ${kind} attempt ${attempt}/3 failed (${reason}); retrying in ${wait} s`);
    await sleep(wait);
  }
  log.warning(`Healthcheck ping ${kind} failed: ${reason}`);
  return false;
}

export const notifyStart: NativeStage = async (context) => ((await healthcheck(context, 'start', '')) ? 0 : 1);

/** The stage. `send: false` renders RUN_DIR/notify only (the shadow run, §7). */
export function makeNotifyRun(send: boolean): NativeStage {
  return async (context) => {

    if (context.facts.CHECK_ONLY && !context.config.NOTIFY_DRY_RUN) return 0;
    // The summary renders many state keys by name: the whole snapshot, as a shim sources it.
    const values = new Map([...context.runDir.readContext(), ...context.runDir.readState()]);
    // A shadow run's context has no log file of its own; the messages name the real one (shadow.ts).
    if (context.shadow === true) {
      values.set('LOG_FILE', values.get('SHADOW_LOG_FILE') ?? '');
      // Free space is read where the real tiers are, not in the scratch copy's redirected directories.
      for (const key of ['LOCAL_BACKUP_PATH', 'SECONDARY_BACKUP_PATH']) {
        if (values.has(`SHADOW_ORIG_${key}`)) values.set(key, values.get(`SHADOW_ORIG_${key}`) ?? '');
      }
    }
    const summary = gatherSummary(values, readLog(context.runDir.logPath), context.clock);
    const status = await new Notifier(context, summary, send && context.shadow !== true).run();
    return status;
  };
}

export const notifyRun = makeNotifyRun(true);

export const NATIVE_NOTIFY_STAGES: Partial<Record<StageName, NativeStage>> = { notify_start: notifyStart, notify_run: notifyRun };

// Rendering helpers re-exported for the tests that compare both sides.
export { body, title };
export const notifyDirOf = (runDir: string): string => join(runDir, 'notify');
export const hasNotifyDir = (runDir: string): boolean => existsSync(join(runDir, 'notify'));
