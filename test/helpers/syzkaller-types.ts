// Which gauntlet fault classes a syzkaller crash TYPE (and, where the type is missing or says too little, the
// expected title) corresponds to: the class accuracy of the classifier is measured against this table.

import type { FaultClass } from '../../src/model/index.js';

/** Titles of lock debugging's reports (including RCU lockdep and lockdep's own limits). */
const LOCKDEP_TITLE =
  /^(?:INFO|WARNING): suspicious RCU usage|^INFO: trying to register non-static key|^BUG: workqueue leaked lock|^BUG: MAX_|^BUG: looking up invalid subclass|^BUG: spinlock|^BUG: lock held|^BUG: held lock freed|^BUG: bad unlock balance|^BUG: using \S+ in preemptible|^possible deadlock|^inconsistent lock state|^WARNING: possible circular|^WARNING: locking bug|^WARNING: still has locks held/;

const HANG: FaultClass[] = ['SOFT_LOCKUP', 'HARD_LOCKUP', 'RCU_STALL', 'HUNG_TASK'];

/**
 * syzkaller TYPE → accepted classes.
 * - HANG covers every "no progress" detector, so any of the four hang classes is right.
 * - REFCOUNT_WARNING is a WARNING the refcount checker raised.
 * - MEMORY_SAFETY_BUG is syzkaller's name for reports that imply memory corruption but that no sanitizer caught:
 *   `BUG: unable to handle kernel paging request` (a wild pointer) and `BUG: corrupted list` (list debugging's
 *   `kernel BUG at lib/list_debug.c`). The kernel reports both as an oops and the host is just as dead, so
 *   gauntlet calls them OOPS: MEMORY_SAFETY is kept for what a sanitizer (KASAN, KMSAN, KFENCE, KCSAN, UBSAN) or
 *   slab debugging found.
 * - BUG (`kernel BUG at`), NULL-POINTER-DEREFERENCE and ATOMIC_SLEEP (`BUG: sleeping function called from invalid
 *   context`, `BUG: scheduling while atomic`) are oopses; the atomic-sleep ones are OOPS the kernel survives.
 * - DoS, and files without a TYPE, are decided by the title (TITLE_CLASSES).
 */
const TYPE_CLASSES: readonly { type: RegExp; title?: RegExp; classes: FaultClass[] }[] = [
  { type: /^HANG$/, classes: HANG },
  { type: /^LOCKDEP$/, classes: ['LOCKDEP'] },
  // A lockdep report syzkaller could not parse keeps the WARNING type of its `WARNING:` header (the corpus says
  // so: "It should be LOCKDEP, but we report is corrupted"): LOCKDEP is right for it too.
  { type: /^WARNING$/, title: LOCKDEP_TITLE, classes: ['WARNING', 'LOCKDEP'] },
  { type: /^(?:REFCOUNT_)?WARNING$/, classes: ['WARNING'] },
  { type: /^(?:KASAN|KMSAN|KFENCE|KCSAN)-|^UBSAN$/, classes: ['MEMORY_SAFETY'] },
  { type: /^MEMORY_SAFETY_BUG$/, classes: ['OOPS'] },
  { type: /^LEAK$/, classes: ['LEAK'] },
  { type: /^(?:BUG|NULL-POINTER-DEREFERENCE|ATOMIC_SLEEP)$/, classes: ['OOPS'] },
  // The machine started again under the running system: gauntlet's UNEXPECTED_REBOOT (REBOOT is an orderly one).
  { type: /^REBOOT$/, classes: ['UNEXPECTED_REBOOT'] },
];

/**
 * Title → accepted classes, for DoS and untyped files, first match wins. Panics (`kernel panic: …`, a double
 * fault, a failed secure-monitor assertion, a stack overflow panic) are PANIC; CPU exceptions and BUG()s are
 * OOPS; a leaked network device reference is NETDEV_LEAK; sanitizer and slab-debugging reports are
 * MEMORY_SAFETY; the VFS's unmount and close checks are FS_ERROR; lock debugging (including RCU lockdep and
 * lockdep's own limits) is LOCKDEP; the hang detectors are any hang class; kmemleak is LEAK.
 */
const TITLE_CLASSES: readonly { title: RegExp; classes: FaultClass[] }[] = [
  // A header cut off after its first word (`INFO:`) says nothing of its kind: gauntlet calls it an OOPS.
  { title: /^(?:INFO|BUG|WARNING): corrupted$/, classes: ['OOPS'] },
  { title: /^(?:kernel panic|PANIC: |trusty: |kernel stack overflow)/, classes: ['PANIC'] },
  { title: /^unregister_netdevice: /, classes: ['NETDEV_LEAK'] },
  { title: /^unexpected kernel reboot$/, classes: ['UNEXPECTED_REBOOT'] },
  { title: /^(?:KASAN|KMSAN|KFENCE|KCSAN|UBSAN): |^BUG: Object already free|^INFO: (?:Freed|Allocated) in |^INFO: corrupted/, classes: ['MEMORY_SAFETY'] },
  { title: /^VFS: /, classes: ['FS_ERROR'] },
  { title: LOCKDEP_TITLE, classes: ['LOCKDEP'] },
  { title: /^(?:INFO: task hung|INFO: rcu detected stall|BUG: soft lockup|BUG: hard lockup|BUG: workqueue lockup|INFO: task can't die)/, classes: HANG },
  {
    title: /^(?:general protection fault|divide error|int3|Alignment trap|Unhandled fault|Internal error|invalid opcode|kernel BUG|BUG: |attempt to )/,
    classes: ['OOPS'],
  },
  { title: /^WARNING/, classes: ['WARNING'] },
  { title: /^memory leak/, classes: ['LEAK'] },
];

/** The classes a fixture's report may be given; empty when the table has no answer (counted as a miss). */
export function expectedClasses(type: string | undefined, title: string): FaultClass[] {
  if (type && type !== 'DoS') {
    const byType = TYPE_CLASSES.find((row) => row.type.test(type) && (row.title?.test(title) ?? true));
    if (byType) return byType.classes;
  }
  return TITLE_CLASSES.find((row) => row.title.test(title))?.classes ?? [];
}
