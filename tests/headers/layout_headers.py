"""C headers exercising the layout rules that differ between architectures, written by the tests."""

from __future__ import annotations

from pathlib import Path

# name -> content; the directory they go into is on the include path.
HEADERS: dict[str, str] = {
    "abg/types.h": """
#ifndef ABG_TYPES_H
#define ABG_TYPES_H
#include <stdint.h>
#include <stddef.h>
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed long long __s64;
typedef __u64 __aligned_u64 __attribute__((aligned(8)));
typedef __u32 u32_chain1;
typedef u32_chain1 u32_chain2;
typedef const u32_chain2 u32_chain3;
#endif
""",
    "abg/bits.h": """
#ifndef ABG_BITS_H
#define ABG_BITS_H
#include <abg/types.h>
struct abg_bits {
    unsigned int a : 3;
    unsigned int b : 5;
    int c : 7;
    unsigned long long d : 40;
    unsigned char e : 1;
    unsigned int : 0;
    unsigned short f : 9;
    __u64 g : 33;
    long h : 20;
    _Bool flag : 1;
};
struct abg_bits_packed {
    unsigned char x;
    unsigned int y : 17;
    unsigned int z : 15;
} __attribute__((packed));
struct abg_bits_anon {
    int lead;
    union {
        struct { unsigned int lo : 12, hi : 20; };
        __u32 raw;
    };
    struct { unsigned short p : 3; } named_anon;
};
#endif
""",
    "abg/layout.h": """
#ifndef ABG_LAYOUT_H
#define ABG_LAYOUT_H
#include <abg/types.h>
struct abg_packed { __u8 a; __u32 b; __u16 c; __u64 d; } __attribute__((packed));
struct abg_aligned { __u8 a; __u32 b __attribute__((aligned(16))); } __attribute__((aligned(32)));
struct abg_i386 { __u32 a; __u64 b; __s64 c; double d; __aligned_u64 e; };
struct abg_long { long a; unsigned long b; void *p; size_t n; ptrdiff_t d; char c; };
struct abg_nested { __u16 m[3][5]; struct abg_long l[2]; char tail; };
struct abg_flex { __u32 count; __u64 items[]; };
struct abg_zero { __u32 count; __u8 pad[0]; };
union abg_union { __u8 bytes[12]; __u64 q; struct { __u32 lo, hi; } w; };
struct abg_anon {
    __u32 kind;
    union {
        struct { __u16 x, y; };
        __u64 whole;
        struct { __u8 tag; __u64 payload; } ext;
    };
    struct { int inner; } arr_of_anon[2];
};
typedef struct { __u32 id; long double ld; } abg_typedef_anon;
typedef union { __u32 i; float f; } abg_union_t;
struct abg_ptrs { const char *name; int (*cb)(void *, long); struct abg_flex *next; volatile __u32 *reg; };
struct abg_va { int n; long long ll; float f; double d; __u8 c; };
#endif
""",
    "abg/enums.h": """
#ifndef ABG_ENUMS_H
#define ABG_ENUMS_H
enum abg_small { ABG_S_A, ABG_S_B = 5, ABG_S_C };
enum abg_neg { ABG_N_MIN = -2147483647 - 1, ABG_N_NEG = -1, ABG_N_POS = 7 };
enum abg_u32 { ABG_U_BIG = 0xffffffffu };
enum abg_64 { ABG_64_BIG = 0x100000000ULL, ABG_64_TOP = 0xffffffffffffffffULL };
enum abg_s64 { ABG_S64_NEG = -0x100000000LL };
enum { ABG_ANON_X = 42 };
typedef enum { ABG_TE_A = 1, ABG_TE_B = 2 } abg_enum_t;
struct abg_with_enum { enum abg_small s; enum abg_64 big; abg_enum_t t; };
#endif
""",
    "abg/consts.h": """
#ifndef ABG_CONSTS_H
#define ABG_CONSTS_H
#include <abg/layout.h>
#define ABG_ONE 1
#define ABG_SHIFTED (ABG_ONE << 12)
#define ABG_NEGATIVE (-42)
#define ABG_U64_MAX 0xffffffffffffffffULL
#define ABG_LONG_BITS (sizeof(long) * 8)
#define ABG_SIZE_LONG sizeof(struct abg_long)
#define ABG_OFFSET_TAIL offsetof(struct abg_nested, tail)
#define ABG_CHAR 'f'
#define ABG_STRING "not a number"
#define ABG_TYPE unsigned int
#define ABG_EMPTY
#define ABG_FN(x) ((x) + 1)
#define ABG_UNDEFINED_REF (abg_nothing + 1)
#define ABG_ENUM_REF ABG_S_B
/* ioctl numbers: the encoding differs per architecture (as in the kernel's asm/ioctl.h). */
#if defined(__mips__) || defined(__powerpc__) || defined(__sparc__)
#define ABG_IOC_SIZEBITS 13
#define ABG_IOC_DIRBITS 3
#define ABG_IOC_NONE 1U
#define ABG_IOC_READ 2U
#define ABG_IOC_WRITE 4U
#else
#define ABG_IOC_SIZEBITS 14
#define ABG_IOC_DIRBITS 2
#define ABG_IOC_NONE 0U
#define ABG_IOC_READ 2U
#define ABG_IOC_WRITE 1U
#endif
#define ABG_IOC_NRSHIFT 0
#define ABG_IOC_TYPESHIFT 8
#define ABG_IOC_SIZESHIFT 16
#define ABG_IOC_DIRSHIFT (ABG_IOC_SIZESHIFT + ABG_IOC_SIZEBITS)
#define ABG_IOC(dir, type, nr, size) (((dir) << ABG_IOC_DIRSHIFT) | ((type) << ABG_IOC_TYPESHIFT) | \\
    ((nr) << ABG_IOC_NRSHIFT) | ((size) << ABG_IOC_SIZESHIFT))
#define ABG_IOWR(type, nr, T) ABG_IOC(ABG_IOC_READ | ABG_IOC_WRITE, (type), (nr), sizeof(T))
#define ABG_IOC_FIEMAP ABG_IOWR('f', 11, struct abg_long)
#define ABG_IOC_NOSIZE ABG_IOC(ABG_IOC_NONE, 'x', 1, 0)
#endif
""",
    "abg/builtins.h": """
#ifndef ABG_BUILTINS_H
#define ABG_BUILTINS_H
/* Everything abiguard's freestanding headers provide, to be compared with gcc's. */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>
#include <limits.h>
#include <float.h>
#include <stdalign.h>
#include <stdnoreturn.h>
#include <iso646.h>
struct abg_builtin_types {
    size_t s; ptrdiff_t p; wchar_t w; intmax_t im; uintmax_t um; intptr_t ip; uintptr_t up;
    int8_t i8; int16_t i16; int32_t i32; int64_t i64; uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64;
    int_least8_t l8; int_least16_t l16; int_least32_t l32; int_least64_t l64;
    uint_least8_t ul8; uint_least16_t ul16; uint_least32_t ul32; uint_least64_t ul64;
    int_fast8_t f8; int_fast16_t f16; int_fast32_t f32; int_fast64_t f64;
    uint_fast8_t uf8; uint_fast16_t uf16; uint_fast32_t uf32; uint_fast64_t uf64;
    bool b; va_list va; max_align_t ma; alignas(16) char aligned; long double ld;
};
#define ABG_T_CHAR_BIT CHAR_BIT
#define ABG_T_SCHAR_MIN SCHAR_MIN
#define ABG_T_SCHAR_MAX SCHAR_MAX
#define ABG_T_UCHAR_MAX UCHAR_MAX
#define ABG_T_CHAR_MIN CHAR_MIN
#define ABG_T_CHAR_MAX CHAR_MAX
#define ABG_T_SHRT_MIN SHRT_MIN
#define ABG_T_USHRT_MAX USHRT_MAX
#define ABG_T_INT_MIN INT_MIN
#define ABG_T_UINT_MAX UINT_MAX
#define ABG_T_LONG_MIN LONG_MIN
#define ABG_T_LONG_MAX LONG_MAX
#define ABG_T_ULONG_MAX ULONG_MAX
#define ABG_T_LLONG_MIN LLONG_MIN
#define ABG_T_ULLONG_MAX ULLONG_MAX
#define ABG_T_INT8_MIN INT8_MIN
#define ABG_T_INT64_MIN INT64_MIN
#define ABG_T_UINT64_MAX UINT64_MAX
#define ABG_T_INT_LEAST16_MIN INT_LEAST16_MIN
#define ABG_T_UINT_LEAST32_MAX UINT_LEAST32_MAX
#define ABG_T_INT_FAST8_MIN INT_FAST8_MIN
#define ABG_T_INT_FAST16_MAX INT_FAST16_MAX
#define ABG_T_INT_FAST32_MIN INT_FAST32_MIN
#define ABG_T_UINT_FAST32_MAX UINT_FAST32_MAX
#define ABG_T_INT_FAST64_MIN INT_FAST64_MIN
#define ABG_T_UINT_FAST16_MAX UINT_FAST16_MAX
#define ABG_T_INTPTR_MIN INTPTR_MIN
#define ABG_T_UINTPTR_MAX UINTPTR_MAX
#define ABG_T_INTMAX_MIN INTMAX_MIN
#define ABG_T_UINTMAX_MAX UINTMAX_MAX
#define ABG_T_PTRDIFF_MIN PTRDIFF_MIN
#define ABG_T_PTRDIFF_MAX PTRDIFF_MAX
#define ABG_T_SIZE_MAX SIZE_MAX
#define ABG_T_WCHAR_MIN WCHAR_MIN
#define ABG_T_WCHAR_MAX WCHAR_MAX
#define ABG_T_WINT_MIN WINT_MIN
#define ABG_T_WINT_MAX WINT_MAX
#define ABG_T_SIG_ATOMIC_MIN SIG_ATOMIC_MIN
#define ABG_T_SIG_ATOMIC_MAX SIG_ATOMIC_MAX
#define ABG_T_INT64_C INT64_C(-5)
#define ABG_T_UINT64_C UINT64_C(0xffffffffffffffff)
#define ABG_T_UINT32_C_SIZE sizeof(UINT32_C(1))
#define ABG_T_INTMAX_C_SIZE sizeof(INTMAX_C(1))
#define ABG_T_FLT_RADIX FLT_RADIX
#define ABG_T_FLT_MANT_DIG FLT_MANT_DIG
#define ABG_T_DBL_MANT_DIG DBL_MANT_DIG
#define ABG_T_LDBL_MANT_DIG LDBL_MANT_DIG
#define ABG_T_LDBL_MAX_EXP LDBL_MAX_EXP
#define ABG_T_DBL_DIG DBL_DIG
#define ABG_T_DECIMAL_DIG DECIMAL_DIG
#define ABG_T_TRUE true
#define ABG_T_ALIGNOF_MAX alignof(max_align_t)
#define ABG_T_ISO646 (1 bitor 2)
#define ABG_T_NULL_IS_ZERO (NULL == 0)
#define ABG_T_OFFSETOF offsetof(struct abg_builtin_types, va)
#endif
""",
}


def write_headers(root: Path, headers: dict[str, str] | None = None) -> Path:
    """Write the headers under `root` (created); returns `root`."""
    for name, text in (headers or HEADERS).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip())
    return root
