// Retention of one tier as a pure policy (storage.md §4 and §5, decisions 5 and 22): which of this host's backup
// sets a tier keeps and which it deletes, and the rules that kept each one. No I/O: the tier code lists the tier,
// builds the candidates with `retentionCandidates`, asks `decideRetention`, then deletes and logs at the edge.
//
// The decision depends on the names only (the timestamp in the name, never mtime): GFS buckets are counted where
// backups exist, not on the calendar, so no clock is read here. The run's clock reaches retention through the
// name of the archive this run made (`current`, from RUN_TIMESTAMP), which is never deleted.

/** What a tier holds: archives (`.tar…`) or run logs (`.log`), storage.md §4 step 1 and §9. */
export type RetentionKind = 'backup' | 'log';

/** One set of this host in one tier. */
export interface RetentionCandidate {
  /** The archive (or log) file name. */
  readonly name: string;
  /** `YYYY-MM-DD_HH-MM-SS` from the name. */
  readonly timestamp: string;
  /** Its `.sha256` sidecar is in the same tier (decision 22). */
  readonly verified: boolean;
}

export type GfsRule = 'daily' | 'weekly' | 'monthly' | 'yearly';
export const GFS_RULES: readonly GfsRule[] = ['daily', 'weekly', 'monthly', 'yearly'];

export interface GfsCounts {
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
  readonly yearly: number;
}

/** Count retention (`MAX_<TIER>_BACKUPS`, 0 = no limit) or GFS (any `RETENTION_*` > 0). */
export type RetentionPolicy =
  | { readonly kind: 'count'; readonly max: number }
  | ({ readonly kind: 'gfs' } & GfsCounts);

/** Why a set stays: the GFS rules that kept it, `count` (within the first N), `current` (this run's archive). */
export type KeepReason = GfsRule | 'count' | 'current';

export interface KeptSet extends RetentionCandidate {
  /** In rule order (daily, weekly, monthly, yearly), then `current`; never empty. */
  readonly reasons: readonly KeepReason[];
}

export interface RetentionDecision {
  /** Verified sets that stay, newest first. */
  readonly keep: readonly KeptSet[];
  /** Verified sets to delete whole (archive first, then its sidecars), newest first. */
  readonly delete: readonly RetentionCandidate[];
  /** Sets without their `.sha256`: neither counted, nor kept by a rule, nor deleted; one WARNING each. */
  readonly unverified: readonly RetentionCandidate[];
}

const STAMP = String.raw`(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)`;
const SUFFIX: Record<RetentionKind, string> = {
  // `<ext>` is a compressor's extension: the sidecars of an uncompressed `.tar` (`.tar.sha256`, `.tar.metadata`)
  // fit the spec's `(\.[a-z0-9]+)?` but are parts of a set, never a backup of their own (README, decisions).
  backup: String.raw`\.tar(?:\.(?!sha256$|metadata$)[a-z0-9]+)?(?:\.age)?`,
  log: String.raw`\.log`,
};

/**
 * The retention policy the configuration selects (storage.md §5): GFS as soon as one count is > 0, for backups
 * only (logs stay count-based); otherwise the plain count.
 */
export function selectPolicy(kind: RetentionKind, max: number, gfs: GfsCounts): RetentionPolicy {
  const anyGfs = GFS_RULES.some((rule) => gfs[rule] > 0);
  if (kind === 'backup' && anyGfs) return { kind: 'gfs', daily: gfs.daily, weekly: gfs.weekly, monthly: gfs.monthly, yearly: gfs.yearly };
  return { kind: 'count', max };
}

/**
 * This host's sets among the file names of one tier (storage.md §4 step 1): `<type>-backup-<fqdn>-<ts>.tar…`
 * (or `….log`). Every other name (other hosts, other types, unparsable names, `.tmp` files) is left out, so it is
 * never touched. A set is verified when `<name>.sha256` is among the names; logs have no sidecar and always are.
 */
export function retentionCandidates(names: Iterable<string>, type: string, fqdn: string, kind: RetentionKind): RetentionCandidate[] {
  const all = new Set(names);
  const prefix = `${type}-backup-${fqdn}-`;
  const pattern = new RegExp(`^${STAMP}${SUFFIX[kind]}$`);
  const found: RetentionCandidate[] = [];
  for (const name of all) {
    if (!name.startsWith(prefix)) continue;
    const match = pattern.exec(name.slice(prefix.length));
    if (match?.[1] === undefined) continue;
    found.push({ name, timestamp: match[1], verified: kind === 'log' || all.has(`${name}.sha256`) });
  }
  return found;
}

/** Bytewise comparison (never locale-aware), as `LC_ALL=C sort`. Names are ASCII after the shared prefix. */
function bytewise(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Newest first by the name's timestamp; equal timestamps by name, bytewise descending (storage.md §4 step 2). */
export function newestFirst<T extends RetentionCandidate>(candidates: readonly T[]): T[] {
  return [...candidates].sort((a, b) => bytewise(b.timestamp, a.timestamp) || bytewise(b.name, a.name));
}

/** Days since 1970-01-01 of a proleptic Gregorian date (exact integer arithmetic, no time zone involved). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/**
 * The ISO 8601 week of a calendar day `YYYY-MM-DD` as `date '+%G-W%V'` prints it (`2026-W01`). The day is a
 * calendar date, not an instant: no time zone or DST change can move it. A day that does not exist (`2026-02-30`)
 * has no week: '' (as `date -d` fails on it on the legacy side).
 */
export function isoWeek(day: string): string {
  const match = /^(\d{4})-(\d\d)-(\d\d)$/.exec(day);
  if (match === null) return '';
  const [year, month, date] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const days = daysFromCivil(year, month, date);
  const back = civilFromDays(days);
  if (back.year !== year || back.month !== month || back.day !== date) return '';
  const weekday = (((days + 3) % 7) + 7) % 7 + 1;          // 1970-01-01 was a Thursday; Monday = 1 … Sunday = 7
  const thursday = days - weekday + 4;                     // the Thursday of the same ISO week decides its year
  const weekYear = civilFromDays(thursday).year;
  const week = Math.floor((thursday - daysFromCivil(weekYear, 1, 1)) / 7) + 1;
  return `${weekYear}-W${String(week).padStart(2, '0')}`;
}

/** The bucket of a timestamp for one GFS rule (storage.md §5 step 2). */
export function gfsBucket(rule: GfsRule, timestamp: string): string {
  const day = timestamp.slice(0, 10);
  switch (rule) {
    case 'daily': return day;
    case 'weekly': return isoWeek(day);
    case 'monthly': return day.slice(0, 7);
    case 'yearly': return day.slice(0, 4);
  }
}

function checkCount(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`retention: ${what} must be an integer >= 0, got ${value}`);
}

/**
 * Keep or delete each verified set of one tier (storage.md §4 steps 2-4, §5 steps 1-3, decision 22).
 * `current` is the archive this run made (or would make, in dry-run): never deleted. Unverified sets take no
 * part: they are reported in `unverified`, in the same newest-first order.
 */
export function decideRetention(candidates: readonly RetentionCandidate[], policy: RetentionPolicy, current: string | null): RetentionDecision {
  if (policy.kind === 'count') checkCount('MAX', policy.max);
  else for (const rule of GFS_RULES) checkCount(`RETENTION_${rule.toUpperCase()}`, policy[rule]);
  const ordered = newestFirst(candidates);
  const verified = ordered.filter((c) => c.verified);
  const unverified = ordered.filter((c) => !c.verified);
  const reasons = new Map<string, KeepReason[]>(verified.map((c) => [c.name, []]));
  const reasonsOf = (name: string): KeepReason[] => reasons.get(name) ?? [];

  if (policy.kind === 'count') {
    verified.forEach((c, index) => {
      if (policy.max === 0 || index < policy.max) reasonsOf(c.name).push('count');
    });
  } else {
    for (const rule of GFS_RULES) {
      const n = policy[rule];
      let kept = 0;
      let last: string | null = null;
      for (const c of verified) {
        if (kept >= n) break;
        const bucket = gfsBucket(rule, c.timestamp);
        if (bucket === last) continue;
        last = bucket;
        kept += 1;
        reasonsOf(c.name).push(rule);
      }
    }
  }
  if (current !== null && reasons.has(current)) reasonsOf(current).push('current');

  const keep: KeptSet[] = [];
  const remove: RetentionCandidate[] = [];
  for (const c of verified) {
    const why = reasonsOf(c.name);
    if (why.length > 0) keep.push({ ...c, reasons: why });
    else remove.push(c);
  }
  return { keep, delete: remove, unverified };
}

/** The DEBUG line for each set GFS keeps by a rule (storage.md §5 step 4), newest first; none for count. */
export function keepMessages(decision: RetentionDecision): string[] {
  return decision.keep
    .map((k) => ({ name: k.name, rules: k.reasons.filter((r) => r !== 'count' && r !== 'current') }))
    .filter((k) => k.rules.length > 0)
    .map((k) => `Keep ${k.name}: ${k.rules.join(', ')}`);
}

/** The WARNING for each unverified set (storage.md §4 step 1, decision 22), newest first. */
export function unverifiedMessages(decision: RetentionDecision, tier: string): string[] {
  return decision.unverified.map((c) => `Unverified backup ${c.name} in ${tier} (no checksum): not counted by retention`);
}
