/** GPT disk layouts: a pure codec (no I/O). */
export { encodeGpt } from './encode.js';
export { decodeGpt, decodeGptHead } from './decode.js';
export { resolveGptLayout } from './layout.js';
export { GptPartitionType, normalizeGuid, seededGuid } from './guid.js';
export { DEFAULT_ALIGNMENT as GPT_ALIGNMENT, SECTOR_SIZE, HEAD_SECTORS as GPT_HEAD_SECTORS, TAIL_SECTORS as GPT_TAIL_SECTORS } from './_constants.js';
export type { EncodedGpt, GptDisk, GptLayout, GptPartition, GptPartitionSpec } from './types.js';
