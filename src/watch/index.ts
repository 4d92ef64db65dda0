// The watch layer's entry: per-host kernel-log, console and heartbeat streams, delivered raw to a caller.

export type { HeartbeatReport, HeartbeatState, HostWatch, HostWatchOptions, WatchNote, WatchText } from './types.js';
export { createHostWatch } from './host-watch.js';
export { convertJournalLine, formatKernelTime, parseKmsgRecord, KERNEL_LOG_SCRIPT, type KmsgRecord } from './kernel-log.js';
export { buildNetconsoleRemoveScript, buildNetconsoleSetupScript, NETCONSOLE_CONFIGFS, type NetconsoleTarget } from './netconsole.js';
