// One clock (ARCHITECTURE "One clock, the host root, exec"): the only module of native/ besides the CLI edge that
// reads the system time. Two readings, because the spec pins only one of them:
//   - the run clock: PBK_NOW (epoch seconds; tests and the parity harness pin it) or the system time. It gives
//     RUN_TIMESTAMP, START_TIME, the archive's duration, the summary's "now" and the metrics' timestamps.
//   - the wall clock: always the system time. Log line timestamps, phase durations, send times, the start of a
//     shadow experiment (compared with file mtimes) — what PBK_NOW must not freeze.
// The CLI reads PBK_NOW once (native/cli/environment.ts) and passes the clock down; a stage gets it in its
// context (native/core/stage.ts).

export interface Clock {
  /** The run clock: the pinned instant when PBK_NOW is set, else the system time. */
  now(): Date;
  /** The wall clock in milliseconds since the epoch: the system time, whatever is pinned. */
  wallMs(): number;
  /** The pinned run time in epoch seconds, undefined when the run clock follows the system time. */
  readonly pinned: number | undefined;
}

/** A clock pinned at `pinnedSeconds` (epoch seconds), or following the system time when undefined. */
export function makeClock(pinnedSeconds?: number): Clock {
  return {
    pinned: pinnedSeconds,
    now: () => (pinnedSeconds !== undefined ? new Date(pinnedSeconds * 1000) : new Date()),
    wallMs: () => Date.now(),
  };
}

/** The value of PBK_NOW as the spec reads it: unset or empty follows the system time. */
export function parsePinnedNow(value: string | undefined): number | undefined {
  return value !== undefined && value !== '' ? Number(value) : undefined;
}

/** The clock an environment map describes (PBK_NOW): for callers handed an environment but no clock (tests). */
export function clockFromEnv(env: Readonly<Record<string, string | undefined>>): Clock {
  return makeClock(parsePinnedNow(env.PBK_NOW));
}

/** core_now: the run clock in whole epoch seconds. */
export function nowSeconds(clock: Clock): number {
  return Math.trunc(clock.now().getTime() / 1000);
}

/** The wall clock in whole epoch seconds (durations, send times). */
export function wallSeconds(clock: Clock): number {
  return Math.trunc(clock.wallMs() / 1000);
}

/**
 * The run's time zone for this process's own date formatting (log line timestamps): phase 0 resolves TZ and the
 * process follows it, as the legacy pipeline exports it.
 */
export function applyTimezone(tz: string): void {
  process.env.TZ = tz;
}

/** The wall clock as a Date (log line timestamps). */
export function wallDate(clock: Clock): Date {
  return new Date(clock.wallMs());
}
