/* Fixed-width types as <linux/types.h> provides them to UAPI headers. */
#ifndef _EXAMPLE_LINUX_TYPES_H
#define _EXAMPLE_LINUX_TYPES_H

typedef unsigned int __u32;
typedef unsigned long long __u64;

#endif
