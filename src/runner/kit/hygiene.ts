// Leaves a host as a suite found it: what the host holds (engine objects, namespaces, links, cgroups, mounts,
// loop devices, free disk), and the removal of everything a run's suites created, found by their marks (owner.ts).
// Suites clean up with it in their `after` hooks; `gauntlet clean` uses it for runs that were interrupted.

import type Docker from 'dockerode';
import { quoteShell } from '../../transport/index.js';
import { ANY_RUN_LINK, ANY_RUN_NAME, RUN_LABEL, SUITE_LABEL, WORKSPACE_ROOT, isRunId } from './owner.js';

/** What hygiene needs of a host: a shell and its engine (the suite's `host`, or a transport). */
export interface KitHost {
  run(command: string, options?: { timeout?: number }): Promise<{ stdout: string; stderr: string; exitCode: number | null }>;
  readonly docker: Docker;
}

/** Which run's objects to remove: one suite of one run, a whole run, or every run's. */
export interface CleanScope {
  runId?: string;
  suite?: string;
  /** Without `runId`: runs whose objects stay (runs still in progress). */
  exceptRunIds?: readonly string[];
}

export interface CleanResult {
  /** One line per object removed: `container gauntlet-…-c-3 (3f2a…)`, `netns gauntlet-…`, `mount /var/tmp/…`. */
  removed: string[];
  /** Objects that could not be removed, with the reason. */
  problems: string[];
}

/** What a host holds, for comparing before and after a suite. */
export interface HostInventory {
  containers: string[];
  images: string[];
  volumes: string[];
  networks: string[];
  netns: string[];
  links: string[];
  cgroups: string[];
  mounts: string[];
  loops: string[];
  workspaces: string[];
  /** Free space and inodes of the filesystem holding the engine's data root. */
  dataRoot: string | null;
  freeKb: number | null;
  freeInodes: number | null;
}

/** Engine, or any, objects are listed only when the engine answers. */
async function engineDataRoot(docker: Docker): Promise<string | null> {
  try {
    const info = (await docker.info()) as { DockerRootDir?: string; Store?: { GraphRoot?: string } };
    return info.DockerRootDir ?? info.Store?.GraphRoot ?? null;
  } catch {
    return null;
  }
}


/**
 * The cgroups a suite can leave behind or remove by mistake: its own (named `gauntlet-…`) and containers' (named
 * by a 64-digit container id: `docker/<id>`, `docker-<id>.scope`, `libpod-<id>`). Others come and go with the
 * host's own life (logins, services, other tools) and are not compared.
 */
const SUITE_CGROUP = '/gauntlet-|[0-9a-f]{64}';

function inventoryScript(dataRoot: string | null): string {
  const df = dataRoot ? quoteShell(dataRoot) : '/';
  return [
    `echo '## netns'; ip netns list 2>/dev/null | awk '{print $1}'`,
    `echo '## links'; ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'`,
    `echo '## cgroups'; find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null | grep -E '${SUITE_CGROUP}'`,
    // The suite's session and the engine may live in different mount namespaces: both are looked at.
    `echo '## mounts'; cat /proc/self/mountinfo 2>/dev/null | awk '{print "self " $5}'; cat /proc/1/mountinfo 2>/dev/null | awk '{print "init " $5}'`,
    `echo '## loops'; losetup -n -O NAME,BACK-FILE 2>/dev/null`,
    `echo '## workspaces'; ls -d ${WORKSPACE_ROOT}/gauntlet-* 2>/dev/null`,
    `echo '## df'; df -Pk ${df} 2>/dev/null | awk 'NR==2 {print $4}'; df -Pi ${df} 2>/dev/null | awk 'NR==2 {print $4}'`,
  ].join('\n');
}

function sections(stdout: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of stdout.split('\n')) {
    const header = /^## (\w+)$/.exec(line);
    if (header) map.set(header[1]!, (current = []));
    else if (current && line.trim() !== '') current.push(line.trim());
  }
  return map;
}

/** Lists of names with repeats numbered (`/mnt#2`), so a second mount on the same point is a difference too. */
function numbered(items: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return items.map((item) => {
    const n = (seen.get(item) ?? 0) + 1;
    seen.set(item, n);
    return n === 1 ? item : `${item}#${n}`;
  });
}

/** What the host holds now. */
export async function takeInventory(host: KitHost): Promise<HostInventory> {
  const dataRoot = await engineDataRoot(host.docker);
  const engine = dataRoot !== null;
  const [containers, images, volumes, networks, shell] = await Promise.all([
    engine ? host.docker.listContainers({ all: true }).then((list) => list.map((c) => `${c.Id.slice(0, 12)} ${c.Names?.[0] ?? ''} ${c.State ?? ''}`.trim())) : [],
    engine ? host.docker.listImages({ all: true }).then((list) => list.map((i) => `${i.Id.replace(/^sha256:/, '').slice(0, 12)} ${(i.RepoTags ?? []).join(',')}`.trim())) : [],
    engine ? host.docker.listVolumes().then((list) => (list.Volumes ?? []).map((v) => v.Name)) : [],
    engine ? host.docker.listNetworks().then((list) => list.map((n) => n.Name)) : [],
    host.run(inventoryScript(dataRoot), { timeout: 60_000 }),
  ]);
  const parts = sections(shell.stdout);
  const list = (name: string) => parts.get(name) ?? [];
  const [freeKb, freeInodes] = list('df').map(Number);
  return {
    containers: containers.sort(),
    images: images.sort(),
    volumes: volumes.sort(),
    networks: networks.sort(),
    netns: list('netns').sort(),
    links: list('links').sort(),
    cgroups: list('cgroups').sort(),
    mounts: numbered(list('mounts')).sort(),
    loops: list('loops').sort(),
    workspaces: list('workspaces').sort(),
    dataRoot,
    freeKb: Number.isFinite(freeKb) ? freeKb! : null,
    freeInodes: Number.isFinite(freeInodes) ? freeInodes! : null,
  };
}

export interface InventoryTolerance {
  /** Free space may be this much lower after than before (the engine's own caches and logs grow). Default 256 MiB. */
  freeKb?: number;
  /** Free inodes may be this many fewer. Default 2,000. */
  freeInodes?: number;
}

const LISTS = ['containers', 'images', 'volumes', 'networks', 'netns', 'links', 'cgroups', 'mounts', 'loops', 'workspaces'] as const;

/** Every difference between two inventories, one line each (`netns: left gauntlet-…`, `images: gone 3f2a…`); empty when alike. */
export function compareInventories(before: HostInventory, after: HostInventory, tolerance: InventoryTolerance = {}): string[] {
  const problems: string[] = [];
  for (const kind of LISTS) {
    const was = new Set(before[kind]);
    const now = new Set(after[kind]);
    const left = after[kind].filter((item) => !was.has(item));
    const gone = before[kind].filter((item) => !now.has(item));
    const show = (items: string[]) => `${items.slice(0, 10).join(', ')}${items.length > 10 ? ` and ${items.length - 10} more` : ''}`;
    if (left.length > 0) problems.push(`${kind}: ${left.length} left behind: ${show(left)}`);
    if (gone.length > 0) problems.push(`${kind}: ${gone.length} that were there before are gone: ${show(gone)}`);
  }
  const spaceTolerance = tolerance.freeKb ?? 256 * 1024;
  if (before.freeKb !== null && after.freeKb !== null && before.freeKb - after.freeKb > spaceTolerance) {
    problems.push(`free disk under ${after.dataRoot ?? '/'}: ${Math.round((before.freeKb - after.freeKb) / 1024)} MiB less than before (tolerance ${Math.round(spaceTolerance / 1024)} MiB)`);
  }
  const inodeTolerance = tolerance.freeInodes ?? 2000;
  if (before.freeInodes !== null && after.freeInodes !== null && before.freeInodes - after.freeInodes > inodeTolerance) {
    problems.push(`free inodes under ${after.dataRoot ?? '/'}: ${before.freeInodes - after.freeInodes} fewer than before (tolerance ${inodeTolerance})`);
  }
  return problems;
}

/** Anchored patterns for the names (folders, namespaces, cgroups) and veths of a scope. */
function namePatterns(scope: CleanScope): { name: string; link: string; except: string; exceptLink: string } {
  const except = (scope.exceptRunIds ?? []).filter(isRunId);
  const exceptPatterns = {
    except: except.length > 0 ? `^gauntlet-(${except.join('|')})-` : '^$',
    exceptLink: except.length > 0 ? `^gtl(${except.map((id) => id.slice(-4)).join('|')})` : '^$',
  };
  return { ...namePatternsOf(scope), ...exceptPatterns };
}

function namePatternsOf(scope: CleanScope): { name: string; link: string } {
  if (scope.runId !== undefined && !isRunId(scope.runId)) throw new Error(`run id ${JSON.stringify(scope.runId)} is not of the form 20261122-103000-ab12`);
  if (scope.suite !== undefined && scope.runId === undefined) throw new Error('a suite scope needs its run id');
  if (scope.runId === undefined) return { name: `^${ANY_RUN_NAME}`, link: `^${ANY_RUN_LINK}$` };
  const name = `^gauntlet-${scope.runId}-${scope.suite ? `${scope.suite}(-|$)` : ''}`;
  return { name, link: `^gtl${scope.runId.slice(-4)}[0-9a-z]+$` };
}

/**
 * The host side of a cleanup, in an order that lets each step succeed: processes started from a workspace (a
 * second engine, holders of namespaces) end first; then cgroups (their processes killed), network namespaces
 * (theirs too), veths, mounts under workspaces (deepest first), loop devices backed by workspace files, and
 * finally the workspaces and fill files themselves. Prints one `removed KIND NAME` or `problem KIND NAME: WHY`
 * line per object.
 */
function cleanupScript(scope: CleanScope, dataRoot: string | null): string {
  const { name, link, except, exceptLink } = namePatterns(scope);
  return String.raw`
NAME_RE=${quoteShell(name)}
LINK_RE=${quoteShell(link)}
EXCEPT_RE=${quoteShell(except)}
EXCEPT_LINK_RE=${quoteShell(exceptLink)}
DATA_ROOT=${quoteShell(dataRoot ?? '')}
WS_ROOT=${WORKSPACE_ROOT}
owned() { printf '%s\n' "$1" | grep -Eq "$NAME_RE" && ! printf '%s\n' "$1" | grep -Eq "$EXCEPT_RE"; }
# 1. processes whose command line names a workspace of the scope
victims=""
for cmd in /proc/[0-9]*/cmdline; do
  pid=${'${cmd#/proc/}'}; pid=${'${pid%/cmdline}'}
  [ "$pid" = "$$" ] && continue
  args=$(tr '\0' ' ' < "$cmd" 2>/dev/null) || continue
  for word in $args; do
    case "$word" in
      *"$WS_ROOT"/gauntlet-*) ws=${'${word#*$WS_ROOT/}'}; ws=${'${ws%%/*}'}; ws=${'${ws%%[ =,:]*}'}
        if owned "$ws"; then victims="$victims $pid"; echo "removed process $pid ($(printf '%s' "$args" | cut -c1-80))"; break; fi ;;
    esac
  done
done
if [ -n "$victims" ]; then
  kill -TERM $victims 2>/dev/null
  for _ in $(seq 1 30); do alive=""; for p in $victims; do [ -d /proc/$p ] && alive="$alive $p"; done; [ -z "$alive" ] && break; sleep 0.5; done
  [ -n "$alive" ] && kill -KILL $alive 2>/dev/null
fi
# 2. cgroups (cgroup v2 at the top of /sys/fs/cgroup; v1 at the top of each hierarchy) with their processes
for top in $(find /sys/fs/cgroup -maxdepth 2 -mindepth 1 -type d -name 'gauntlet-*' 2>/dev/null | sort); do
  owned "$(basename "$top")" || continue
  case "$(basename "$(dirname "$top")")" in gauntlet-*) continue ;; esac
  for _ in 1 2 3 4 5; do
    pids=$(find "$top" -name cgroup.procs -exec cat {} + 2>/dev/null)
    [ -z "$pids" ] && break
    [ -f "$top/cgroup.kill" ] && echo 1 > "$top/cgroup.kill" 2>/dev/null
    kill -KILL $pids 2>/dev/null; sleep 0.3
  done
  find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null
  if [ -d "$top" ]; then echo "problem cgroup $top: still there (processes: $(find "$top" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' '))"; else echo "removed cgroup $top"; fi
done
# 3. network namespaces with their processes
for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
  owned "$ns" || continue
  pids=$(ip netns pids "$ns" 2>/dev/null); [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
  if ip netns del "$ns" 2>/tmp/.gauntlet-clean.$$; then echo "removed netns $ns"; else echo "problem netns $ns: $(head -c 200 /tmp/.gauntlet-clean.$$)"; fi
done
# 4. veths left in this namespace
for dev in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'); do
  printf '%s\n' "$dev" | grep -Eq "$LINK_RE" || continue
  printf '%s\n' "$dev" | grep -Eq "$EXCEPT_LINK_RE" && continue
  # Deleting one end of a veth pair deletes the other.
  if ip link del "$dev" 2>/tmp/.gauntlet-clean.$$; then echo "removed link $dev"; elif ip link show "$dev" >/dev/null 2>&1; then echo "problem link $dev: $(head -c 200 /tmp/.gauntlet-clean.$$)"; fi
done
# 5. mounts under the scope's workspaces, deepest first
for m in $(awk '{print $5}' /proc/self/mountinfo | grep "^$WS_ROOT/gauntlet-" | sort -r); do
  ws=${'${m#$WS_ROOT/}'}; ws=${'${ws%%/*}'}
  owned "$ws" || continue
  if umount "$m" 2>/dev/null || umount -l "$m" 2>/tmp/.gauntlet-clean.$$; then echo "removed mount $m"; else echo "problem mount $m: $(head -c 200 /tmp/.gauntlet-clean.$$)"; fi
done
# 6. loop devices backed by a workspace file
losetup -n -O NAME,BACK-FILE 2>/dev/null | while read -r dev file; do
  case "$file" in "$WS_ROOT"/gauntlet-*) ;; *) continue ;; esac
  ws=${'${file#$WS_ROOT/}'}; ws=${'${ws%%/*}'}
  owned "$ws" || continue
  if losetup -d "$dev" 2>/tmp/.gauntlet-clean.$$; then echo "removed loop $dev ($file)"; else echo "problem loop $dev: $(head -c 200 /tmp/.gauntlet-clean.$$)"; fi
done
# 7. workspaces, and fill files on the engine's data root
for path in "$WS_ROOT"/gauntlet-* ${'${DATA_ROOT:+"$DATA_ROOT"/gauntlet-*}'}; do
  [ -e "$path" ] || continue
  owned "$(basename "$path")" || continue
  if rm -rf "$path" 2>/tmp/.gauntlet-clean.$$; then echo "removed file $path"; else echo "problem file $path: $(head -c 200 /tmp/.gauntlet-clean.$$)"; fi
done
rm -f /tmp/.gauntlet-clean.$$
exit 0
`;
}

const describeError = (err: unknown): string => ((err as Error)?.message ?? String(err)).split('\n')[0]!;

/**
 * Removes every object of the scope from the host: engine containers (with their anonymous volumes), volumes,
 * networks and images labelled for it, then the host objects named for it. Never throws for one object that
 * cannot be removed: it is listed in `problems` and the rest goes on.
 */
export async function cleanHost(host: KitHost, scope: CleanScope = {}): Promise<CleanResult> {
  const removed: string[] = [];
  const problems: string[] = [];
  const dataRoot = await engineDataRoot(host.docker);
  const labels = [scope.runId ? `${RUN_LABEL}=${scope.runId}` : RUN_LABEL, ...(scope.suite ? [`${SUITE_LABEL}=${scope.suite}`] : [])];
  const filters = JSON.stringify({ label: labels });
  const kept = new Set(scope.runId ? [] : (scope.exceptRunIds ?? []));
  const ours = (item: { Labels?: Record<string, string> | null }): boolean => !kept.has(item.Labels?.[RUN_LABEL] ?? '');
  if (dataRoot !== null) {
    // Processes from workspaces first would stop a second engine; the host's engine objects go now.
    const attempt = async (kind: string, name: string, remove: () => Promise<unknown>) => {
      try {
        await remove();
        removed.push(`${kind} ${name}`);
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return;
        problems.push(`${kind} ${name}: ${describeError(err)}`);
      }
    };
    const containers = (await host.docker.listContainers({ all: true, filters }).catch(() => [])).filter(ours);
    for (const c of containers) await attempt('container', `${c.Names?.[0]?.replace(/^\//, '') ?? ''} (${c.Id.slice(0, 12)})`, () => host.docker.getContainer(c.Id).remove({ force: true, v: true }));
    const volumes = (await host.docker.listVolumes({ filters }).then((list) => list.Volumes ?? [], () => [])).filter(ours);
    for (const v of volumes) await attempt('volume', v.Name, () => host.docker.getVolume(v.Name).remove());
    const networks = (await host.docker.listNetworks({ filters }).catch(() => [])).filter(ours);
    for (const n of networks) await attempt('network', n.Name, () => host.docker.getNetwork(n.Id).remove());
    // Images built on others go first: a few passes remove a whole chain.
    for (let pass = 0; pass < 5; pass++) {
      const images = (await host.docker.listImages({ all: true, filters }).catch(() => [])).filter(ours);
      if (images.length === 0) break;
      const before = problems.length;
      for (const image of images) {
        const id = image.Id.replace(/^sha256:/, '').slice(0, 12);
        await attempt('image', `${(image.RepoTags ?? []).filter((t) => t !== '<none>:<none>')[0] ?? '<untagged>'} (${id})`, () => host.docker.getImage(image.Id).remove({ force: true }));
      }
      if (pass < 4) problems.splice(before);
    }
  }
  const result = await host.run(cleanupScript(scope, dataRoot), { timeout: 180_000 });
  for (const line of result.stdout.split('\n')) {
    if (line.startsWith('removed ')) removed.push(line.slice('removed '.length));
    else if (line.startsWith('problem ')) problems.push(line.slice('problem '.length));
  }
  if (result.exitCode !== 0) problems.push(`host cleanup script exited ${result.exitCode}: ${result.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
  return { removed, problems };
}
