/* The context of BPF_PROG_TYPE_PERF_EVENT programs (include/uapi/linux/bpf_perf_event.h in Linux 6.1). */
#ifndef _EXAMPLE_LINUX_BPF_PERF_EVENT_H
#define _EXAMPLE_LINUX_BPF_PERF_EVENT_H

#include <asm/bpf_perf_event.h>

struct bpf_perf_event_data {
	bpf_user_pt_regs_t regs;	/* by value: its size fixes where the next members live */
	__u64 sample_period;
	__u64 addr;
};

#endif
