/* abiguard freestanding <stddef.h>: types from the compiler's predefined macros. */
#ifndef __ABIGUARD_STDDEF_H
#define __ABIGUARD_STDDEF_H

typedef __SIZE_TYPE__ size_t;
typedef __PTRDIFF_TYPE__ ptrdiff_t;
#ifndef __cplusplus
typedef __WCHAR_TYPE__ wchar_t;
#endif

/* max_align_t as gcc defines it for Linux: long long and long double, plus __float128 on i386
   (whose psABI gives it 16-byte alignment, which glibc's malloc honours). */
typedef struct {
  long long __max_align_ll __attribute__((__aligned__(__alignof__(long long))));
  long double __max_align_ld __attribute__((__aligned__(__alignof__(long double))));
#ifdef __i386__
  __float128 __max_align_f128 __attribute__((__aligned__(__alignof__(__float128))));
#endif
} max_align_t;

#ifndef NULL
#define NULL ((void *)0)
#endif
#define offsetof(type, member) __builtin_offsetof(type, member)

#endif
