/*
 * What a BPF perf-event program sees as its registers, per arch, as in Linux 6.1:
 * arch/s390/include/uapi/asm/bpf_perf_event.h, arch/arm64/include/uapi/asm/bpf_perf_event.h
 * and include/uapi/asm-generic/bpf_perf_event.h for everyone else.
 */
#ifndef _EXAMPLE_ASM_BPF_PERF_EVENT_H
#define _EXAMPLE_ASM_BPF_PERF_EVENT_H

#include <asm/ptrace.h>

#if defined(__s390x__)
typedef user_pt_regs bpf_user_pt_regs_t;
#elif defined(__aarch64__)
typedef struct user_pt_regs bpf_user_pt_regs_t;
#else
typedef struct pt_regs bpf_user_pt_regs_t;
#endif

#endif
