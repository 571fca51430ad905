/*
 * The per-arch register set user space sees, modelled on the Linux 6.1 UAPI:
 * arch/s390/include/uapi/asm/ptrace.h, arch/arm64/include/uapi/asm/ptrace.h and,
 * for every other arch, a struct pt_regs (x86 style).
 */
#ifndef _EXAMPLE_ASM_PTRACE_H
#define _EXAMPLE_ASM_PTRACE_H

#include <linux/types.h>

#if defined(__s390x__)

#define NUM_GPRS 16

typedef struct {
	unsigned long mask;
	unsigned long addr;
} __attribute__((aligned(8))) psw_t;

/*
 * The user_pt_regs structure exports the beginning of
 * the in-kernel pt_regs structure to user space.
 */
typedef struct {
	unsigned long args[1];
	psw_t psw;
	unsigned long gprs[NUM_GPRS];
} user_pt_regs;

/* Only points at the register set: growing it cannot move anything here. */
struct ptrace_regs_area {
	__u64 len;
	user_pt_regs *regs;
};

#elif defined(__aarch64__)

struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
};

/* Only points at the register set: growing it cannot move anything here. */
struct ptrace_regs_area {
	__u64 len;
	struct user_pt_regs *regs;
};

#else

struct pt_regs {
	unsigned long regs[16];
	unsigned long ip;
	unsigned long flags;
	unsigned long sp;
};

#endif

#endif
