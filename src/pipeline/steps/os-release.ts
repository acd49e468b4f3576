/** Build step: the UKI's /etc/os-release (also its `.osrel` section), which names the image and its build id. */
import type { Config } from '../../config/schema.js';
import { espLabel } from '../../disk/plan.js';
import { KILN_VERSION } from '../../version.js';

export function osRelease(config: Config, buildId: string): string {
  return [
    'NAME=kiln',
    'ID=kiln',
    `VERSION_ID=${KILN_VERSION}`,
    `PRETTY_NAME="kiln ${KILN_VERSION} (${config.name})"`,
    `IMAGE_ID=${config.name}`,
    `IMAGE_VERSION=${config.version}`,
    `BUILD_ID=${buildId}`,
    // kiln's own field (os-release allows vendor fields): kiln run tells an EFI that needs its stick by it.
    ...(config.layout === 'source' ? [`KILN_LAYOUT=source`, `KILN_SOURCE_LABEL=${espLabel(config)}`] : []),
    '',
  ].join('\n');
}
