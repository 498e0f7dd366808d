// Server identity (run.md §8, decision 18): a 16-digit id derived once from stable host facts,
// persisted in BASE_DIR/config/.server_identity with a checksum, and kept across runs.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface IdentitySources {
  readonly machineId: string;
  readonly macs: readonly string[];
  readonly shortHostname: string;
  readonly productUuid: string;
}

const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export function deriveServerId(sources: IdentitySources): string {
  const macs = sources.macs.map((m) => m.toLowerCase()).sort().join(',');
  const material = `${sources.machineId.trim()}|${macs}|${sources.shortHostname}|${sources.productUuid.trim()}`;
  const first16 = BigInt(`0x${sha256Hex(material).slice(0, 16)}`);
  return (first16 % 10n ** 16n).toString().padStart(16, '0');
}

export function identityChecksum(serverId: string): string {
  return sha256Hex(`SERVER_ID=${serverId}`).slice(0, 16);
}

export function formatIdentityFile(serverId: string): string {
  return `SERVER_ID=${serverId}\nCHECKSUM=${identityChecksum(serverId)}\n`;
}

/** The id held by an identity file's text, or undefined when the text is not a valid identity file. */
export function parseIdentityFile(text: string): string | undefined {
  const match = /^SERVER_ID=(\d{16})\nCHECKSUM=([0-9a-f]{16})\n?$/.exec(text);
  if (match === null || match[1] === undefined) return undefined;
  return identityChecksum(match[1]) === match[2] ? match[1] : undefined;
}

export type IdentityState =
  | { readonly state: 'valid'; readonly id: string }
  | { readonly state: 'missing' }
  | { readonly state: 'corrupt' };

/**
 * The identity file at `file` as legacy identity_state reads it: missing when nothing is there (`-e`: also a
 * dangling link or a path that cannot be searched), corrupt when it is not a readable regular file or its text
 * (trailing newlines dropped, as `$(< file)` does) is not a valid identity file, else valid with its id.
 */
export function readIdentityState(file: string): IdentityState {
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch {
    return { state: 'missing' };
  }
  let text = '';
  try {
    if (isFile) text = readFileSync(file, 'utf8');
  } catch {
    text = '';
  }
  const id = parseIdentityFile(text.replace(/\n+$/, ''));
  return id === undefined ? { state: 'corrupt' } : { state: 'valid', id };
}

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Reads the identity inputs of the running host (never under SYSTEM_ROOT_PREFIX, run.md §8). */
export function readIdentitySources(shortHostname: string, hostRoot = '/'): IdentitySources {
  const machineId = readTrimmed(join(hostRoot, 'etc/machine-id')) || readTrimmed(join(hostRoot, 'var/lib/dbus/machine-id'));
  const macs: string[] = [];
  const netDir = join(hostRoot, 'sys/class/net');
  let interfaces: string[] = [];
  try {
    interfaces = readdirSync(netDir);
  } catch {
    interfaces = [];
  }
  for (const name of interfaces) {
    if (name === 'lo') continue;
    const mac = readTrimmed(join(netDir, name, 'address')).toLowerCase();
    if (mac !== '' && !/^(00:)+00$/.test(mac)) macs.push(mac);
  }
  const productUuid = readTrimmed(join(hostRoot, 'sys/class/dmi/id/product_uuid'));
  return { machineId, macs, shortHostname, productUuid };
}
