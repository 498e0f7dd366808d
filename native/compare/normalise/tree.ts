// Directory-tree normaliser: a staging tree (or any collected tree) as the same manifest lines the archive
// normaliser writes, so a shadow collection can be compared with the real one before any archive exists.
// Names are read as bytes (a host may hold any byte in a file name) and shown in their esc() form.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { escBytes } from '../../core/esc.js';

const SLASH = Buffer.from('/');

function walk(root: Buffer, relative: Buffer | undefined, out: string[], self: { uid: number; gid: number }): void {
  const full = relative === undefined ? root : Buffer.concat([root, SLASH, relative]);
  const stat = lstatSync(full);
  const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
  const owner = `${stat.uid === self.uid ? '<self>' : stat.uid}:${stat.gid === self.gid ? '<self>' : stat.gid}`;
  const name = relative === undefined ? './' : `./${escBytes(relative)}${stat.isDirectory() ? '/' : ''}`;
  const shown = JSON.stringify(name);
  if (stat.isDirectory()) {
    out.push(`${shown} d ${mode} ${owner} 0 -`);
    const children = readdirSync(full, { encoding: 'buffer' }).sort(Buffer.compare);
    for (const child of children) walk(root, relative === undefined ? child : Buffer.concat([relative, SLASH, child]), out, self);
  } else if (stat.isSymbolicLink()) {
    out.push(`${shown} l ${mode} ${owner} 0 - -> ${JSON.stringify(escBytes(readlinkSync(full, { encoding: 'buffer' })))}`);
  } else if (stat.isFile()) {
    let sha = '-';
    try {
      sha = createHash('sha256').update(readFileSync(full)).digest('hex');
    } catch {
      sha = '<unreadable>';
    }
    out.push(`${shown} f ${mode} ${owner} ${stat.size} ${sha}`);
  } else {
    out.push(`${shown} ? ${mode} ${owner} 0 -`);
  }
}

export function treeManifest(root: string, self = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }): string {
  const lines: string[] = [];
  try {
    lstatSync(root);
  } catch {
    return '(absent)\n';
  }
  walk(Buffer.from(root), undefined, lines, self);
  return lines.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map((l) => `${l}\n`).join('');
}
