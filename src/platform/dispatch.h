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

/* Benchmark-only builds with -DKRAIT_NO_INTERRUPT_CHECKS=1 drop the fuel
** and deadline checks, to measure what they cost when disabled. */
#if defined(KRAIT_NO_INTERRUPT_CHECKS) && KRAIT_NO_INTERRUPT_CHECKS
#define KP_INTERRUPT_CHECKS 0
#else
#define KP_INTERRUPT_CHECKS 1
#endif

#endif
