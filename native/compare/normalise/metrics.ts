// Prometheus textfile normaliser (metrics.md §5): the file compared line by line — order, HELP texts and
// label sets exactly — with the values of the time-valued series and of the sizes tokenised. Two more are
// tokenised here: the compression ratio (it depends on the compressor's build, as the compressed size does) and
// proxmox_backup_domain_implementation, which says by design which side ran (path A legacy, path B native).

const VOLATILE = new Set([
  'proxmox_backup_start_timestamp_seconds', 'proxmox_backup_end_timestamp_seconds', 'proxmox_backup_duration_seconds',
  'proxmox_backup_phase_duration_seconds', 'proxmox_backup_last_success_timestamp_seconds', 'proxmox_backup_size_bytes',
  'proxmox_backup_cloud_uploaded_bytes', 'proxmox_backup_disk_free_bytes', 'proxmox_backup_compression_ratio',
  'proxmox_backup_domain_implementation',
]);

export function normaliseMetrics(text: string): string {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => {
    if (line === '' || line.startsWith('#')) return `${line}\n`;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match === null) return `<UNPARSABLE> ${line}\n`;
    const name = match[1] ?? '';
    return VOLATILE.has(name) ? `${name}${match[2] ?? ''} <V>\n` : `${line}\n`;
  }).join('');
}
