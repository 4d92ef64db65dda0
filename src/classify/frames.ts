// Stack frames in kernel reports: reading them from report lines, normalising function names, and the frames
// that never name a bug (reporting, locking, scheduling, allocation and debugging helpers), kept as data.

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
  'debug_.*', '__debug_.*', 'should_fail.*', 'should_failslab', '__should_failslab', 'fail_dump', 'stack_depot_.*', 'set_track.*',
  'object_err', 'slab_err', 'slab_bug', 'check_bytes_and_report', 'check_object', 'on_freelist', 'free_debug_processing', 'alloc_debug_processing',
  'kcov_.*', '__kcov_.*', 'write_comp_data', 'trace_hardirqs_.*', 'lockdep_hardirqs_.*', 'fortify_panic', '__fortify_.*', 'fortify_.*',
  '__stack_chk_fail', '__warn_printk', '__bug', 'bug', 'check_panic_on_warn', '__schedule_bug', '(?:__)?hwasan_.*', 'do_tag_check_fault',
  'do_tag_recovery', 'report_tag_fault', '(?:__)?set_page_owner.*', '__reset_page_owner', 'rcu_gp_.*', 'rcu_print_.*', 'rcu_exp_.*',
  // Lock debugging (lockdep) and RCU debugging.
  'lock_acquire.*', 'lock_release', 'lock_acquired', 'lock_contended', '__lock_acquire.*', '__lock_release', 'lock_is_held.*', '__lock_is_held',
  'lockdep_.*', 'check_noncircular', 'check_prevs?_add', 'check_irq_usage', 'check_usage.*', 'check_deadlock', 'check_flags.*',
  'check_chain_key', 'check_wait_context', 'validate_chain', 'mark_lock.*', 'mark_usage', 'mark_held_locks', '__bfs.*', 'save_trace',
  'register_lock_class', 'look_up_lock_class', 'find_held_lock', 'lock_downgrade', 'hlock_class', 'valid_state', 'do_raw_.*',
  'reacquire_held_locks', 'release_sock',
  'rcu_read_lock.*', 'rcu_read_unlock.*', '__rcu_read_lock', '__rcu_read_unlock', 'rcu_lock_acquire', 'rcu_lock_release', 'rcu_is_watching',
  'rcu_dynticks.*', 'rcu_preempt_deferred_qs.*', 'spin_dump', 'spin_bug',
  // Locking primitives.
  '_raw_.*', 'raw_spin_.*', '__raw_.*', 'spin_.*', 'queued_.*', 'native_queued_spin_lock_slowpath', '(?:__)?pv_queued_spin_lock_slowpath',
  'mutex_.*', '__mutex_.*', 'ww_mutex_.*', '__ww_mutex_.*', 'rt_mutex_.*', '__rt_mutex_.*', 'rt_spin_.*', 'down', 'down_.*', '__down.*',
  'up', 'up_.*', '__up.*', 'rwsem_.*', '__rwsem_.*', 'percpu_down_.*', 'percpu_up_.*', 'percpu_rwsem_.*', '__percpu_down_.*', '__percpu_rwsem_.*',
  'read_lock.*', 'read_unlock.*', 'write_lock.*', 'write_unlock.*', 'lock_sock.*', '__lock_sock', 'local_bh_enable.*', '__local_bh_enable.*',
  '_local_bh_enable', 'local_bh_disable', 'preempt_count_.*', 'arch_local_irq_.*', '__seqprop.*', 'seqcount_.*', 'write_seqcount_.*',
  'raw_write_seqcount_.*', 'do_write_seqcount_.*', 'u64_stats_.*', 'bit_spin_lock', 'srcu_read_lock.*', 'srcu_read_unlock.*',
  '_*task_rq_lock', 'rq_lock.*', '_*raw_spin_rq_lock.*', 'double_rq_lock', 'ldsem_.*', 'tty_ldisc_lock.*', 'osq_lock', 'osq_unlock',
  'lock_timer_base', 'lock_hrtimer_base', 'percpu_ref_.*', '__percpu_ref_.*',
  // Scheduling and waiting.
  'schedule.*', '__schedule', 'preempt_schedule.*', '_cond_resched', '__cond_resched.*', 'cond_resched.*', 'io_schedule.*', 'context_switch',
  'finish_task_switch.*', '__switch_to.*', 'switch_to', 'wait_for_completion.*', '__wait_for_common', 'wait_for_common.*', 'do_wait_for_common',
  'wait_woken', 'prepare_to_wait.*', 'finish_wait', '__wake_up.*', 'wake_up_(?:process|state|q|bit|var)', 'try_to_wake_up', '(?:autoremove|default)_wake_function', 'woken_wake_function', '__wait_on_bit.*', 'wait_on_bit.*', 'out_of_line_wait_on_bit.*', 'bit_wait.*',
  'wait_on_page_bit.*', 'folio_wait_bit.*', '__folio_lock.*', '__might_sleep', '___might_sleep', '__might_fault', 'might_fault', '__might_resched',
  '__might_.*', 'might_sleep', 'msleep.*', 'usleep_range.*', 'schedule_hrtimeout.*', '(?:__)?wait_rcu_gp', 'synchronize_rcu_normal',
  'kthread_stop.*', 'kthread_park', '(?:__)?wait_on_buffer', '(?:__)?lock_buffer', '(?:folio_)?unlock_page', 'folio_unlock',
  '(?:__)?lock_page.*', '(?:__)?folio_lock.*', 'try_to_grab_pending', 'insert_work', '(?:__)?flush_work.*', '(?:__)?flush_workqueue', 'drain_workqueue', 'cancel_work_sync', '__cancel_work.*',
  'cancel_delayed_work_sync', 'rcu_barrier.*', 'wait_for_completion_\\w+', '(?:__)?filemap_fdatawait.*', 'filemap_write_and_wait.*',
  'wait_on_page_writeback', 'folio_wait_writeback', 'folio_wait_stable', 'wb_wait_for_completion', '(?:__)?synchronize_srcu',
  // Queueing work and timers: whoever queued the broken item is the culprit.
  '(?:__)?queue_work.*', '(?:__)?queue_delayed_work.*', 'mod_delayed_work.*', '(?:__)?mod_timer.*', 'add_timer.*', 'del_timer.*', 'timer_delete.*',
  'try_to_del_timer_sync', 'work_is_static_object', 'timer_is_static_object', 'call_rcu.*', '__call_rcu.*', 'kfree_call_rcu', 'kvfree_call_rcu',
  // Memory allocation.
  'kmalloc.*', '__kmalloc.*', 'kzalloc.*', 'kcalloc.*', 'krealloc.*', '__krealloc', 'kmem_cache_.*', '__kmem_cache_.*', 'kfree', 'kvfree.*',
  'kfree_sensitive', 'kzfree', '__kfree', 'slab_.*', '___slab_alloc', '__slab_alloc.*', '__slab_free', 'do_slab_free', 'cache_alloc.*',
  '_{2,4}cache_alloc.*', '__do_cache_alloc', 'cache_free_debugcheck', 'new_slab', 'allocate_slab', 'alloc_slab_page', 'setup_object.*',
  '__alloc_pages.*', 'alloc_pages.*', '__get_free_pages', 'get_zeroed_page', 'alloc_page_interleave', '__folio_alloc.*', 'folio_alloc.*',
  'vmalloc.*', '__vmalloc.*', 'vzalloc.*', 'kvmalloc.*', 'kvzalloc.*', 'kvcalloc', '__kvmalloc.*', 'kmemdup.*', 'kstrdup.*', 'kstrndup',
  'memdup_user.*', 'vmemdup_user', 'strndup_user', 'kasprintf', 'kvasprintf.*', 'mempool_alloc.*', 'mempool_free', 'kmalloc_slab',
  'kmalloc_large.*', 'kmalloc_order.*', 'alloc_large_system_hash', 'pcpu_alloc', '__alloc_percpu.*', 'alloc_percpu.*', 'free_percpu',
  '__free_pages.*', 'free_pages.*', 'free_unref_page.*', 'free_the_page', '__folio_put.*', '__put_page', 'free_pcp.*', 'free_pages_prepare',
  'post_alloc_hook', 'prep_new_page', 'get_page_from_freelist', 'kfree_skb.*', 'consume_skb', '__kfree_skb',
  // String, memory, copy and checksum helpers.
  'mem(?:cpy|move|set|cmp|chr|scan|chr_inv)', '__mem(?:cpy|move|set|cmp).*', 'memcpy_.*', 'memset_.*', 'strlen', 'strnlen', 'strcmp',
  'strncmp', 'strcpy', 'strncpy', 'strlcpy', 'strscpy.*', 'sized_strscpy', 'strcat', 'strncat', 'strlcat', 'strchr', 'strrchr', 'strstr',
  'strnstr', 'strsep', 'strcasecmp', 'strncasecmp', 'vsnprintf', 'snprintf', 'sprintf', 'vsprintf', 'scnprintf', 'vscnprintf', 'string',
  'string_nocheck', 'hex_string', 'widen_string', 'pointer', 'number', 'format_decode', 'bstr_printf', 'seq_printf', 'seq_vprintf', 'va_format.*',
  '_copy_to_user', '_copy_from_user', 'copy_to_user.*', 'copy_from_user.*', '__copy_to_user.*', '__copy_from_user.*', 'raw_copy_.*',
  'copyin', 'copyout', '_copy_to_iter', '_copy_from_iter.*', 'copy_to_iter', 'copy_from_iter.*', 'copy_page_to_iter.*', 'copy_page_from_iter.*',
  '__get_user.*', '__put_user.*', 'strncpy_from_user', 'do_strncpy_from_user', 'copy_user_.*', 'rep_movs_alternative', 'copy_mc_.*',
  'strnlen_user', 'fault_in_.*', 'check_stack_object', 'fixup_exception',
  'crc.*', '__crc.*', 'csum_partial.*',
  // List, reference count and atomic helpers (their own checks report the bug of a caller).
  '__list_add.*', '__list_del.*', 'list_add.*', 'list_del.*', '__hlist_del', 'hlist_del.*', 'refcount_.*', '__refcount_.*', 'kref_.*',
  'atomic_.*', 'atomic64_.*', 'arch_atomic.*', 'raw_atomic.*', '_atomic_dec_and_lock.*', 'atomic_dec_and_.*lock.*',
  // Driver core and USB core entry points that drivers call with their broken objects.
  'kobject_.*', '__kobject_.*', 'device_del', 'device_unregister', 'device_add', 'put_device', 'device_destroy', 'get_device_parent', 'usb_kill_urb', 'usb_kill_anchored_urbs',
  'usb_start_wait_urb', 'usb_bulk_msg', 'usb_control_msg', 'usb_interrupt_msg', 'usb_unlink_urb', 'usb_poison_urb', 'usb_free_urb',
  'dev_vprintk_emit', '(?:_|__)?dev_printk.*', '_dev_(?:emerg|alert|crit|err|warn|notice|info)',
  // Port and memory-mapped I/O accessors (and the logic PIO indirection behind them): a fault in one is the access
  // its caller asked for.
  '__raw_(?:read|write)[bwlq]', '(?:read|write)[bwlq](?:_relaxed)?', 'io(?:read|write)(?:8|16|32|64)(?:be)?(?:_rep)?', '(?:in|out)[bwl](?:_p)?',
  'logic_(?:in|out)[bwl]', '(?:__)?(?:ins|outs)[bwl]', 'mmio_(?:in|out)[bwl]',
  // Socket buffer accessors that check their caller's arithmetic.
  '(?:__)?skb_pull', '(?:__)?skb_put', '(?:__)?skb_push', 'pskb_may_pull', 'skb_panic', 'skb_over_panic', 'skb_under_panic',
  // Entry code: where a task enters the kernel, never what it did there.
  'entry_SYSCALL.*', 'do_syscall_.*', 'ret_from_fork.*', 'kthread', 'worker_thread', 'smpboot_thread_fn', 'el0_.*', 'el0t_.*', 'invoke_syscall.*',
  'do_el0_svc.*', 'el0_svc_common.*', '__invoke_syscall', 'ret_fast_syscall', 'vector_swi', 'do_int80_syscall_32', '(?:__)?do_fast_syscall_32',
  'entry_INT80_compat', 'entry_SYSENTER_compat.*', 'ret_from_fork_asm', 'handle_exception', 'do_trap_ecall_u', 'syscall_exit_to_user_mode.*',
  // Compiler and architecture glue (`__pfx_`/`__cfi_` are the CFI stubs in front of every function of newer kernels).
  '__pfx_.*', '__cfi_.*', '__x86_indirect_thunk_.*', '__x86_return_thunk', '__indirect_thunk_.*', 'retint_kernel', '___preempt_schedule.*', '__phys_addr',
  '(?:__)?handle_domain_irq', 'generic_handle_.*', 'handle_irq_desc', 'asm_do_IRQ', 'x64_sys_call', 'x32_sys_call', 'ia32_sys_call',
  'ref_tracker_.*',
  // Generic data structures: the bug is in whoever passed them a broken tree or list.
  'rb_.*', '__rb_.*', 'klist_.*', 'xa_.*', 'xas_.*', '__xa_.*',
];

/**
 * Prefixes that mark a generic helper and its variants (`rollback_registered_many`, `__hwrng_unregister`,
 * `printk_safe_flush`, `spin_lock_bh`): the generic frames syzbot skips (syzkaller `pkg/report/linux.go`,
 * `linuxStackParams.skipPatterns`), so a title matches syzbot's only when the same frames are skipped. Each entry is
 * matched at the start of the normalised name, after any leading underscores; not anywhere in it, or a function
 * that merely contains one (`l2cap_sock_teardown_cb`, `nsim_dev_trap_report_work`) would be skipped too.
 */
export const SKIPPED_FRAME_PARTS: readonly string[] = [
  // Sanitizers and the report's own printing.
  '__sanitizer', '__asan', 'kasan', '__msan', 'kmsan', 'check_memory_region', 'read_word_at_a_time', 'print_address_description',
  'panic', 'invalid_op', 'report_bug', 'fixup_bug', 'do_error', 'dump_stack', 'warn_slowpath', 'warn_alloc', '__warn',
  'debug_object', 'timer_is_static_object', 'work_is_static_object', 'lockdep', 'perf_trace', 'printk', 'va_format',
  // Locking.
  'lock_acquire', 'lock_release', 'lock_class', 'reacquire_held_locks', 'spin_lock', 'spin_trylock', 'spin_unlock', 'raw_read_lock',
  'raw_read_trylock', 'raw_write_lock', 'raw_write_trylock', 'down', 'up_read', 'up_write', 'mutex_lock', 'mutex_trylock', 'mutex_unlock',
  'mutex_remove_waiter', 'osq_lock', 'osq_unlock', '__wake_up', 'finish_wait', 'complete$', 'wait_for_completion',
  // Reference counts, strings, copies, lists.
  'refcount_add', 'refcount_sub', 'refcount_inc', 'refcount_dec', 'refcount_set', 'refcount_read', 'memcpy', 'memcmp', 'memset', 'memchr',
  'memmove', 'strcmp', 'strncmp', 'strcpy', 'strlcpy', 'strncpy', 'strscpy', 'strlen', 'strnstr', 'strnlen', 'strchr', 'copy_to_user',
  'copy_from_user', 'put_user', 'get_user', 'might_fault', 'might_sleep', 'list_add', 'list_del', 'list_replace', 'list_move', 'list_splice',
  'string', 'pointer', 'snprintf', 'scnprintf', 'kasprintf', 'kvasprintf', 'kfree$', 'kfree_skb',
  'dev_info', 'dev_notice', 'dev_warn', 'dev_err', 'dev_alert', 'dev_crit', 'dev_emerg', 'program_check_exception', 'program_check_common',
  // Timers and work items: whoever owns the broken item is the culprit.
  'del_timer', 'flush_work', '__cancel_work_timer', 'cancel_work_sync', 'try_to_grab_pending', 'flush_workqueue', 'drain_workqueue',
  'destroy_workqueue', 'kthread_stop',
  // Unregistering devices: the driver whose object it was is the culprit.
  'kobject_del', 'kobject_put', 'kobject_uevent_env', 'add_uevent_var', 'get_device_parent', 'device_add', 'device_del', 'device_unregister',
  'device_destroy', 'device_release', 'devres_release_all', 'hwrng_unregister', 'i2c_del_adapter', '__unregister_client',
  'device_for_each_child', 'rollback_registered', 'unregister_netdev', 'sysfs_remove', 'device_remove_file', 'tty_unregister_device',
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
  'el0_svc_common', 'do_el0_svc', 'ret_fast_syscall', 'sysenter_dispatch', 'system_call_fastpath',
  // ioctl, read and write: the device's or file's handler.
  'do_vfs_ioctl', 'vfs_ioctl', 'sys_ioctl', 'compat_sys_ioctl', 'blkdev_ioctl', 'compat_blkdev_ioctl', 'sock_do_ioctl', 'sock_ioctl',
  '(?:__)?vfs_read', '(?:__)?vfs_write', 'new_sync_read', 'new_sync_write', 'vfs_readv', 'vfs_writev', 'do_iter_read.*', 'do_iter_write',
  'do_iter_readv_writev', 'do_loop_readv_writev', 'call_read_iter', 'call_write_iter', 'vfs_iter_read', 'vfs_iter_write',
  // Sockets and netlink: the protocol's, the message's handler.
  'sock_sendmsg.*', '__sock_sendmsg', 'sock_recvmsg.*', 'sock_write_iter', 'sock_read_iter', 'rtnetlink_rcv_msg', 'nfnetlink_rcv_msg',
  'nfnetlink_rcv_batch',
  // mmap and closing a file: the file's mmap and release handlers.
  'mmap_region', '__mmap_region', 'do_mmap.*', '__fput', '____fput', 'task_work_run', '\\w+_compat_ioctl',
  // Packet receive, softirqs, timers, tasklets, work items: the handler.
  '__netif_receive_skb.*', 'netif_receive_skb.*', 'process_backlog', '__napi_poll', 'napi_poll', 'net_rx_action', 'call_timer_fn',
  'expire_timers', '__run_timers', 'run_timer_softirq', '__run_hrtimer', 'tasklet_action.*', 'process_one_work', 'irq_exit.*', '__irq_exit_rcu',
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

const SKIPPED_PART = new RegExp(`^_*(?:${SKIPPED_FRAME_PARTS.join('|')})`);
const skipped = new NameCache((fn) => SKIPPED.test(fn) || SKIPPED_PART.test(fn));
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
const SYSCALL_WRAPPER = /^(?:__(?:x64|ia32|arm64|riscv|s390x?|powerpc|se|do)_(?:compat_)?sys_|__(?:x64|ia32|arm64)_compat_sys_|SyS_|SYSC_|compat_SyS_|ksys_)(\w+)$/;

/**
 * `do_con_write.part.23` → `do_con_write`; `kmalloc_noprof` → `kmalloc` (memory-profiling names);
 * `__x64_sys_rmdir`, `__do_sys_rmdir`, `SyS_rmdir` → `sys_rmdir`.
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

/** Reads a frame from one message (console prefix already removed), or null when the line is not a frame. */
export function parseFrame(message: string, line: number): Frame | null {
  // Every format but the symbolizer's inline frames shows an offset: most lines of a report (registers, hex
  // dumps, text) are ruled out without a regular expression.
  if (!message.includes('+0x')) {
    if (!message.includes(' [inline]') && !/\.(?:c|h|S|rs):\d/.test(message)) return null;
    const inline = INLINE_FRAME.exec(message);
    return inline ? { fn: normalizeFunction(inline[1]!), kind: 'trace', reliable: true, line } : null;
  }
  let lead = 0;
  while (message.charCodeAt(lead) === 32 || message.charCodeAt(lead) === 9) lead++;
  let m: RegExpExecArray | null;
  if (message.charCodeAt(lead) === 91 /* [ */) {
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
