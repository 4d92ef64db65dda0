// SPDX-License-Identifier: GPL-2.0
/*
 * gauntlet_softlockup: a fault helper for gauntlet's `faults` suite. On load it starts one kernel thread that
 * spins with preemption disabled for `seconds` seconds, so the CPU it runs on cannot schedule and the
 * soft-lockup watchdog reports "BUG: soft lockup - CPU#N stuck for Ns!". Interrupts stay on, so the machine
 * recovers when the spin ends; the thread then sleeps until the module is removed.
 */
#include <linux/module.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/err.h>

static unsigned int seconds = 30;
module_param(seconds, uint, 0444);
MODULE_PARM_DESC(seconds, "how long to spin with preemption disabled, in seconds (default 30, at most 600)");

static struct task_struct *spinner;

static int gauntlet_spin(void *unused)
{
	ktime_t deadline = ktime_add_ms(ktime_get(), (s64)seconds * MSEC_PER_SEC);

	preempt_disable();
	pr_info("gauntlet_softlockup: spinning on CPU#%d for %u s with preemption disabled\n", smp_processor_id(), seconds);
	while (ktime_before(ktime_get(), deadline))
		cpu_relax();
	preempt_enable();
	pr_info("gauntlet_softlockup: spin over\n");

	/* Stay until rmmod: kthread_stop() in the exit hook then waits for this function to return. */
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ);
	return 0;
}

static int __init gauntlet_softlockup_init(void)
{
	/* A typo should not take a CPU away for hours. */
	if (seconds > 600)
		return -EINVAL;
	spinner = kthread_run(gauntlet_spin, NULL, "gauntlet_spin");
	return PTR_ERR_OR_ZERO(spinner);
}

static void __exit gauntlet_softlockup_exit(void)
{
	kthread_stop(spinner);
}

module_init(gauntlet_softlockup_init);
module_exit(gauntlet_softlockup_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("gauntlet fault helper: spins with preemption disabled to trigger a soft lockup");
