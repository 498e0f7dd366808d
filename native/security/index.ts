// The native security domain's stages (the `security` flag): the gate of a run (phase 7).
import type { NativeStages } from '../core/stage.js';
import { securityGate } from './gate.js';

export const NATIVE_SECURITY_STAGES: NativeStages = {
  security_gate: securityGate,
};
