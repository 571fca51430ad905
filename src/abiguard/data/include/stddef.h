/* abiguard freestanding <stddef.h>: types from the compiler's predefined macros. As gcc's and clang's,
   it honours a libc's __need_size_t, __need_NULL, ... requests: with one of them defined it declares
   only what was asked (glibc's headers ask for size_t alone), else everything. */
#if !defined(__need_size_t) && !defined(__need_ptrdiff_t) && !defined(__need_wchar_t) && \
    !defined(__need_NULL) && !defined(__need_wint_t) && !defined(__need_max_align_t) && \
    !defined(__need_offsetof)
#define __need_size_t
#define __need_ptrdiff_t
#define __need_wchar_t
#define __need_NULL
#define __need_max_align_t
#define __need_offsetof
#endif

#if defined(__need_size_t) && !defined(__ABIGUARD_SIZE_T)
#define __ABIGUARD_SIZE_T
typedef __SIZE_TYPE__ size_t;
#endif
#if defined(__need_ptrdiff_t) && !defined(__ABIGUARD_PTRDIFF_T)
#define __ABIGUARD_PTRDIFF_T
typedef __PTRDIFF_TYPE__ ptrdiff_t;
#endif
#if defined(__need_wchar_t) && !defined(__ABIGUARD_WCHAR_T) && !defined(__cplusplus)
#define __ABIGUARD_WCHAR_T
typedef __WCHAR_TYPE__ wchar_t;
#endif
#if defined(__need_wint_t) && !defined(__ABIGUARD_WINT_T)
#define __ABIGUARD_WINT_T
typedef __WINT_TYPE__ wint_t;
#endif

/* max_align_t as gcc defines it for Linux: long long and long double, plus __float128 on i386
   (whose psABI gives it 16-byte alignment, which glibc's malloc honours). */
#if defined(__need_max_align_t) && !defined(__ABIGUARD_MAX_ALIGN_T)
#define __ABIGUARD_MAX_ALIGN_T
typedef struct {
  long long __max_align_ll __attribute__((__aligned__(__alignof__(long long))));
  long double __max_align_ld __attribute__((__aligned__(__alignof__(long double))));
#ifdef __i386__
  __float128 __max_align_f128 __attribute__((__aligned__(__alignof__(__float128))));
#endif
} max_align_t;
#endif

#if defined(__need_NULL)
#undef NULL
#define NULL ((void *)0)
#endif
#if defined(__need_offsetof) && !defined(offsetof)
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif

#undef __need_size_t
#undef __need_ptrdiff_t
#undef __need_wchar_t
#undef __need_NULL
#undef __need_wint_t
#undef __need_max_align_t
#undef __need_offsetof
