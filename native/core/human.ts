// Human-readable figures shared by the summary and the messages (archive.md §7, run.md §5.4), written to
// agree byte for byte with the legacy side (core_human_size's awk printf, core_format_duration).

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/**
 * Binary units with one decimal, e.g. `12.4 MiB`; below 1024 `N B`. The tenths are rounded half to even on
 * the exact quotient, as glibc's printf("%.1f") rounds the value awk computes, so both sides print the same.
 */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${Math.trunc(bytes)} B`;
  let unit = 0;
  let divisor = 1n;
  const exact = BigInt(Math.trunc(bytes));
  while (unit < 4 && exact >= divisor * 1024n) {
    divisor *= 1024n;
    unit += 1;
  }
  const scaled = exact * 10n;
  let tenths = scaled / divisor;
  const twice = (scaled % divisor) * 2n;
  if (twice > divisor || (twice === divisor && tenths % 2n === 1n)) tenths += 1n;
  return `${tenths / 10n}.${tenths % 10n} ${UNITS[unit]}`;
}

/** HH:MM:SS (hours not wrapped). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.trunc(seconds));
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(Math.trunc(s / 3600))}:${pad(Math.trunc((s % 3600) / 60))}:${pad(s % 60)}`;
}

/** YYYY-MM-DD_HH-MM-SS in local time: archive and log names (core_timestamp). */
export function runTimestamp(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}_`
    + `${pad(date.getHours())}-${pad(date.getMinutes())}-${pad(date.getSeconds())}`;
}

const IEC_UNITS = ['K', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];

/** `numfmt --to=iec` (collect.md §3.3): bare below 1024, else rounded up — one decimal below 10 (1.5K, 9.9M), none above (10K, 932G). */
export function iecSize(bytes: number): string {
  if (bytes < 1024) return String(bytes);
  const n = BigInt(bytes);
  let unit = 0;
  let scale = 1024n;
  while (n >= scale * 1024n && unit < IEC_UNITS.length - 1) {
    scale *= 1024n;
    unit += 1;
  }
  for (;;) {
    if (n < 10n * scale) {
      const tenths = (n * 10n + scale - 1n) / scale;
      if (tenths < 100n) return `${tenths / 10n}.${tenths % 10n}${IEC_UNITS[unit] ?? ''}`;
      return `10${IEC_UNITS[unit] ?? ''}`;
    }
    const whole = (n + scale - 1n) / scale;
    if (whole < 1024n || unit === IEC_UNITS.length - 1) return `${whole}${IEC_UNITS[unit] ?? ''}`;
    scale *= 1024n;
    unit += 1;
  }
}
