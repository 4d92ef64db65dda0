// The inventory layer: read and validate hosts.yaml into HostSpecs, and select hosts with --limit patterns.
export { loadInventory, parseInventory, type ParseInventoryOptions } from './parse-inventory.js';
export { selectHosts } from './select-hosts.js';
// Position-keeping YAML reading and problem lists, for other configuration files checked the same way (lab.yaml).
export { describeNode, isEmptyNode, listEntries, locateNode, parseYamlSource, readNodeValue, resolveNode, type MapEntry, type YamlSource } from './yaml-source.js';
export { formatProblem, ProblemList, suggestName, type PathSeg, type Pos, type Problem } from './problems.js';
export { describeErrno } from './file-paths.js';
