// Prometheus textfile normaliser (metrics.md): HELP/TYPE lines kept; samples sorted by name and labels; the
// values of time-valued series and of compressed sizes tokenised (they change run to run, build to build).

const VOLATILE_NAME = /(_timestamp_seconds|_duration_seconds|_seconds_total|_compressed_bytes|_archive_size_bytes|_backup_size_bytes|_compression_ratio)$/;

export function normaliseMetrics(text: string): string {
  const meta: string[] = [];
  const samples: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      meta.push(line);
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (match === null) {
      samples.push(`<UNPARSABLE> ${line}`);
      continue;
    }
    const name = match[1] ?? '';
    const labels = match[2] ?? '';
    const value = VOLATILE_NAME.test(name) ? '<V>' : match[3] ?? '';
    samples.push(`${name}${labels} ${value}`);
  }
  const sorted = [...samples].sort();
  return [...meta, ...sorted].map((l) => `${l}\n`).join('');
}
