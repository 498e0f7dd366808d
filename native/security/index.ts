// The native security domain's stages (the `security` flag): the gate of a run (phase 7).
import type { NativeStage, StageName } from '../core/stage.js';
import { securityGate } from './gate.js';

export const NATIVE_SECURITY_STAGES: Partial<Record<StageName, NativeStage>> = {
  security_gate: securityGate,
};
