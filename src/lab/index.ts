// The lab layer: disposable real-kernel QEMU hosts built from Debian packages, and the inventory that reaches them.
export { resolveLabPaths, type LabPaths } from './cache.js';
export { DEFAULT_KERNELS } from './kernels.js';
export { renderLabInventory, renderKnownHosts } from './inventory.js';
export { buildQemuArgs, buildKernelArgs } from './qemu.js';
export {
  buildVmSshArgs,
  checkUpOptions,
  cleanLab,
  describeLab,
  downLab,
  FILESYSTEMS,
  nameVms,
  powerCycleVm,
  STORAGE_DRIVERS,
  upLab,
  type UpResult,
  type VmStatus,
} from './lab.js';
export type { VmState } from './vm-state.js';
