/*
** cli.h -- declarations shared by the files of the `krait` command.
** Owns the exit-status convention and the small parsers/printers; not the
** engine (krait.h), WASI (src/wasi/) nor the spec runner (src/wast/).
*/
#ifndef KC_CLI_H
#define KC_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "krait.h"
#include "net/net.h"
#include "util/file.h"
#include "wasi/wasi.h"

#define KC_VERSION "0.1.0"

/* Exit statuses of `krait run` besides the guest's own proc_exit code. */
enum {
  KC_EXIT_OK = 0,
  KC_EXIT_ERROR = 1, /* unreadable, malformed, invalid or unlinkable module */
  KC_EXIT_USAGE = 2, /* bad command line */
  KC_EXIT_TRAP = 134 /* the guest trapped: 128 + SIGABRT, as wasmtime */
};

/* main.c */
int kc_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The parsed options of `krait run`, shared with `krait python`. */
typedef struct kc_run_opts {
  const char *cmd;          /* "run" or "python", for messages */
  const char *usage;        /* printed by --help and after usage errors */
  const char *module_path;  /* the .wasm file to load */
  const char *invoke;       /* --invoke NAME, or NULL for _start */
  int ndirs;
  krait_wasi_preopen *dirs; /* ndirs entries, strings malloc'ed */
  int envc;
  const char **envp;        /* "KEY=VALUE", not owned */
  int guest_argc;
  char **guest_argv;        /* the guest's argv, not owned */
  krait_config cfg;
  uint64_t max_disk;        /* --max-disk (0: no limit) */
  kw_extra wasi;            /* failed-path hook (krait python's view) */
  ko_allow net;             /* krait python's --allow-net grants, for the
                               net.* operations (empty: no network) */
  const struct ka_llm *llm; /* krait python's --llm-model models, for the
                               llm.* operations (NULL: none) */
} kc_run_opts;

/* Room kc_opts_init leaves for --env/--dir entries a command adds itself. */
#define KC_OPTS_EXTRA 8

/* run.c */
extern const char kc_run_usage[];
int kc_run_main(int argc, char **argv);
int kc_opts_init(kc_run_opts *o, int argc, const char *cmd,
                 const char *usage);
void kc_opts_free(kc_run_opts *o);
int kc_opt_known(const char *arg);
int kc_opt_one(kc_run_opts *o, int argc, char **argv, int *i);
void kc_env_put(kc_run_opts *o, const char *kv);
int kc_run_module(const kc_run_opts *o);

/* python.c */
extern const char kc_python_usage[];
int kc_python_main(int argc, char **argv);

/* llmopt.c: krait python's --llm-model NAME=PATH: each model opened at
** once on one engine (threads: the online CPUs) and granted under NAME. */
#define KC_LLM_MODELS_MAX 16
struct kl_engine;
struct ka_llm;
typedef struct kc_llm_grants {
  struct kl_engine *engine;      /* started with the first model */
  struct ka_llm *llm;            /* what the llm.* operations see */
  int n;
  char *names[KC_LLM_MODELS_MAX];
} kc_llm_grants;
/* One --llm-model VALUE: -1 to go on, else an exit status after the
** message (a usage error, or a model file that cannot be opened). */
int kc_llm_model_opt(kc_llm_grants *l, const char *usage, const char *value);
void kc_llm_grants_free(kc_llm_grants *l);

/* netopt.c: --ca-file FILE or --resolve NAME:ADDR (name) with its value,
** for command cmd: -1 to go on, else an exit status after the message (a
** CA file that cannot be read or holds no certificate stops the command). */
#define KC_NET_OPTS_USAGE \
  "  --ca-file FILE       Verify outbound TLS against the CA certificates of\n" \
  "                       the PEM file FILE instead of the system store\n" \
  "  --resolve NAME:ADDR  Resolve NAME to the address ADDR for outbound\n" \
  "                       connections instead of asking DNS (repeatable, as\n" \
  "                       curl's); ADDR still goes through the address policy\n"
int kc_net_opt(const char *cmd, const char *usage, const char *name, const char *value);

/* paths.c: krait's own files beside the binary (a build tree or an
** install), each a malloc'ed real path; NULL when absent (kc_python_home
** says why). */
char *kc_python_home(const char *given);
char *kc_sdk_dir(const char *home);
char *kc_web_root(void);
/* Lets the AOT tier find the compiled python.wasm that `make python` and
** `make install` put into a Python home's aot/: that of home (may be
** NULL) and those of the homes beside the binary. */
void kc_aot_dirs(const char *home);
/* The home of a package set (python.wasm with C-extension packages built
** in, under a home's sets/NAME/; NAME from the list by km_pkgset_name,
** src/manifest/pkgset.c), its aot/ added: malloc'ed; NULL after a
** message. */
char *kc_python_set(const char *home, const char *list);

/* serve.c: `krait serve` and `krait build` */
extern const char kc_serve_usage[], kc_build_usage[];
int kc_serve_main(int argc, char **argv);
int kc_build_main(int argc, char **argv);

/* keygen.c: `krait keygen NAME` (artifact signing keys). */
extern const char kc_keygen_usage[];
int kc_keygen_main(int argc, char **argv);

/* new.c */
extern const char kc_new_usage[];
int kc_new_main(int argc, char **argv);

/* websnap.c: `krait web-snapshot WEBDIR` (web/krait.js's snapshot, made
** by src/app/websnap.c). */
int kc_websnap_main(int argc, char **argv);

/* parse.c: option values. Each returns 0, or -1 when text is malformed. */
int kc_parse_u64(const char *text, uint64_t *out);
int kc_parse_size(const char *text, uint64_t *out);
int kc_parse_duration(const char *text, uint64_t *ns);
int kc_parse_tier(const char *text, krait_tier *out);
krait_tier kc_default_tier(krait_tier fallback);

/* compile.c: `krait compile [--bounds MODE] FILE.wasm` (the AOT tier). */
extern const char kc_compile_usage[];
int kc_compile_main(int argc, char **argv);

/* llm.c: `krait llm tokenize|logits|generate|embed|bench MODEL ...` (src/llm). */
extern const char kc_llm_usage[];
int kc_llm_main(int argc, char **argv);

/* llmbench.c: `krait llm bench`'s timing loops (JSON on stdout): a
** decoder's prompt (tok[0..n-1) in one batch) and n_gen greedy tokens timed
** apart; an encoder's n texts embedded rounds times. Exit statuses. */
struct kl_model;
struct kl_pool;
int kc_llm_bench_decoder(const struct kl_model *m, struct kl_pool *p,
                         const int32_t *tok, size_t n, uint32_t n_gen);
int kc_llm_bench_encoder(const struct kl_model *m, struct kl_pool *p,
                         const char *const *texts, const size_t *lens,
                         size_t n, uint32_t rounds);

/* value.c: --invoke arguments and results. */
int kc_parse_val(const char *text, char type, krait_val *out);
const char *kc_type_name(char type);
void kc_format_val(const krait_val *v, char *buf, size_t size);

#endif /* KC_CLI_H */
