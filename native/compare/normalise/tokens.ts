// Literal values of one run (its sandbox, RUN_DIR, the machine's server id) replaced by stable tokens, longest
// first, so that two runs in two sandboxes, or on two machines, compare equal when they did the same thing.

export type Replacements = readonly (readonly [literal: string, token: string])[];

export function replaceLiterals(text: string, replacements: Replacements): string {
  let out = text;
  for (const [literal, token] of [...replacements].sort((a, b) => b[0].length - a[0].length)) {
    if (literal !== '') out = out.split(literal).join(token);
  }
  return out;
}

/** Run directories and other mkdtemp names: the random suffix changes every run. */
export function tokeniseTempNames(text: string): string {
  return text
    .replace(/proxmox-backup-run\.[A-Za-z0-9]{6}/g, 'proxmox-backup-run.<RND>')
    .replace(/proxmox-backup-shadow\.[A-Za-z0-9]{6}/g, 'proxmox-backup-shadow.<RND>');
}
