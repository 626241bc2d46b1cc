/*
** netcli.c -- the "krait" imports of krait python: stubs answering
** E_NOSYS, but for call, call_result and error_message, which run the net.*
** operations under --allow-net. Not the operations (netops.c).
*/
#include <string.h>

#include "app/app_internal.h"
#include "../../python/c/krait_abi.h"
#include "util/util.h"

/* The stub: no effect, E_NOSYS (the guest: "not running under krait serve"). */
static int ka_cli_stub(krait_caller *c, void *env, krait_slot *ar) {
  (void)c, (void)env;
  ar[0].i32 = KRAIT_E_NOSYS;
  return 0;
}

static int ka_cli_call(krait_caller *c, void *env, krait_slot *ar) {
  ar[0].i32 = ka_call_on(env, c, ar);
  return 0;
}

static int ka_cli_call_result(krait_caller *c, void *env, krait_slot *ar) {
  ar[0].i32 = ka_call_result_on(env, c, ar);
  return 0;
}

/* error_message(buf, cap) -> len: the last failed call's message. */
static int ka_cli_error_message(krait_caller *c, void *env, krait_slot *ar) {
  ka_ctx *x = env;
  krait_memory *m = krait_caller_memory(c);
  uint32_t ptr = (uint32_t)ar[0].i32, cap = (uint32_t)ar[1].i32;
  size_t n = strlen(x->error);
  if (!m || (uint64_t)ptr + cap > krait_memory_size(m)) { ar[0].i32 = KRAIT_E_INVAL; return 0; }
  if (n <= cap) memcpy(krait_memory_data(m) + ptr, x->error, n);
  ar[0].i32 = (int32_t)n;
  return 0;
}

/* The imports (KA_IMPORTS), with the three that work here. */
static const struct { const char *name, *sig; } ka_cli_imports[] = {
#define X(name, sig) { #name, sig },
  KA_IMPORTS(X)
#undef X
};

struct ka_ctx *ka_define_cli(krait_linker *linker, const ko_allow *allow) {
  ka_ctx *x = ku_calloc(1, sizeof *x);
  if (!x) return NULL;
  x->cli = true;
  ka_net_begin(&x->net, allow, true, 0, KA_NET_OPEN_CLI, 0);
  for (size_t i = 0; i < sizeof ka_cli_imports / sizeof ka_cli_imports[0]; i++) {
    const char *n = ka_cli_imports[i].name;
    krait_host_fn fn = !strcmp(n, "call") ? ka_cli_call : !strcmp(n, "call_result") ? ka_cli_call_result
                       : !strcmp(n, "error_message") ? ka_cli_error_message : ka_cli_stub;
    if (krait_linker_define_func(linker, "krait", n, ka_cli_imports[i].sig, fn, x) != 0) {
      ka_cli_end(x);
      return NULL;
    }
  }
  return x;
}

void ka_cli_llm(struct ka_ctx *x, const ka_llm *llm) { x->llm = llm; }

void ka_cli_end(struct ka_ctx *x) {
  if (!x) return;
  ka_bindings_end(x);
  ku_free(x);
}
