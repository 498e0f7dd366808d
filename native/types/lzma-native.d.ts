// The part of lzma-native (8.x) this project uses. @types/lzma-native (4.x) types `preset` as 0-9 only (no
// PRESET_EXTREME flag), `check` as a string, and lacks the constants, so it is not used.
declare module 'lzma-native' {
  import type { Transform } from 'node:stream';

  interface LzmaOptions {
    readonly preset?: number;
    readonly threads?: number;
    readonly check?: number;
    readonly memlimit?: number;
    readonly synchronous?: boolean;
  }

  interface LzmaNative {
    createCompressor(options?: LzmaOptions): Transform;
    createDecompressor(options?: LzmaOptions): Transform;
    createStream(coder: 'aloneEncoder' | 'aloneDecoder' | 'easyEncoder' | 'autoDecoder', options?: LzmaOptions): Transform;
    readonly PRESET_EXTREME: number;
    readonly CHECK_CRC64: number;
  }

  const lzma: LzmaNative;
  export default lzma;
}
