// The native backup domain's stages built so far (issue 7), by legacy function name. A stage missing here
// runs through its shim even with the `backup` flag on ts, so the domain can move stage by stage.
import type { NativeStages } from '../core/stage.js';
import { backupArchive } from './archive/index.js';
import { backupCollect } from './collect/index.js';
import { backupDetect } from './detect.js';
import { backupSelectCompressor } from './select-compressor.js';
import { backupVerify } from './verify.js';

export const NATIVE_BACKUP_STAGES: NativeStages = {
  backup_detect: backupDetect,
  backup_select_compressor: backupSelectCompressor,
  backup_collect: backupCollect,
  backup_archive: backupArchive,
  backup_verify: backupVerify,
};
