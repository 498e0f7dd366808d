import { describe, expect, it } from 'vitest';
import { deriveServerId, formatIdentityFile, parseIdentityFile } from './identity.js';

const sources = { machineId: '0123456789abcdef0123456789abcdef\n', macs: ['BC:24:11:00:00:02', 'bc:24:11:00:00:01'],
  shortHostname: 'pve1', productUuid: '4c4c4544-0000-1000-8000-000000000001' };

describe('server identity (run.md §8)', () => {
  it('is 16 digits, independent of MAC order and case', () => {
    const id = deriveServerId(sources);
    expect(id).toMatch(/^\d{16}$/);
    expect(deriveServerId({ ...sources, macs: ['bc:24:11:00:00:01', 'bc:24:11:00:00:02'] })).toBe(id);
  });

  it('changes with the host name', () => {
    expect(deriveServerId({ ...sources, shortHostname: 'pve2' })).not.toBe(deriveServerId(sources));
  });

  it('round-trips through the identity file and rejects a wrong checksum', () => {
    const text = formatIdentityFile('0000000000000042');
    expect(parseIdentityFile(text)).toBe('0000000000000042');
    expect(parseIdentityFile(text.replace('42', '43'))).toBeUndefined();
    expect(parseIdentityFile('garbage')).toBeUndefined();
  });
});
