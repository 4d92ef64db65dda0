// The lab layer: disposable real-kernel QEMU hosts built from Debian packages, and the inventory that reaches them.
export { resolveLabPaths, type LabPaths } from './cache.js';
export { DEFAULT_KERNELS } from './kernels.js';
export { renderLabInventory, renderKnownHosts } from './inventory.js';
export { buildQemuArgs, buildKernelArgs } from './qemu.js';
export { loadLabFile, parseLabFile, type LabFile } from './lab-file.js';
export { checkVmSetting, ENGINES, expandVmMatrices, FILESYSTEMS, MEM_RANGE_MIB, STORAGE_DRIVERS, type VmMatrix, type VmSpec } from './vm-plan.js';
export {
  buildVmSshArgs,
  cleanLab,
  describeLab,
  downLab,
  powerCycleVm,
  upLab,
  type UpResult,
  type VmStatus,
} from './lab.js';
export type { VmState } from './vm-state.js';
