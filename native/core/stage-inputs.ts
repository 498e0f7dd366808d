// What a native stage reads, as a shim sources it: context.env, then state.env (later lines win). Part of the stage
// contract (native/core/stage.ts).
import type { RunDir } from './run-dir.js';

export class StageInputs {
  private readonly values: Map<string, string>;

  constructor(runDir: RunDir) {
    this.values = new Map([...runDir.readContext(), ...runDir.readState()]);
  }

  get(key: string): string {
    return this.values.get(key) ?? '';
  }

  has(key: string): boolean {
    return this.values.has(key) && this.values.get(key) !== '';
  }
}
