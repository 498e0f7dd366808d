// The real-world inputs of the CLI, gathered in one place (STYLE §2.4): install dir, BASE_DIR, PBK_NOW,
// the environment, this node's names and identity. Nothing below native/cli reads them directly.
import { readFileSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeClock, type Clock } from '../core/clock.js';
import { execCommand, succeeded } from '../core/exec.js';
import { deriveServerId, parseIdentityFile, readIdentitySources } from '../core/identity.js';
import type { NodeIdentity } from '../switch/flags.js';

export interface CliEnvironment {
  readonly codeDir: string;      // where bin/, legacy/ and dist/ live
  readonly baseDir: string;      // BASE_DIR (config.md §1)
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The one clock of this process: PBK_NOW, read here once, pins its run clock (native/core/clock.ts). */
  readonly clock: Clock;
  /** The run clock (clock.now). */
  readonly now: () => Date;
}

export class UsageError extends Error {}

/** dist/native/cli/environment.js → the install dir three levels up. */
export function codeDirectory(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

export function readEnvironment(): CliEnvironment {
  const codeDir = codeDirectory();
  const env = process.env;
  const baseDir = env.BASE_DIR !== undefined && env.BASE_DIR !== '' ? resolve(env.BASE_DIR) : codeDir;
  let isDir = false;
  try {
    isDir = statSync(baseDir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new UsageError(`Invalid BASE_DIR: ${baseDir}`);
  const pinned = env.PBK_NOW;
  if (pinned !== undefined && !/^\d+$/.test(pinned)) throw new UsageError(`Invalid PBK_NOW: '${pinned}'`);
  const clock = makeClock(pinned === undefined ? undefined : Number(pinned));
  return { codeDir, baseDir, env, clock, now: () => clock.now() };
}

export function identityFilePath(baseDir: string): string {
  return join(baseDir, 'config', '.server_identity');
}

async function commandLine(argv: readonly string[]): Promise<string> {
  const result = await execCommand(argv, { timeoutMs: 5000, env: process.env });
  return succeeded(result) ? result.stdout.trim() : '';
}

/** Short name and fqdn, from `hostname` on PATH (a fixture host's stub under test), else the kernel's name. */
export async function nodeNames(): Promise<{ short: string; fqdn: string }> {
  const short = (await commandLine(['hostname'])).split('.')[0] || osHostname().split('.')[0] || 'localhost';
  const fqdn = (await commandLine(['hostname', '-f'])) || short;
  return { short, fqdn };
}

/** The persisted id when the identity file is valid, else the derived one (nothing is written here). */
export async function nodeIdentity(baseDir: string): Promise<NodeIdentity & { persisted: boolean }> {
  const names = await nodeNames();
  let persisted: string | undefined;
  try {
    persisted = parseIdentityFile(readFileSync(identityFilePath(baseDir), 'utf8'));
  } catch {
    persisted = undefined;
  }
  const serverId = persisted ?? deriveServerId(readIdentitySources(names.short));
  return { serverId, hostnames: [...new Set([names.short, names.fqdn])], persisted: persisted !== undefined };
}
