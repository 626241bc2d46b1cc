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
** and deadline checks, to measure what they cost when disabled: the
** interpreter's, and the AOT tier's countdown in the C it generates
** (src/aot/unit.c). KP_AOT_CHECKS_MARK goes into the AOT tier's compiler
** flags, hence into its cache key, so such objects never meet a normal
** build's. */
#if defined(KRAIT_NO_INTERRUPT_CHECKS) && KRAIT_NO_INTERRUPT_CHECKS
#define KP_INTERRUPT_CHECKS 0
#define KP_AOT_CHECKS_MARK " -DKRAIT_NO_INTERRUPT_CHECKS=1"
#else
#define KP_INTERRUPT_CHECKS 1
#define KP_AOT_CHECKS_MARK ""
#endif

#endif
