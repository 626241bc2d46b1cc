/*
** dispatch.h -- selects the interpreter's dispatch technique: direct
** threading with computed goto (default) or a portable switch.
*/
#ifndef KP_DISPATCH_H
#define KP_DISPATCH_H

/* Build with -DKRAIT_SWITCH_DISPATCH=1 for the switch fallback. */
#if defined(KRAIT_SWITCH_DISPATCH) && KRAIT_SWITCH_DISPATCH
#define KP_THREADED 0
#define KP_NEXT(base, ip) goto sw_dispatch
#else
#define KP_THREADED 1
#define KP_NEXT(base, ip) goto *(void *)((base) + (int32_t)*(ip))
#endif

#endif
