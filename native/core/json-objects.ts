// The object items of a JSON array that a host command printed (rclone lsjson, pvesh/proxmox-backup-manager
// --output-format=json), as the legacy Perl helpers read them: not an array → undefined; other items skipped.

export function jsonObjects(text: string): Record<string, unknown>[] | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(data)) return undefined;
  return (data as unknown[]).filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null && !Array.isArray(item));
}
