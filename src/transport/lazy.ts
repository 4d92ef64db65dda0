// Heavy libraries loaded on first use, so commands that never need them start quickly.

import { createRequire } from 'node:module';
import type Docker from 'dockerode';

const require = createRequire(import.meta.url);

/** dockerode pulls in gRPC and protobuf (about 150 ms to load); only engine work needs it. */
export function loadDocker(): typeof Docker {
  return require('dockerode') as typeof Docker;
}
