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

/* The AOT tier's machine specifics (the C it generates, src/aot/unit.c).
** KP_AOT_BUDGET_REG: a callee-saved register generated code keeps the
** fuel/deadline countdown in for its whole run (a GCC global register
** variable: host code preserves it across every call into the runtime,
** so the countdown needs no memory traffic around calls); "" keeps it in
** memory across calls. KP_AOT_SP: C text reading the stack pointer, for
** the entry's stack check without forcing a frame pointer. */
#if defined(__x86_64__)
#define KP_AOT_BUDGET_REG "r15"
#define KP_AOT_SP "({ uintptr_t sp_; __asm__(\"mov %%rsp, %0\" : \"=r\"(sp_)); sp_; })"
#else
#define KP_AOT_BUDGET_REG ""
#define KP_AOT_SP "(uintptr_t)__builtin_frame_address(0)"
#endif

#endif
