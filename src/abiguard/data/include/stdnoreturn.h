/* abiguard freestanding <stdnoreturn.h>. */
#ifndef __ABIGUARD_STDNORETURN_H
#define __ABIGUARD_STDNORETURN_H
#define noreturn _Noreturn
#endif
