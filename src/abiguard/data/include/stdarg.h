/* abiguard freestanding <stdarg.h>: the target's va_list is the compiler's builtin type. As gcc's, a
   libc's __need___va_list request (glibc's <stdio.h>) gets __gnuc_va_list alone. */
#if !defined(__ABIGUARD_GNUC_VA_LIST)
#define __ABIGUARD_GNUC_VA_LIST
typedef __builtin_va_list __gnuc_va_list;
#endif
#if defined(__need___va_list)
#undef __need___va_list
#elif !defined(__ABIGUARD_STDARG_H)
#define __ABIGUARD_STDARG_H
typedef __builtin_va_list va_list;
#define va_start(ap, param) __builtin_va_start(ap, param)
#define va_end(ap) __builtin_va_end(ap)
#define va_arg(ap, type) __builtin_va_arg(ap, type)
#define va_copy(dest, src) __builtin_va_copy(dest, src)
#define __va_copy(dest, src) __builtin_va_copy(dest, src)
#endif
