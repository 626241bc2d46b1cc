/*
** store.c -- stores: owned objects, the execution stacks, the one catch
** point for traps (kr_call_raw) and the guard-page fault bridge.
*/
#include "runtime/runtime.h"
#include "interp/interp.h"
#include "platform/platform.h"
#include <pthread.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "util/util.h"

/* A thread's spare execution stacks, parked by its last freed store so
** that its next store (in a server: the next request) reuses them: no
** mapping, no zeroing, no unmapping (which costs a TLB shootdown on every
** core of a threaded process). Released when the thread exits. */
typedef struct kr_spare {
  krait_slot *stack;
  size_t stack_bytes;
  ki_frame *frames;
  size_t frames_bytes;
} kr_spare;

static pthread_key_t kr_spare_key;
static pthread_once_t kr_spare_once = PTHREAD_ONCE_INIT;

/* The pthread key's destructor: unmaps a thread's spare stacks. */
static void kr_spare_free(void *p) {
  kr_spare *sp = p;
  kp_release(sp->stack, sp->stack_bytes);
  kp_release(sp->frames, sp->frames_bytes);
  ku_free(sp);
}

static void kr_spare_init(void) { pthread_key_create(&kr_spare_key, kr_spare_free); }

/* Gives s its stacks: the thread's spares when their sizes fit, else new
** lazily-zeroed mappings. */
static bool kr_stacks_take(krait_store *s, size_t stack_bytes, size_t frames_bytes) {
  pthread_once(&kr_spare_once, kr_spare_init);
  kr_spare *sp = pthread_getspecific(kr_spare_key);
  if (sp && sp->stack_bytes == stack_bytes && sp->frames_bytes == frames_bytes) {
    pthread_setspecific(kr_spare_key, NULL);
    s->ex.stack = sp->stack;
    s->ex.frames = sp->frames;
    memset(s->ex.frames, 0, 2 * sizeof *s->ex.frames);
    ku_free(sp);
    return true;
  }
  s->ex.stack = kp_map(stack_bytes);
  s->ex.frames = kp_map(frames_bytes);
  if (s->ex.stack && s->ex.frames) return true;
  kp_release(s->ex.stack, stack_bytes);
  kp_release(s->ex.frames, frames_bytes);
  return false;
}

/* Parks s's stacks as the thread's spares (or unmaps them). */
static void kr_stacks_give(krait_store *s) {
  size_t sb = (size_t)(s->ex.stack_end - s->ex.stack) * sizeof(krait_slot);
  size_t fb = ((size_t)(s->ex.frames_end - s->ex.frames) + 1) * sizeof(ki_frame);
  if (!pthread_getspecific(kr_spare_key)) {  /* the thread has none parked */
    kr_spare *sp = ku_malloc(sizeof *sp);
    if (sp && pthread_setspecific(kr_spare_key, sp) == 0) {
      *sp = (kr_spare){ s->ex.stack, sb, s->ex.frames, fb };
      return;
    }
    ku_free(sp);
  }
  kp_release(s->ex.stack, sb);
  kp_release(s->ex.frames, fb);
}

/* Creates a store with its value stack and frame stack (both mapped
** lazily, or reused from the thread's last store). */
krait_store *krait_store_new(krait_engine *e) {
  krait_store *s = ku_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->engine = e;
  ku_vec_init(&s->owned, sizeof(kr_owned));
  size_t nslots = e->cfg.value_stack_bytes / sizeof(krait_slot);
  if (!kr_stacks_take(s, nslots * sizeof(krait_slot),
                      ((size_t)e->cfg.max_call_depth + 2) * sizeof(ki_frame))) {
    ku_free(s);
    return NULL;
  }
  s->ex.stack_end = s->ex.stack + nslots;
  s->ex.frames_end = s->ex.frames + e->cfg.max_call_depth + 1;
  s->ex.frame = s->ex.frames;
  s->ex.sp_free = s->ex.stack;
  krait_store_set_fuel(s, e->cfg.fuel);
  s->ex.timeout_ns = e->cfg.timeout_ns;
  return s;
}

static void free_instance(krait_instance *in) {
  ku_free(in);  /* arrays live in the same block */
}

int krait_store_on_free(krait_store *s, void (*fn)(void *), void *data) {
  kr_finalizer *f = ku_malloc(sizeof *f);
  if (!f) return -1;
  f->fn = fn;
  f->data = data;
  if (!kr_own(s, KR_OWN_FINALIZER, f)) return -1;
  return 0;
}

/* Runs finalizers newest first, before any object is freed. */
static void run_finalizers(krait_store *s) {
  kr_owned *o = s->owned.data;
  for (size_t i = s->owned.len; i > 0; i--) {
    if (o[i - 1].kind != KR_OWN_FINALIZER) continue;
    kr_finalizer *f = o[i - 1].ptr;
    f->fn(f->data);
  }
}

/* Runs finalizers, then frees every object the store owns. */
void krait_store_free(krait_store *s) {
  if (!s) return;
  run_finalizers(s);
  kr_owned *o = s->owned.data;
  for (size_t i = 0; i < s->owned.len; i++) {
    switch (o[i].kind) {
    case KR_OWN_MEMORY: kr_memory_free(o[i].ptr); break;
    case KR_OWN_TABLE: kr_table_free(o[i].ptr); break;
    case KR_OWN_INSTANCE: free_instance(o[i].ptr); break;
    default: ku_free(o[i].ptr);
    }
  }
  ku_vec_free(&s->owned);
  ku_arena_free(&s->arena);
  kr_stacks_give(s);
  ku_free(s);
}

/* Records an object as owned by the store (freed with it). */
bool kr_own(krait_store *s, int kind, void *ptr) {
  kr_owned *o = ku_vec_push(&s->owned);
  if (!o) {
    if (kind == KR_OWN_MEMORY) kr_memory_free(ptr);
    else if (kind == KR_OWN_TABLE) kr_table_free(ptr);
    else ku_free(ptr);
    return false;
  }
  o->kind = kind;
  o->ptr = ptr;
  return true;
}

void *kr_alloc(krait_store *s, size_t n) {
  void *p = ku_calloc(1, n);
  if (p && !kr_own(s, KR_OWN_PLAIN, p)) return NULL;
  return p;
}

void krait_store_set_max_memory(krait_store *s, uint64_t max_bytes) { s->max_memory_bytes = max_bytes; }

void krait_store_set_fuel(krait_store *s, uint64_t fuel) {
  s->ex.fuel_on = fuel != 0;
  s->ex.fuel = fuel;
}

uint64_t krait_store_fuel(const krait_store *s) {
  return s->ex.fuel_on ? s->ex.fuel : UINT64_MAX;
}

void krait_store_set_timeout(krait_store *s, uint64_t ns) { s->ex.timeout_ns = ns; }
void krait_store_set_data(krait_store *s, void *data) { s->data = data; }

static krait_func *locate(krait_store *s, const uint32_t *ip);

/* The fault bridge: a fault inside any guard memory of the store becomes
** an out-of-bounds trap; anything else returns and crashes as usual. The
** interpreter keeps its code pointer in a register, so the register that
** points into lowered code tells where the trap happened; otherwise the
** faulting pc is kept for the AOT tier to name its function (after the
** longjmp, in kr_trap_to_error: nothing is looked up in the handler). */
static void on_fault(void *ctx, void *addr, const uintptr_t *regs, int nregs, uintptr_t pc) {
  krait_store *s = ctx;
  kr_owned *o = s->owned.data;
  uint8_t *a = addr;
  for (size_t i = 0; i < s->owned.len; i++) {
    if (o[i].kind != KR_OWN_MEMORY) continue;
    krait_memory *m = o[i].ptr;
    if (m->guard && a >= m->base && a < m->base + m->mapped) {
      s->ex.trap_ip = NULL;
      s->ex.aot_trap_fn = NULL;
      for (int r = 0; r < nregs && !s->ex.trap_ip; r++) {
        krait_func *f = locate(s, (const uint32_t *)regs[r]);
        if (f) s->ex.trap_ip = ki_fault_ip(f, (const uint32_t *)regs[r]);
      }
      s->ex.aot_fault_pc = s->ex.trap_ip ? 0 : pc;
      ki_trap(&s->ex, KRAIT_TRAP_MEMORY_OOB);
    }
  }
}

/* Sets up the budget for an outermost call from fuel and timeout. */
static void start_limits(ki_exec *ex) {
  ex->checked_ns = ex->timeout_ns ? kp_monotonic_ns() : 0;
  ex->deadline = ex->timeout_ns ? ex->checked_ns + ex->timeout_ns : 0;
  ex->chunk = KR_CHUNK_MIN;
  ex->bulk_bytes = 0;
  int64_t chunk = ex->deadline ? KR_CHUNK_MIN : INT64_MAX / 2;
  if (ex->fuel_on && ex->fuel < (uint64_t)chunk) chunk = (int64_t)ex->fuel;
  ex->budget = ex->budget_start = chunk;
}

/* Settles fuel consumed since the last refill after an outermost call. */
static void settle_fuel(ki_exec *ex) {
  if (!ex->fuel_on) return;
  uint64_t used = (uint64_t)(ex->budget_start - ex->budget);
  ex->fuel = used > ex->fuel ? 0 : ex->fuel - used;
}

/* The one catch point: runs a call with its limits, and turns a trap or
** exit (longjmp) into an error. Nested host->wasm calls stack up here,
** each on the native stack: past its limit (kp_stack_limit) the call is
** "call stack exhausted" before it starts, whichever tier runs it. */
int kr_call_raw(krait_store *s, krait_func *f, krait_slot *slots, krait_error *err) {
  ki_exec *ex = &s->ex;
  jmp_buf jb;
  jmp_buf *volatile saved_catch = ex->catch;
  ki_frame *volatile saved_frame = ex->frame;
  krait_slot *volatile saved_sp = ex->sp_free;
  volatile bool outer = ex->depth == 0;
  uint32_t room = f->nparams > f->nresults ? f->nparams : f->nresults;
  krait_slot *fp = ex->sp_free;
  if (fp + room > ex->stack_end || ex->frame + 1 >= ex->frames_end ||
      (uintptr_t)__builtin_frame_address(0) < kp_stack_limit()) {
    ex->trap = KRAIT_TRAP_STACK_EXHAUSTED;
    ex->trap_fn = NULL;
    kr_trap_to_error(s, err);
    return -1;
  }
  if (outer) {
    start_limits(ex);
    ex->exited = false;
    if (s->engine->cfg.bounds == KRAIT_BOUNDS_GUARD)
      kp_fault_region((void *)0, (void *)UINTPTR_MAX, on_fault, s);
  }
  memcpy(fp, slots, f->nparams * sizeof *fp);
  ex->depth++;
  int rc = 0;
  if (setjmp(jb) == 0) {
    ex->catch = &jb;
    ex->trap = KRAIT_TRAP_NONE;
    ex->aot_trap_fn = NULL;
    ex->aot_fault_pc = 0;
    if (f->host) {
      krait_caller cl = {s, NULL, f};
      ex->sp_free = fp + room;
      if (f->host(&cl, f->env, fp)) longjmp(jb, 1);
    } else {
      ki_run(s, f, fp);
    }
    memcpy(slots, fp, f->nresults * sizeof *fp);
  } else {
    rc = -1;
  }
  ex->depth--;
  ex->catch = saved_catch;
  ex->frame = saved_frame;
  ex->sp_free = saved_sp;
  if (outer) {
    settle_fuel(ex);
    kp_fault_region(NULL, NULL, NULL, NULL);
  }
  if (rc) kr_trap_to_error(s, err);
  else if (err) err->kind = KRAIT_OK;
  return rc;
}

/* Finds the function whose lowered code contains ip, for trap reports. */
static krait_func *locate(krait_store *s, const uint32_t *ip) {
  kr_owned *o = s->owned.data;
  for (size_t i = 0; ip && i < s->owned.len; i++) {
    if (o[i].kind != KR_OWN_INSTANCE) continue;
    krait_instance *in = o[i].ptr;
    for (uint32_t k = 0; k < in->module->nfuncs; k++) {
      ki_code *c = in->funcs[k] ? in->funcs[k]->code : NULL;
      if (c && ip >= c->ops && ip < c->ops + c->len) return in->funcs[k];
    }
  }
  return NULL;
}

/* The bounds of the active data segments of memory 0 that sit at constant
** offsets: [*lo, *hi). Returns false when there are none. */
static bool data_bounds(const krait_module *m, uint64_t *lo, uint64_t *hi) {
  bool any = false;
  *lo = UINT64_MAX;
  *hi = 0;
  for (uint32_t i = 0; i < m->ndatas; i++) {
    const kd_data *d = &m->datas[i];
    if (d->mode != KD_SEG_ACTIVE || d->memory != 0 || d->offset.op != KD_OP_I32_CONST) continue;
    uint64_t at = (uint32_t)d->offset.value;
    if (at < *lo) *lo = at;
    if (at + d->len > *hi) *hi = at + d->len;
    any = true;
  }
  return any;
}

/* Whether instance in's shadow stack (the C stack in linear memory that
** clang and wasm-ld keep, with __stack_pointer as the module's first
** global: a mutable i32 it defines) has run out: the stack pointer wrapped
** past address 0 (so it is beyond memory), or, when the stack sits above
** the data (wasm-ld's default layout), it fell below the data's end.
** With --stack-first the stack lies below the data and only wraps. */
static bool stack_overflowed(const krait_instance *in) {
  const krait_module *m = in ? in->module : NULL;
  uint64_t lo, hi;
  if (!m || !in->mem0 || m->nglobal_imports > 0 || m->nglobals == 0 || !in->globals[0] ||
      m->globals[0].type != KD_I32 || !m->globals[0].mut || m->global_inits[0].op != KD_OP_I32_CONST)
    return false;
  uint64_t sp = (uint32_t)in->globals[0]->val.i32, top = (uint32_t)m->global_inits[0].value;
  if (top == 0 || top > in->mem0->size) return false;  /* not a stack pointer */
  if (sp >= in->mem0->size) return true;
  return data_bounds(m, &lo, &hi) && lo < top && hi <= top && sp < hi;
}

/* The instance whose trap is reported: the trapping function's, else the
** store's first instance with a memory. */
static krait_instance *trap_instance(krait_store *s, krait_func *f) {
  kr_owned *o = s->owned.data;
  if (f && f->inst) return f->inst;
  for (size_t i = 0; i < s->owned.len; i++)
    if (o[i].kind == KR_OWN_INSTANCE && ((krait_instance *)o[i].ptr)->mem0)
      return o[i].ptr;
  return NULL;
}

/* Describes the last trap or exit in err, with function and offset. An
** out-of-bounds access made once the guest's shadow stack has run out is
** reported as the stack overflow it is. */
void kr_trap_to_error(krait_store *s, krait_error *err) {
  ki_exec *ex = &s->ex;
  if (!err) return;
  memset(err, 0, sizeof *err);
  if (ex->exited) {
    err->kind = KRAIT_ERR_EXIT;
    err->exit_code = ex->exit_code;
    ku_fmt(err->message, sizeof err->message, "exit with code %d", ex->exit_code);
    return;
  }
  err->kind = KRAIT_ERR_TRAP;
  err->trap = ex->trap;
  const char *what = ex->trap == KRAIT_TRAP_HOST ? ex->trap_msg : krait_trap_message(ex->trap);
  krait_func *f = locate(s, ex->trap_ip);
  size_t off = f ? ki_wasm_offset(f, ex->trap_ip) : 0;
  if (!f && !ex->trap_ip && ex->aot_trap_fn) {  /* native code's location */
    f = ex->aot_trap_fn;
    off = ex->aot_trap_off;
  } else if (!f && !ex->trap_ip && ex->aot_fault_pc && kr_aot && kr_aot->locate) {
    uint32_t o;
    f = kr_aot->locate(s, ex->aot_fault_pc, &o);  /* a guard fault */
    off = o;
  }
  if (ex->trap == KRAIT_TRAP_MEMORY_OOB && stack_overflowed(trap_instance(s, f)))
    what = "guest stack overflow (the shadow stack ran out)";
  if (f && off != KR_NO_OFFSET)
    ku_fmt(err->message, sizeof err->message, "%s (in function %s at offset 0x%zx)",
           what, kr_func_name(f), off);
  else if (f)
    ku_fmt(err->message, sizeof err->message, "%s (in function %s)", what, kr_func_name(f));
  else
    ku_fmt(err->message, sizeof err->message, "%s", what);
}

void *krait_caller_data(krait_caller *c) { return c->store->data; }

krait_memory *krait_caller_memory(krait_caller *c) {
  return c->inst && c->inst->mem0->base ? c->inst->mem0 : NULL;
}

/* Records a host trap message; the host function returns the result. */
int krait_caller_trap(krait_caller *c, const char *fmt, ...) {
  ki_exec *ex = &c->store->ex;
  va_list ap;
  va_start(ap, fmt);
  ku_vfmt(ex->trap_msg, sizeof ex->trap_msg, fmt, ap);
  va_end(ap);
  ex->trap = KRAIT_TRAP_HOST;
  return -1;
}

int krait_caller_trap_kind(krait_caller *c, krait_trapkind kind) {
  ki_exec *ex = &c->store->ex;
  snprintf(ex->trap_msg, sizeof ex->trap_msg, "%s", krait_trap_message(kind));
  ex->trap = kind;
  return -1;
}

uint64_t krait_caller_deadline(krait_caller *c) { return c->store->ex.deadline; }

int krait_caller_exit(krait_caller *c, int code) {
  ki_exec *ex = &c->store->ex;
  ex->exited = true;
  ex->exit_code = code;
  return -1;
}
