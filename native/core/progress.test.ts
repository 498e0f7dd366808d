import { describe, expect, it } from 'vitest';
import { clearProgressLine, Progress } from './progress.js';

function sink(isTTY: boolean) {
  const written: string[] = [];
  return { written, sink: { isTTY, write: (t: string) => written.push(t) } };
}

describe('Progress (TTY only)', () => {
  it('rewrites one line in place, at most every interval, and erases it at the end', () => {
    let now = 0;
    const { written, sink: s } = sink(true);
    const progress = new Progress(s, 200, () => now);
    progress.update('Archiving: 1 entries, 0 B');
    now = 100;
    progress.update('Archiving: 2 entries, 0 B');   // too soon: dropped
    now = 250;
    progress.update('Archiving: 3 entries, 1.0 KiB');
    progress.done();
    expect(written).toEqual(['\r\u001b[2KArchiving: 1 entries, 0 B', '\r\u001b[2KArchiving: 3 entries, 1.0 KiB', '\r\u001b[2K']);
  });

  it('writes nothing when the stream is not a terminal (cron, a pipe)', () => {
    const { written, sink: s } = sink(false);
    const progress = new Progress(s);
    progress.update('Collecting: 10 items');
    progress.done();
    expect(written).toEqual([]);
    expect(new Progress(undefined).active).toBe(false);
  });

  it('is erased before a log line reaches the console, and drawn again by the next update', () => {
    let now = 0;
    const { written, sink: s } = sink(true);
    const progress = new Progress(s, 200, () => now);
    progress.update('Collecting: 5 items');
    clearProgressLine();
    clearProgressLine();   // nothing shown any more: nothing written
    now = 300;
    progress.update('Collecting: 9 items');
    expect(written).toEqual(['\r\u001b[2KCollecting: 5 items', '\r\u001b[2K', '\r\u001b[2KCollecting: 9 items']);
    progress.done();
  });
});
