// One tier's rotation as lines and deletions (storage.md §4, §5, §9; decision 22): from the tier's file names to the
// WARNINGs for unverified sets, the header line, GFS's DEBUG lines and the sets to delete, newest first. Pure; the
// stage lists the tier and deletes (native/storage/index.ts). The policy itself is native/storage/retention.ts.
import { decideRetention, keepMessages, retentionCandidates, selectPolicy, unverifiedMessages, type GfsCounts,
  type RetentionKind } from './retention.js';

export type TierName = 'primary' | 'secondary' | 'cloud';

export interface RotationInput {
  readonly tier: TierName;
  readonly kind: RetentionKind;
  /** The regular files of the tier (names). */
  readonly names: readonly string[];
  /** This run's archive (or log), never deleted and never unverified; '' when the run made none. */
  readonly current: string;
  /** MAX_<TIER>_BACKUPS or MAX_<TIER>_LOGS. */
  readonly max: number;
  readonly gfs: GfsCounts;
  readonly type: string;
  readonly fqdn: string;
}

export interface RotationPlan {
  readonly unverified: readonly string[];
  readonly header: string;
  readonly keepDebug: readonly string[];
  /** Newest first. */
  readonly deletions: readonly string[];
  /** This host's sets the rotation counted (unverified ones left out). */
  readonly count: number;
}

export function planRotation(input: RotationInput): RotationPlan {
  const candidates = retentionCandidates(input.names, input.type, input.fqdn, input.kind)
    .map((c) => (c.name === input.current ? { ...c, verified: true } : c));
  const policy = selectPolicy(input.kind, input.max, input.gfs);
  const decision = decideRetention(candidates, policy, input.current === '' ? null : input.current);
  const count = decision.keep.length + decision.delete.length;
  const noun = input.kind === 'backup' ? 'backups' : 'logs';
  const header = policy.kind === 'gfs'
    ? `Rotation ${input.tier}: GFS d=${policy.daily} w=${policy.weekly} m=${policy.monthly} y=${policy.yearly}`
    : `Rotation ${input.tier}: ${count} ${noun}, keeping ${input.max}`;
  return {
    unverified: unverifiedMessages(decision, input.tier),
    header,
    keepDebug: keepMessages(decision),
    deletions: decision.delete.map((c) => c.name),
    count,
  };
}

/**
 * storage_remove_orphans (storage.md §4 item 6): this host's `.sha256`/`.metadata` files (bytewise order) whose
 * archive is absent (EXISTS: anything at that name, `-e`) and whose timestamp is older than the oldest archive left in the tier.
 */
export function orphanedSidecars(names: readonly string[], type: string, fqdn: string, exists: (name: string) => boolean): string[] {
  const archives = retentionCandidates(names, type, fqdn, 'backup');
  if (archives.length === 0) return [];
  const oldest = archives.map((c) => c.timestamp).sort()[0] ?? '';
  const prefix = `${type}-backup-${fqdn}-`;
  return names
    .filter((name) => name.startsWith(prefix) && (name.endsWith('.sha256') || name.endsWith('.metadata')))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .filter((file) => {
      const base = file.replace(/\.sha256$/, '').replace(/\.metadata$/, '');
      if (exists(base)) return false;
      const stamp = base.slice(prefix.length).split('.', 1)[0] ?? '';
      return Buffer.compare(Buffer.from(stamp), Buffer.from(oldest)) < 0;
    });
}
