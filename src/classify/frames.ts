// Stack frames in kernel reports: reading them from report lines, normalising function names, and the frames
// that never name a bug (reporting, locking, scheduling, allocation and debugging helpers), kept as data.

import { demangleRustSymbol } from './rust-symbols.js';

/** One frame of a kernel stack as printed in a report. */
export interface Frame {
  /** Function name, normalised (compiler suffixes dropped, syscall wrappers as `sys_NAME`). */
  fn: string;
  /** `pc`: the faulting instruction (x86 `RIP:`, arm64 `pc :`, arm `PC is at`); `lr`: the return address
   *  register; `trace`: a line of a call trace. */
  kind: 'pc' | 'lr' | 'trace';
  /** false for frames the unwinder marked with `?` (stale return addresses found on the stack). */
  reliable: boolean;
  /** Index of the report line the frame was read from. */
  line: number;
  /** 32-bit arm prints a caller on each line (`(func) from (caller+0x…)`): the frame below, read from the same line. */
  caller?: Frame;
}

/**
 * Functions that never name a bug: the first frame of a stack that matches none of these is the guilty one.
 * Each entry is a regular expression for the whole (normalised) function name.
 */
export const SKIPPED_FRAMES: readonly string[] = [
  // Printing the report itself.
  'dump_stack.*', '__dump_stack', 'show_stack', 'show_trace.*', 'show_regs', '_?sched_show_task', 'dump_backtrace.*',
  'walk_stackframe', 'unwind_.*', 'arch_stack_walk', 'stack_trace_.*', 'save_stack.*', '__save_stack_trace', 'print_.*',
  'printk.*', 'vprintk.*', '_printk', 'print_tainted', 'get_taint', 'dump_cpu_task', 'show_state.*', 'warn_alloc.*', 'perf_trace_.*', 'perf_tp_.*',
  // Panic, BUG() and WARN() machinery, and the traps and fault handlers that lead to an oops.
  'panic', 'nmi_panic', 'vpanic', 'bust_spinlocks', '__warn.*', 'warn_slowpath.*', 'warn_bogus_irq_restore', 'report_bug.*', '__report_bug',
  'handle_bug', 'fixup_bug', 'do_trap', 'do_error_trap', 'do_invalid_op', 'invalid_op', 'exc_invalid_op', 'asm_exc_.*', 'exc_int3',
  'do_int3.*', 'do_general_protection', 'exc_general_protection', 'general_protection', 'do_divide_error', 'divide_error',
  'exc_divide_error', 'page_fault', 'do_page_fault', '__do_page_fault', 'exc_page_fault', 'handle_page_fault', 'do_user_addr_fault',
  'do_kern_addr_fault', '(?:__)?bad_area.*', 'no_context', 'page_fault_oops', 'kernelmode_fixup_or_oops', 'spurious_kernel_fault',
  '(?:__)?die', '__die_body', 'die_kernel_fault', 'oops_.*', 'do_mem_abort', 'do_translation_fault', 'do_bad_area', 'do_sect_fault',
  '__do_kernel_fault', 'do_alignment.*', 'el1_abort', 'el1_da', 'el1_ia', 'el1_dbg', 'el1h_64_sync.*', 'el1h_64_error.*', 'el1_sync.*',
  'el1_undef', 'el1_inv', 'do_undefinstr', 'bug_handler', 'brk_handler', 'call_break_hook', 'do_debug_exception', 'arm64_.*_handler',
  '__do_user_fault', 'do_DataAbort', 'do_PrefetchAbort', 'die_if_kernel', 'make_task_dead', 'rewind_stack_.*',
  // riscv's, powerpc's and s390's trap and fault handlers.
  'do_trap_(?:insn_\\w+|break|load_\\w+|store_\\w+|unknown|ecall_s|ecall_m)', 'do_trap_error', 'handle_illegal_insn', 'ret_from_exception',
  '__?bad_page_fault', 'bad_kernel_fault', 'do_exception', '__do_pgm_check', 'pgm_check_handler', 'do_report_trap',
  // Stall, lockup and NMI backtrace machinery.
  'nmi_cpu_backtrace.*', 'nmi_trigger_cpumask_backtrace', 'arch_trigger_cpumask_backtrace', 'trigger_.*backtrace.*', 'rcu_dump_cpu_stacks',
  'rcu_check_callbacks', 'rcu_sched_clock_irq', 'rcu_pending', 'check_cpu_stall', 'print_cpu_stall', 'watchdog_timer_fn', 'watchdog_overflow_callback',
  'update_process_times',
  // The tick machinery by its own prefixes: not every function named `tick_…` is the timer core's (`tick_handler`).
  'tick_sched_.*', 'tick_nohz_.*', 'tick_handle_.*', 'tick_periodic', 'tick_do_.*', 'tick_program_event', 'tick_irq_enter', 'tick_check_.*', 'tick_.*broadcast.*', 'kthread_should_.*', 'kthread_freezable_should_stop', '__hrtimer_run_queues', '__run_hrtimer', 'hrtimer_interrupt', 'local_apic_timer_interrupt',
  '__sysvec_.*', 'sysvec_.*', 'smp_\\w*apic_timer_interrupt\\w*', 'apic_timer_interrupt', 'local_apic_timer_interrupt', 'arch_timer_handler_.*', 'handle_percpu_devid_irq',
  'handle_domain_irq', 'generic_handle_domain_irq', 'gic_handle_irq', 'call_on_irq_stack', 'do_interrupt_handler', 'el1_interrupt',
  'el1h_64_irq.*', 'el1_irq', '__irq_svc', 'handle_irq.*', 'irq_exit.*', '__irq_exit_rcu', 'rcu_irq_exit.*', 'nmi_handle', 'default_do_nmi',
  'exc_nmi', 'do_nmi', 'asm_sysvec_.*', 'ret_from_intr', 'common_interrupt', 'do_IRQ', 'hung_task_.*', 'check_hung_.*', 'watchdog',
  // Sanitizers, debug checks and instrumentation.
  'kasan_.*', '__kasan_.*', 'check_memory_region.*', 'memory_is_poisoned.*', '__asan_.*', 'asan_.*', 'kmsan_.*', '__msan_.*', 'kcsan_.*',
  '__kcsan_.*', '__tsan_.*', 'ubsan_.*', '__ubsan_.*', 'kfence_.*', '__kfence_.*', '__sanitizer_.*', 'kmemleak_.*', 'instrument_.*',
  'check_object_size', '__check_object_size', 'check_heap_object', '__check_heap_object', 'check_copy_size', 'usercopy_abort', 'usercopy_warn',
  'should_fail.*', 'should_failslab', '__should_failslab', 'fail_dump', 'stack_depot_.*', 'set_track.*',
  'object_err', 'slab_err', 'slab_bug', 'check_bytes_and_report', 'check_object', 'on_freelist', 'free_debug_processing', 'alloc_debug_processing',
  'trace_hardirqs_.*', 'lockdep_hardirqs_.*', 'fortify_panic', '__fortify_.*', 'fortify_.*',
  '__stack_chk_fail', '__warn_printk', '__bug', 'bug', 'check_panic_on_warn', '__schedule_bug', '(?:__)?hwasan_.*', 'do_tag_check_fault',
  'do_tag_recovery', 'report_tag_fault', '(?:__)?set_page_owner.*', '__reset_page_owner', 'rcu_gp_.*', 'rcu_print_.*', 'rcu_exp_.*',
  // Lock debugging (lockdep) and RCU debugging.
  'lock_acquire.*', 'lock_release', 'lock_acquired', 'lock_contended', '__lock_acquire.*', '__lock_release', 'lock_is_held.*', '__lock_is_held',
  'lockdep_.*', 'check_noncircular', 'check_prevs?_add', 'check_irq_usage', 'check_usage.*', 'check_deadlock', 'check_flags.*',
  'check_chain_key', 'check_wait_context', 'validate_chain', 'mark_lock.*', 'mark_usage', 'mark_held_locks', '__bfs.*', 'save_trace',
  'register_lock_class', 'look_up_lock_class', 'find_held_lock', 'lock_downgrade', 'hlock_class', 'valid_state', 'do_raw_.*',
  'reacquire_held_locks',
  'rcu_read_lock.*', 'rcu_read_unlock.*', '__rcu_read_lock', '__rcu_read_unlock', 'rcu_lock_acquire', 'rcu_lock_release', 'rcu_is_watching',
  'rcu_dynticks.*', 'rcu_preempt_deferred_qs.*', 'spin_dump', 'spin_bug',
  // Locking primitives (and the spinning a stalled CPU is caught in).
  '_raw_.*', 'raw_spin_.*', '__raw_.*', 'spin_.*', 'queued_.*', 'native_queued_spin_lock_slowpath', '(?:__)?pv_queued_spin_lock_slowpath',
  'mutex_.*', '__mutex_.*', 'rt_mutex_.*', '__rt_mutex_.*', 'rt_spin_.*', 'down', 'down_.*', '__down.*', 'up', 'up_.*', '__up.*', 'rwsem_.*',
  '__rwsem_.*', 'percpu_down_.*', 'percpu_up_.*', 'percpu_rwsem_.*', '__percpu_down_.*', '__percpu_rwsem_.*', 'read_lock.*', 'read_unlock.*',
  'write_lock.*', 'write_unlock.*', 'local_bh_enable.*', '__local_bh_enable.*', '_local_bh_enable', 'local_bh_disable', 'arch_local_irq_.*',
  '__seqprop.*', 'bit_spin_lock', 'srcu_read_lock.*', 'srcu_read_unlock.*', '_*task_rq_lock', 'rq_lock.*', '_*raw_spin_rq_lock.*',
  'double_rq_lock', 'osq_lock', 'osq_unlock', 'lock_timer_base',
  // The scheduler's own switching: where a stalled or waiting CPU is caught, never what it was doing.
  'schedule.*', '__schedule', 'preempt_schedule.*', '_cond_resched', '__cond_resched.*', 'cond_resched.*', 'io_schedule.*', 'context_switch',
  'finish_task_switch.*', '__switch_to.*', 'switch_to', 'wait_for_completion.*', 'finish_wait', '__wake_up.*', '__might_sleep', '___might_sleep',
  '__might_fault', 'might_fault', '__might_resched', '__might_.*', 'might_sleep', 'kthread_stop.*', 'try_to_grab_pending', 'insert_work',
  '(?:__)?flush_work.*', '(?:__)?flush_workqueue', 'drain_workqueue', 'cancel_work_sync', '__cancel_work.*', '(?:__)?queue_work.*',
  '(?:__)?queue_delayed_work.*', '__mod_timer', 'del_timer.*', 'try_to_del_timer_sync', 'work_is_static_object', 'timer_is_static_object',
  // Memory allocation.
  'kmalloc.*', '__kmalloc.*', 'kzalloc.*', 'kcalloc.*', 'krealloc.*', '__krealloc', 'kmem_cache_.*', '__kmem_cache_.*', 'kfree', 'kvfree',
  'slab_.*', '___slab_alloc', '__slab_alloc.*', '__slab_free', 'do_slab_free', 'allocate_slab', 'alloc_slab_page', '__alloc_pages.*',
  'alloc_pages.*', 'alloc_page_interleave', '__folio_alloc.*', 'folio_alloc.*', 'vmalloc.*', '__vmalloc.*', 'vzalloc.*', 'kvmalloc.*',
  'kvzalloc.*', 'kvcalloc', '__kvmalloc.*', 'kmemdup.*', 'kstrdup.*', 'kstrndup', 'memdup_user.*', 'vmemdup_user', 'strndup_user', 'kasprintf',
  'kvasprintf.*', 'kmalloc_slab', 'kmalloc_large.*', 'kmalloc_order.*', 'kfree_skb.*',
  // String, memory and copy helpers.
  'mem(?:cpy|move|set|cmp|chr)', '__mem(?:cpy|move|set|cmp).*', 'memcpy_.*', 'memset_.*', 'strlen', 'strnlen', 'strcmp', 'strncmp', 'strcpy',
  'strncpy', 'strlcpy', 'strscpy.*', 'sized_strscpy', 'strchr', 'strstr', 'strnstr', 'vsnprintf', 'snprintf', 'scnprintf', 'vscnprintf',
  'string', 'string_nocheck', 'hex_string', 'widen_string', 'pointer', 'va_format.*', '_copy_to_user', '_copy_from_user', 'copy_to_user.*',
  'copy_from_user.*', '__copy_to_user.*', '__copy_from_user.*', 'copyin', 'copyout', '_copy_to_iter', '_copy_from_iter.*', 'copy_to_iter',
  'copy_from_iter.*', 'copy_page_to_iter.*', 'copy_page_from_iter.*', '__get_user.*', '__put_user.*', 'strncpy_from_user',
  'do_strncpy_from_user', 'strnlen_user', 'fixup_exception',
  // List, reference count and atomic helpers (their own checks report the bug of a caller).
  '__list_add.*', '__list_del.*', 'list_add.*', 'list_del.*', 'refcount_.*', 'kref_.*', 'atomic_.*', 'atomic64_.*', 'arch_atomic.*',
  'raw_atomic.*', '_atomic_dec_and_lock.*', 'atomic_dec_and_.*lock.*',
  // Driver core and USB core entry points that drivers call with their broken objects.
  'kobject_.*', '__kobject_.*', 'device_del', 'device_unregister', 'device_add', 'put_device', 'device_destroy', 'get_device_parent',
  'usb_kill_urb', 'usb_kill_anchored_urbs', 'usb_control_msg', 'dev_vprintk_emit', '(?:_|__)?dev_printk.*',
  '_dev_(?:emerg|alert|crit|err|warn|notice|info)',
  // Memory-mapped I/O accessors and the logic PIO indirection behind port I/O: a fault in one is its caller's access.
  '__raw_(?:read|write)[bwlq]', '(?:read|write)[bwlq]', 'logic_(?:in|out)[bwl]',
  // Entry code: where a task enters the kernel, never what it did there.
  'entry_SYSCALL.*', 'do_syscall_.*', 'ret_from_fork.*', 'kthread', 'worker_thread', 'smpboot_thread_fn', 'el0_.*', 'el0t_.*', 'invoke_syscall.*',
  'do_el0_svc.*', 'el0_svc_common.*', '__invoke_syscall', 'ret_fast_syscall', 'vector_swi', 'do_int80_syscall_32', '(?:__)?do_fast_syscall_32',
  'entry_INT80_compat', 'entry_SYSENTER_compat.*', 'ret_from_fork_asm', 'handle_exception', 'do_trap_ecall_u', 'syscall_exit_to_user_mode.*',
  // Compiler and architecture glue (`__pfx_`/`__cfi_` are the CFI stubs in front of every function of newer kernels).
  '__pfx_.*', '__cfi_.*', '__x86_indirect_thunk_.*', '__x86_return_thunk', '__indirect_thunk_.*', 'retint_kernel', '___preempt_schedule.*', '__phys_addr',
  '(?:__)?handle_domain_irq', 'generic_handle_.*', 'handle_irq_desc', 'asm_do_IRQ', 'x64_sys_call', 'x32_sys_call', 'ia32_sys_call',
  'ref_tracker_.*',
  // Generic data structures: the bug is in whoever passed them a broken tree or list.
  'rb_.*', '__rb_.*', 'klist_.*', 'xas_(?:start|load|find)',
];

/**
 * Words that mark a generic helper wherever they appear in a function's name: syzbot's convention for its titles
 * (syzkaller `pkg/report/linux.go`, `linuxStackParams.skipPatterns`), which tests them anywhere in a name, so a
 * title matches syzbot's only when the same frames are skipped. A function whose name holds a helper's name is
 * skipped too (`reiserfs_write_lock` holds `write_lock`, `sget_userns` holds `get_user`): that is the convention.
 * Entries are regular expressions; `^` and `$` pin the ones that would otherwise hit ordinary names (`^down$`).
 */
export const SKIPPED_FRAME_WORDS: readonly string[] = [
  // Sanitizers and the report's own printing.
  '__sanitizer', '__asan', 'kasan', 'hwasan', '__msan', 'kmsan', 'kcsan_setup_watchpoint', 'check_memory_region', 'check_heap_object',
  'check_object', 'read_word_at_a_time', '(?:read|write)_once_.*nocheck', 'print_address_description', 'print_report', 'print_usage_bug',
  'show_stack', 'dump_stack', 'walk_stack', 'dump_backtrace', 'stack_trace_consume_entry', 'arch_stack_walk', 'stack_trace_save',
  'hex_dump_to_buffer', 'print_hex_dump', 'print_tainted', '^get_taint$', 'printk', 'va_format', 'perf_trace',
  'dev_info', 'dev_notice', 'dev_warn', 'dev_err', 'dev_alert', 'dev_crit', 'dev_emerg',
  // Panics, BUG() and WARN(), traps.
  'panic', 'invalid_op', 'report_bug', 'fixup_bug', 'do_error', '_trap$', 'do_trap', 'warn_slowpath', 'warn_alloc', 'warn_bogus', '__warn',
  'assertfail', '__fortify_report', 'program_check_exception', 'program_check_common',
  // arm64's fault path to an oops.
  'do_(?:kernel|translation)_fault', 'do_mem_abort', 'el1_abort', 'el1h_64_sync(?:_handler)?',
  // Allocation: pages, slabs, the page cache's allocating lookups.
  'alloc_page', 'k?v?(?:m|z|c)alloc', 'krealloc', 'kmem_cache', 'allocate_slab', 'slab_', 'folio_(?:alloc|unlock)', 'filemap_alloc_folio',
  '__filemap_get_folio', 'find_or_create_page', 'do_read_cache_folio', 'read_cache_page', 'pagecache_get_page',
  'grab_cache_page_write_begin', 'memdup', 'strdup', 'strndup', '^kv?free$', 'kfree_skb', 'ida_free', '__phys_addr',
  // Debug objects and lock debugging.
  'debug_object', 'timer_is_static_object', 'work_is_static_object', 'lockdep', 'lock_acquire', 'lock_release', 'lock_class',
  'mark_lock', '(?:reacquire|mark)_held_locks', 'print_unlock', 'imbalance_bug', '(?:trace|lockdep)_(?:hard|soft)irq', 'seqprop_assert',
  // Locking primitives.
  'bh_enable', 'bh_disable', 'raw_spin_rq', 'spin_lock', 'spin_trylock', 'spin_unlock', 'read_lock', 'read_trylock', 'write_lock',
  'write_trylock', 'read_unlock', 'write_unlock', '^down$', 'down_read', 'down_write', 'down_trylock', 'up_read', 'up_write', '^mutex_',
  '^__mutex_', '^rt_mutex_', 'owner_on_cpu', 'osq_lock', 'osq_unlock', '^(?:un)?lock_page',
  // Atomics, bit operations, reference counts.
  'atomic(?:64)?_(?:dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)', '(?:set|clear|change|test)_bit', '^refcount_', '^kref_',
  'ref_tracker',
  // Sleeping and waking.
  '__wake_up', 'finish_wait', '^complete$', 'wait_for_completion', '__might_fault', 'might_fault', 'might_sleep', '__might_resched',
  // Strings, memory and copies.
  'memcpy', 'memcmp', 'memset', 'memchr', 'memmove', 'strcmp', 'strncmp', 'strcpy', 'strlcpy', 'strncpy', 'strscpy', 'strlen', 'strstr',
  'strnstr', 'strnlen', 'strchr', 'string', 'pointer', 'snprintf', 'scnprintf', 'kasprintf', 'kvasprintf', 'copy_to_user', 'copy_from_user',
  'copy_to_iter', 'copy_from_iter', 'copy_page_to_iter', 'copy_page_from_iter', 'copy_folio_to_iter', '^copyin$', '^copyout$', 'put_user',
  'get_user', 'extract_(?:user|iter)_to_sg', '^crc\\d+', 'crc_itu_t',
  // Lists, trees and tables.
  'list_add', 'list_del', 'list_replace', 'list_move', 'list_splice', '^rb_', '^__rb_', '^klist_', 'xas_(?:start|load|find)', 'rhashtable_lookup',
  // Port and memory-mapped I/O accessors.
  'readb$', 'readw$', 'readl$', 'readq$', 'writeb$', 'writew$', 'writel$', 'writeq$', 'logic_in', 'logic_out',
  // Retpolines.
  '_indirect_thunk_',
  // Timers and work items: whoever owns the broken item is the culprit.
  'del_timer', 'lock_timer_base', '__timer_delete_sync', 'sk_stop_timer_sync', '__mod_timer', 'flush_work', '__cancel_work_timer',
  'cancel_work_sync', 'try_to_grab_pending', 'flush_workqueue', 'drain_workqueue', 'destroy_workqueue', 'queue_work', 'insert_work',
  '__queue_delayed_work', 'queue_delayed_work_on', 'kthread_stop', 'cleanup_srcu_struct',
  // Inodes, dentries and the page cache's truncation: the filesystem that called them is the culprit.
  '^iput$', '^iput_final$', '^ihold$', 'drop_nlink', 'fast_dput', 'dput', 'find_lock_entries', 'truncate_inode_pages_range',
  // Unregistering devices: the driver whose object it was is the culprit.
  'kobject_', 'add_uevent_var', 'get_device_parent', 'device_add', 'device_del', 'device_unregister', 'device_destroy', 'device_release',
  '^put_device$', 'devres_release_all', 'hwrng_unregister', 'i2c_del_adapter', '__unregister_client', 'device_for_each_child',
  'rollback_registered', 'unregister_netdev', 'sysfs_remove', 'device_remove_file', 'tty_unregister_device',
  // USB core entry points that drivers call with their broken objects.
  'dummy_urb_enqueue', 'usb_kill_urb', 'usb_kill_anchored_urbs', 'usb_control_msg', 'usb_hcd_submit_urb', 'usb_submit_urb',
];

/**
 * Functions that dispatch to specific code: a system call's entry, the ioctl, read and write paths to a device's
 * handler, socket calls to a protocol's, netlink to a message handler, packet receive, softirqs, timers and work
 * items to theirs. A stalled CPU is caught at a random point of the loop it spins in, so stalls and lockups are
 * named after the function such a dispatcher called, the same wherever the loop was interrupted.
 */
export const STALL_ANCHOR_FRAMES: readonly string[] = [
  // System call entry: the function called is the system call.
  'do_syscall_.*', 'x64_sys_call', 'x32_sys_call', 'ia32_sys_call', 'do_fast_syscall_32', 'do_int80_syscall_32', 'entry_SYSCALL.*', 'entry_SYSENTER.*', 'invoke_syscall', '__invoke_syscall',
  'el0_svc_common', 'do_el0_svc', 'el0_svc_handler', 'ret_fast_syscall', 'sysenter_dispatch', 'tracesys_phase2', 'system_call_fastpath',
  'sys_(?:socketpair|connect|ioctl|setsockopt|listen|accept4?)', 'exit_to_usermode\\w*',
  // Kernel threads: the thread's own function.
  'kthread', 'ret_from_fork\\w*', 'smpboot_thread_fn', 'run_ksoftirqd', 'start_secondary',
  // ioctl, read and write: the device's or file's handler.
  'do_vfs_ioctl', 'vfs_ioctl', 'compat_sys_ioctl', 'blkdev_ioctl', 'blkdev_driver_ioctl', 'compat_blkdev_ioctl', 'sock_do_ioctl',
  'sock_ioctl', 'compat_sock_ioctl', 'do_dentry_open', 'vfs_open',
  '(?:__)?vfs_read', '(?:__)?vfs_write', 'new_sync_read', 'new_sync_write', 'vfs_readv', 'vfs_writev', 'do_iter_read.*', 'do_iter_write',
  'do_iter_readv_writev', 'do_loop_readv_writev', 'call_read_iter', 'call_write_iter', 'vfs_iter_read', 'vfs_iter_write',
  // Sockets and netlink: the protocol's, the message's handler.
  'sock_sendmsg.*', '__sock_sendmsg', 'sock_recvmsg.*', 'sock_write_iter', 'sock_read_iter', 'rtnetlink_rcv_msg', 'nfnetlink_rcv_msg',
  'nfnetlink_rcv_batch', 'netlink_dump\\w*', '(?:__)?sock_release', 'sk_common_release', 'kernel_setsockopt', 'sock_common_setsockopt',
  'kernel_listen', 'kernel_accept', 'sock_mmap', 'call_mmap',
  // mmap and closing a file: the file's mmap and release handlers.
  'mmap_region', '__mmap_region', 'do_mmap.*', '__fput', '____fput', 'task_work_run', '\\w+_compat_ioctl',
  // Packet receive, softirqs, timers, tasklets, work items: the handler.
  '__netif_receive_skb.*', 'netif_receive_skb.*', 'process_backlog', '__napi_poll', 'napi_poll', 'net_rx_action', 'call_timer_fn',
  'expire_timers', '__run_timers', 'run_timer_softirq', '__run_hrtimer', 'hrtimer_run\\w*', 'tasklet_action.*', 'tasklet_hi_action', 'process_one_work', 'irq_exit.*', '__irq_exit_rcu',
  'invoke_softirq', 'do_softirq.*',
  // The idle loop: what the CPU ran from it.
  'cpu_startup_entry', 'do_idle', 'cpu_idle_loop',
];

/**
 * Page faults dispatch to the mapping's fault handler; they count as dispatchers only in a stack that has no other
 * (a fault taken by user space): a fault inside a system call's copy to or from user memory is that call's work.
 */
export const STALL_FAULT_ANCHOR_FRAMES: readonly string[] = [
  '(?:__)?do_fault', 'do_(?:read|cow|shared)_fault', 'do_page_mkwrite', '(?:__)?handle_mm_fault', 'do_user_addr_fault', '(?:__)?do_page_fault',
  'do_mem_abort', 'do_translation_fault', 'exc_page_fault',
];

const compile = (names: readonly string[]): RegExp => new RegExp(`^(?:${names.join('|')})$`);
const SKIPPED = compile(SKIPPED_FRAMES);
const STALL_ANCHOR = compile(STALL_ANCHOR_FRAMES);
const STALL_FAULT_ANCHOR = compile(STALL_FAULT_ANCHOR_FRAMES);

/** Answers for function names already seen: reports repeat the same few hundred names over and over. */
class NameCache<T> {
  private readonly map = new Map<string, T>();

  constructor(private readonly compute: (name: string) => T) {}

  get(name: string): T {
    let value = this.map.get(name);
    if (value === undefined) {
      // Bounded: a classifier that runs for weeks must not grow without end.
      if (this.map.size >= 50_000) this.map.clear();
      value = this.compute(name);
      this.map.set(name, value);
    }
    return value;
  }
}

const SKIPPED_WORD = new RegExp(SKIPPED_FRAME_WORDS.join('|'));
const skipped = new NameCache((fn) => SKIPPED.test(fn) || SKIPPED_WORD.test(fn));
/** 2: a dispatcher; 1: a page fault's (see STALL_FAULT_ANCHOR_FRAMES); 0: neither. */
const anchors = new NameCache((fn) => (STALL_ANCHOR.test(fn) ? 2 : STALL_FAULT_ANCHOR.test(fn) ? 1 : 0));

/**
 * fail_dump()'s callers: a stack that holds one is the dump fault injection prints with `FAULT_INJECTION: forcing a
 * failure.`, never another report's.
 */
export const FAULT_INJECTION_FRAMES: readonly string[] = ['should_fail(?:_ex|_alloc|_usercopy)?', 'fail_dump'];
const FAULT_INJECTION = compile(FAULT_INJECTION_FRAMES);

export function isFaultInjectionFrame(fn: string): boolean {
  return fn.charCodeAt(0) !== 95 /* _ */ && (fn.startsWith('should_fail') || fn === 'fail_dump') && FAULT_INJECTION.test(fn);
}

/** True when a (normalised) function never names a bug. */
export function isSkippedFrame(fn: string): boolean {
  return skipped.get(fn);
}

export function isStallAnchorFrame(fn: string): boolean {
  return anchors.get(fn) === 2;
}

export function isStallFaultAnchorFrame(fn: string): boolean {
  return anchors.get(fn) === 1;
}

const COMPILER_SUFFIX = /\.(?:isra|constprop|part|cold|lto_priv|llvm|localalias|specialized|cfi_jt|cfi)(?:\.\d+)*$|\.\d+$|_noprof$/;
const SYSCALL_WRAPPER = /^(?:_{2,4}sys_|__(?:x64|ia32|arm64|riscv|s390x?|powerpc|se|do)_(?:compat_)?sys_|__(?:x64|ia32|arm64)_compat_sys_|SyS_|SYSC_|compat_SyS_|ksys_)(\w+)$/;

/**
 * `do_con_write.part.23` → `do_con_write`; `kmalloc_noprof` → `kmalloc` (memory-profiling names);
 * `__x64_sys_rmdir`, `__do_sys_rmdir`, `__sys_rmdir`, `SyS_rmdir` → `sys_rmdir`; Rust's `_RNvMs3_…7Process10update_ref` →
 * `<rust_binder::process::Process>::update_ref`.
 */
export function normalizeFunction(name: string): string {
  return normalized.get(name);
}

const normalized = new NameCache(normalizeName);

function normalizeName(name: string): string {
  let fn = name;
  for (let previous = ''; previous !== fn; ) {
    previous = fn;
    fn = fn.replace(COMPILER_SUFFIX, '');
  }
  // Rust code's symbols are mangled: titles name them as Rust paths.
  if (fn.startsWith('_R') || fn.startsWith('_ZN')) return demangleRustSymbol(fn) ?? fn;
  const wrapped = SYSCALL_WRAPPER.exec(fn);
  if (wrapped) fn = `sys_${wrapped[1]}`;
  return fn;
}

const NAME = '([A-Za-z_$][\\w.$]*)';
const OFFSET = '\\+0x[0-9a-f]+(?:/0x[0-9a-f]+)?';
/** `[<ffffffff8123>] ? func+0x1f/0x80`, the pre-4.14 x86 and the arm/kmemleak format. */
const ADDRESSED_FRAME = new RegExp(`^\\s*(?:\\[<?[0-9a-f]+>?\\]\\s+)+(\\? )?${NAME}${OFFSET}`);
/** `[<c0123456>] (func) from [<c0654321>] (caller+0x…)`: 32-bit arm. */
const ARM_FRAME = /^\s*\[<[0-9a-f]+>\] \(([A-Za-z_$][\w.$]*)(?:\+0x[0-9a-f]+\/0x[0-9a-f]+)?\) from \[<[0-9a-f]+>\] \(([A-Za-z_$][\w.$]*)/;
/** ` ? func+0x1f/0x80 [module] file.c:12`, the current format. */
const TRACE_FRAME = new RegExp(`^\\s*(\\? )?${NAME}${OFFSET}(?:\\s|$)`);
/** ` func include/linux/file.h:12 [inline]`: a frame the symbolizer found inlined. */
const INLINE_FRAME = /^\s+([A-Za-z_$][\w.$]*) (?:[\w.-]+\/)*[\w.-]+\.(?:c|h|S|rs):\d+(?::\d+)?(?: \[inline\])?\s*$/;
/**
 * The faulting instruction: `RIP: 0010:func+0x…`, `pc : func+0x…`, `PC is at func+0x…`, `epc : func+0x…`, `NIP [c…]
 * func+0x…`, s390's `Krnl PSW : 0704c00180000000 000000000012345a (func+0x…)`.
 */
const PC_FRAME = new RegExp(`^\\s*(?:RIP: [0-9a-f]{4}:(?:\\[<[0-9a-f]+>\\]\\s+\\[<[0-9a-f]+>\\]\\s+)?|EIP: (?:[0-9a-f]{4}:\\[<[0-9a-f]+>\\] )?|pc : (?:\\[<[0-9a-f]+>\\] )?|PC is at |epc : |NIP:? +\\[[0-9a-f]+\\] |Krnl PSW : [0-9a-f]+ [0-9a-f]+ \\(|IP: (?:\\[<[0-9a-f]+>\\] )?|EIP is at )${NAME}${OFFSET}`);
const LR_FRAME = new RegExp(`^\\s*(?:lr : (?:\\[<[0-9a-f]+>\\] )?|LR is at | ?ra : |LR \\[[0-9a-f]+\\] )${NAME}${OFFSET}`);

/** Every format but the symbolizer's inline frames shows an offset: lines without either are never frames. */
const mayBeInline = (message: string): boolean => message.includes(' [inline]') || /\.(?:c|h|S|rs):\d/.test(message);

/** Where a message's text starts past its indentation. */
function indentEnd(message: string): number {
  let lead = 0;
  while (message.charCodeAt(lead) === 32 || message.charCodeAt(lead) === 9) lead++;
  return lead;
}

/**
 * Whether a message is a line of a call trace (what parseFrame reads as kind `trace`), answered without reading
 * the function's name.
 */
export function isTraceFrame(message: string): boolean {
  if (!message.includes('+0x')) return mayBeInline(message) && INLINE_FRAME.test(message);
  if (message.charCodeAt(indentEnd(message)) === 91 /* [ */) return ADDRESSED_FRAME.test(message) || ARM_FRAME.test(message);
  return TRACE_FRAME.test(message);
}

/** Reads a frame from one message (console prefix already removed), or null when the line is not a frame. */
export function parseFrame(message: string, line: number): Frame | null {
  // Most lines of a report (registers, hex dumps, text) are ruled out without a regular expression.
  if (!message.includes('+0x')) {
    if (!mayBeInline(message)) return null;
    const inline = INLINE_FRAME.exec(message);
    return inline ? { fn: normalizeFunction(inline[1]!), kind: 'trace', reliable: true, line } : null;
  }
  let m: RegExpExecArray | null;
  if (message.charCodeAt(indentEnd(message)) === 91 /* [ */) {
    // `[<ffffffff8123>] func+0x…` or arm's `[<c0123456>] (func) from …`.
    m = ADDRESSED_FRAME.exec(message);
    if (m) return { fn: normalizeFunction(m[2]!), kind: 'trace', reliable: !m[1], line };
    m = ARM_FRAME.exec(message);
    if (!m) return null;
    return { fn: normalizeFunction(m[1]!), kind: 'trace', reliable: true, line, caller: { fn: normalizeFunction(m[2]!), kind: 'trace', reliable: true, line } };
  }
  m = TRACE_FRAME.exec(message);
  if (m) return { fn: normalizeFunction(m[2]!), kind: 'trace', reliable: !m[1], line };
  m = PC_FRAME.exec(message);
  if (m) return { fn: normalizeFunction(m[1]!), kind: 'pc', reliable: true, line };
  m = LR_FRAME.exec(message);
  if (m) return { fn: normalizeFunction(m[1]!), kind: 'lr', reliable: true, line };
  return null;
}
