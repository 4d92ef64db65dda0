// The inventory layer: read and validate hosts.yaml into HostSpecs, and select hosts with --limit patterns.
export { loadInventory, parseInventory, type ParseInventoryOptions } from './parse-inventory.js';
export { selectHosts } from './select-hosts.js';
