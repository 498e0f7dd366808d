// Exit codes (decision 1): 0 success, 1 warning, 2 error; a run's code only ever escalates.

export type ExitStatus = 0 | 1 | 2;

export const EXIT_OK: ExitStatus = 0;
export const EXIT_WARNING: ExitStatus = 1;
export const EXIT_ERROR: ExitStatus = 2;

export function escalate(current: ExitStatus, next: ExitStatus): ExitStatus {
  return next > current ? next : current;
}

/** A stage's process status as an outcome; anything outside 0–2 is an internal failure (the stage contract). */
export function asExitStatus(code: number | undefined): ExitStatus | undefined {
  return code === 0 || code === 1 || code === 2 ? code : undefined;
}

export class ExitCode {
  private value: ExitStatus = EXIT_OK;

  raise(next: ExitStatus): void {
    this.value = escalate(this.value, next);
  }

  get current(): ExitStatus {
    return this.value;
  }
}
