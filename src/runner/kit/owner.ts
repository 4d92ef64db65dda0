// What marks a host object as created by a run's suite: engine labels, a name prefix, and the run's workspace.
//
// Every container, image, volume and network a suite creates carries the label `gauntlet.run=<run id>` (and
// `gauntlet.suite=<suite>`); every network namespace, cgroup, workspace folder and fill file is named
// `gauntlet-<run id>-<suite>…`; veth interfaces, whose names may hold only 15 characters, are `gtl<4 hex of the
// run id><n>`. Cleanup and `gauntlet clean` find leftovers by exactly these marks, and touch nothing else.

/** Engine label naming the run that created an object. */
export const RUN_LABEL = 'gauntlet.run';
/** Engine label naming the suite that created an object. */
export const SUITE_LABEL = 'gauntlet.suite';
/** Where suites keep files, mounts and pid files on the host: `/var/tmp/gauntlet-<run id>-<suite>`. */
export const WORKSPACE_ROOT = '/var/tmp';

/** Run ids look like `20261122-103000-ab12` (see createRunId). */
const RUN_ID = /^\d{8}-\d{6}-[0-9a-f]{4}$/;
/** Any run's name prefix, for cleaning every run's leftovers (a POSIX extended regular expression, for grep -E). */
export const ANY_RUN_NAME = "gauntlet-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}-";
/** Any run's veth names. */
export const ANY_RUN_LINK = String.raw`gtl[0-9a-f]{4}[0-9a-z]+`;

export function isRunId(value: string): boolean {
  return RUN_ID.test(value);
}

/** The marks of one suite's objects in one run. */
export interface Owner {
  runId: string;
  suite: string;
  /** `gauntlet-<run id>-<suite>`: the start of every name. */
  prefix: string;
  /** Labels for engine objects. */
  labels: Record<string, string>;
  /** `/var/tmp/gauntlet-<run id>-<suite>`: files, mounts and pid files of the suite. */
  workspace: string;
}

export function ownerOf(runId: string, suite: string): Owner {
  if (!isRunId(runId)) throw new Error(`run id ${JSON.stringify(runId)} is not of the form 20261122-103000-ab12`);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(suite)) throw new Error(`suite name ${JSON.stringify(suite)} must be lowercase letters, digits and dashes`);
  const prefix = `gauntlet-${runId}-${suite}`;
  return { runId, suite, prefix, labels: { [RUN_LABEL]: runId, [SUITE_LABEL]: suite }, workspace: `${WORKSPACE_ROOT}/${prefix}` };
}

/** A name for the suite's `index`th object of a kind: `gauntlet-<run id>-<suite>-<kind>-<index>`. */
export function ownedName(owner: Owner, kind: string, index: number | string): string {
  return `${owner.prefix}-${kind}-${index}`;
}

/** A veth name (at most 15 characters): `gtl` + the run id's last 4 hex digits + the index in base 36. */
export function ownedLinkName(owner: Owner, index: number): string {
  const name = `gtl${owner.runId.slice(-4)}${index.toString(36)}`;
  if (name.length > 15) throw new Error(`veth index ${index} is too large for a 15-character interface name`);
  return name;
}
