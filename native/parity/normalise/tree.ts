// Directory-tree normaliser: a staging tree (or any collected tree) as the same manifest lines the archive
// normaliser writes, so a shadow collection can be compared with the real one before any archive exists.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

function walk(root: string, relative: string, out: string[], self: { uid: number; gid: number }): void {
  const full = relative === '.' ? root : join(root, relative);
  const stat = lstatSync(full);
  const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
  const owner = `${stat.uid === self.uid ? '<self>' : stat.uid}:${stat.gid === self.gid ? '<self>' : stat.gid}`;
  const shown = relative === '.' ? './' : `./${relative}${stat.isDirectory() ? '/' : ''}`;
  if (stat.isDirectory()) {
    out.push(`${JSON.stringify(shown)} d ${mode} ${owner} 0 -`);
    for (const name of readdirSync(full).sort()) walk(root, relative === '.' ? name : join(relative, name), out, self);
  } else if (stat.isSymbolicLink()) {
    out.push(`${JSON.stringify(shown)} l ${mode} ${owner} 0 - -> ${JSON.stringify(readlinkSync(full))}`);
  } else if (stat.isFile()) {
    const sha = createHash('sha256').update(readFileSync(full)).digest('hex');
    out.push(`${JSON.stringify(shown)} f ${mode} ${owner} ${stat.size} ${sha}`);
  } else {
    out.push(`${JSON.stringify(shown)} ? ${mode} ${owner} 0 -`);
  }
}

export function treeManifest(root: string, self = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }): string {
  const lines: string[] = [];
  try {
    lstatSync(root);
  } catch {
    return '(absent)\n';
  }
  walk(root, '.', lines, self);
  return lines.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map((l) => `${l}\n`).join('');
}
