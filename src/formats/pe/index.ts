/** PE/COFF: read an image's headers and append sections to it (what a UKI is made of). Pure, no I/O. */
export { decodePe, peSectionBytes, type PeDataDirectory, type PeImage, type PeSection } from './decode.js';
export { appendSections, type AddedSection } from './append.js';
export {
  IMAGE_FILE_MACHINE_AMD64,
  IMAGE_FILE_MACHINE_ARM64,
  IMAGE_SCN_CNT_CODE,
  IMAGE_SCN_CNT_INITIALIZED_DATA,
  IMAGE_SCN_MEM_EXECUTE,
  IMAGE_SCN_MEM_READ,
  IMAGE_SUBSYSTEM_EFI_APPLICATION,
} from './_layout.js';
