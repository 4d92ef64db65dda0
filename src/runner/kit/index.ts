// The suite kit: what stress suites share (ownership marks, seeded randomness, sizes, latency metrics, images
// without a registry, and leaving the host as it was found). Suites get it from `gauntlet/suite`.

export { ANY_RUN_LINK, ANY_RUN_NAME, RUN_LABEL, SUITE_LABEL, WORKSPACE_ROOT, isRunId, ownedLinkName, ownedName, ownerOf, type Owner } from './owner.js';
export { seededRandom, type SeededRandom } from './random.js';
export { SCALES, describeSizes, numberParam, sizesFor, type Scale, type SizeTable } from './scale.js';
export { Latencies, type MetricSink } from './latency.js';
export { buildBaseImage, engineCli, labelChanges, labelOptions, type BaseImage, type BaseImageOptions, type ImageHost } from './images.js';
export { cleanHost, compareInventories, takeInventory, type CleanResult, type CleanScope, type HostInventory, type InventoryTolerance, type KitHost } from './hygiene.js';
export { guardHost, type GuardedHost, type HostGuard } from './guard.js';
export { chainIds, imageConfig, makeLayer, readTar, sha256Digest, writeSaveArchive, writeTar, type ArchiveImage, type ArchiveLayer, type LayerFile, type ReadTarEntry, type TarEntry } from './layer-archive.js';
export { DeadlineError, demuxEngineOutput, execInContainer, readContainerOutput, withDeadline, type ContainerCommandResult, type ExecOptions } from './container-exec.js';
export { quoteShell } from '../../transport/index.js';
