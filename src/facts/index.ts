// The facts layer: one small probe per fact over a Transport, their parsers, and the stack key.
export { describeRunner, readGauntletVersion } from './describe-runner.js';
export { parseDockerInfo, parsePodmanInfo, type EngineReport, type EngineRuntime } from './engine-parsers.js';
export { DEFAULT_PROBE_CONCURRENCY, gatherFacts, type GatherOptions } from './gather.js';
export {
  normaliseFsTypeName,
  parseApparmorState,
  parseCgroupFsType,
  parseHardwareProbe,
  parseKernelProbe,
  parseMeminfo,
  parseRuntimeVersion,
  parseSelinuxState,
  parseSystemdVersion,
} from './host-parsers.js';
export { parseOsRelease, parseOsReleaseFields } from './os-release.js';
export {
  apparmorProbe,
  backingFsProbe,
  bootIdProbe,
  cgroupProbe,
  dockerSocketProbe,
  hardwareProbe,
  kernelProbe,
  osReleaseProbe,
  pid1Probe,
  podmanInfoProbe,
  probeDockerEngine,
  PROBE_TIMEOUT_MS,
  runProbe,
  runtimeVersionProbe,
  selinuxProbe,
  systemdProbe,
  type Probe,
} from './probes.js';
export {
  formatStackKey,
  parseStackKey,
  sanitiseSegment,
  STACK_KEY_FIELDS,
  stackKeyOf,
  type StackKeyField,
  type StackKeyParts,
} from './stack-key.js';
