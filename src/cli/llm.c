/*
** llm.c -- `krait llm`: tokenize, logits, generate and embed with a GGUF
** model from the command line (what tests/llm compares with references).
** Owns only the command line and its JSON output; the engine is src/llm's.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "llm/llm_internal.h"
#include "platform/platform.h"
#include "util/util.h"

const char kc_llm_usage[] =
  "Usage: krait llm <command> MODEL.gguf [args] [options]\n"
  "\n"
  "Commands:\n"
  "  tokenize MODEL TEXT   The tokens of TEXT (JSON), special tokens added\n"
  "                        as the model's metadata says (--no-add-special:\n"
  "                        not; --parse-special: the texts of special\n"
  "                        tokens in TEXT become those tokens)\n"
  "  logits MODEL [--tokens 1,2,3 | --text T] [--all]\n"
  "                        The logits after the last token (JSON); --all:\n"
  "                        after every token, fed one at a time\n"
  "  generate MODEL PROMPT Generates text from PROMPT and prints it\n"
  "  embed MODEL TEXT...   The embedding of each TEXT (JSON)\n"
  "  bench MODEL --tokens 1,2,3 [--max-tokens N]\n"
  "                        A decoder's speed (JSON): all but the last token\n"
  "                        fed in one batch, then N greedy tokens (default\n"
  "                        64, end of generation ignored), prompt and\n"
  "                        generation timed apart, with the tokens\n"
  "  bench MODEL TEXT... [--rounds R]\n"
  "                        An encoder's speed (JSON): the TEXTs embedded R\n"
  "                        times (default 10)\n"
  "\n"
  "Options:\n"
  "  --threads N           Worker threads (default: the online CPUs)\n"
  "  --max-tokens N        Tokens to generate at most (default 100)\n"
  "  --temperature T       0 is greedy (default 0.8)\n"
  "  --top-k K             0 keeps every token (default 40)\n"
  "  --top-p P             1 keeps every token (default 0.9)\n"
  "  --repeat-penalty R    1 turns it off (default 1.1)\n"
  "  --repeat-last-n N     Tokens the penalty looks back on (default 64)\n"
  "  --seed S              Sampling seed (default: random)\n"
  "  --rounds R            bench: rounds of an encoder's TEXTs\n"
  "  --json                generate: print JSON with the tokens and usage\n";

/* The parsed command line. */
typedef struct kc_llm {
  const char *pos[64];      /* positional arguments after the command */
  int npos;
  const char *tokens;       /* --tokens */
  const char *text;         /* --text */
  bool all, json;
  bool no_add_special, parse_special;   /* tokenize */
  int threads;
  uint32_t rounds;          /* --rounds (bench) */
  bool has_max;             /* --max-tokens given */
  kl_infer_params ip;
} kc_llm;

/* A float option's value; false when malformed or not finite. */
static bool kc_llm_float(const char *s, float *out) {
  char *end;
  float v = strtof(s, &end);
  if (end == s || *end || !isfinite(v)) return false;
  *out = v;
  return true;
}

/* An unsigned 32-bit option's value; false when malformed or too large. */
static bool kc_llm_u32(const char *s, uint32_t *out) {
  uint64_t v;
  if (kc_parse_u64(s, &v) != 0 || v > UINT32_MAX) return false;
  *out = (uint32_t)v;
  return true;
}

/* One option with its value v: true when handled and valid. */
static bool kc_llm_value(kc_llm *o, const char *name, const char *v) {
  uint32_t u;
  if (!strcmp(name, "--tokens")) { o->tokens = v; return true; }
  if (!strcmp(name, "--text")) { o->text = v; return true; }
  if (!strcmp(name, "--temperature"))
    return kc_llm_float(v, &o->ip.temperature) && o->ip.temperature >= 0;
  if (!strcmp(name, "--top-p"))
    return kc_llm_float(v, &o->ip.top_p) && o->ip.top_p >= 0 &&
           o->ip.top_p <= 1;
  if (!strcmp(name, "--repeat-penalty"))
    return kc_llm_float(v, &o->ip.repeat_penalty) &&
           o->ip.repeat_penalty > 0;
  if (!strcmp(name, "--max-tokens"))
    return (o->has_max = kc_llm_u32(v, &o->ip.max_tokens));
  if (!strcmp(name, "--rounds"))
    return kc_llm_u32(v, &o->rounds) && o->rounds >= 1;
  if (!strcmp(name, "--top-k")) return kc_llm_u32(v, &o->ip.top_k);
  if (!strcmp(name, "--repeat-last-n"))
    return kc_llm_u32(v, &o->ip.repeat_last_n);
  if (!strcmp(name, "--seed")) {
    o->ip.has_seed = kc_parse_u64(v, &o->ip.seed) == 0;
    return o->ip.has_seed;
  }
  if (!strcmp(name, "--threads")) {
    if (!kc_llm_u32(v, &u) || u < 1 || u > 1024) return false;
    o->threads = (int)u;
    return true;
  }
  return false;
}

/* Whether name is an option that takes a value. */
static bool kc_llm_takes(const char *name) {
  static const char *const names[] = {
    "--tokens", "--text", "--temperature", "--top-p", "--repeat-penalty",
    "--max-tokens", "--top-k", "--repeat-last-n", "--seed", "--threads",
    "--rounds"
  };
  for (size_t i = 0; i < KU_COUNT(names); i++)
    if (!strcmp(name, names[i])) return true;
  return false;
}

/* Parses argv[2..] into o; an exit status on a usage error, else -1. */
static int kc_llm_parse(kc_llm *o, int argc, char **argv) {
  kl_infer_params def = KL_PARAMS_DEFAULT;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  memset(o, 0, sizeof *o);
  o->ip = def;
  o->rounds = 10;
  o->threads = cpus > 0 && cpus < 1024 ? (int)cpus : 1;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--all")) o->all = true;
    else if (!strcmp(a, "--json")) o->json = true;
    else if (!strcmp(a, "--no-add-special")) o->no_add_special = true;
    else if (!strcmp(a, "--parse-special")) o->parse_special = true;
    else if (kc_llm_takes(a)) {
      if (i + 1 >= argc)
        return kc_usage_error("llm", kc_llm_usage, "%s needs a value", a);
      if (!kc_llm_value(o, a, argv[i + 1]))
        return kc_usage_error("llm", kc_llm_usage, "invalid value '%s' for %s",
                              argv[i + 1], a);
      i++;
    } else if (a[0] == '-' && a[1] == '-') {
      return kc_usage_error("llm", kc_llm_usage, "unknown option '%s'", a);
    } else if (o->npos < (int)KU_COUNT(o->pos)) {
      o->pos[o->npos++] = a;
    } else {
      return kc_usage_error("llm", kc_llm_usage, "too many arguments");
    }
  }
  return -1;
}

/* Prints s[0..n) as a JSON string. */
static void kc_json_str(const char *s, size_t n) {
  putchar('"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c == '\n') fputs("\\n", stdout);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

/* Prints n floats as a JSON array (non-finite values as null). */
static void kc_json_floats(const float *v, size_t n) {
  putchar('[');
  for (size_t i = 0; i < n; i++) {
    if (isfinite(v[i])) printf("%s%.9g", i ? "," : "", (double)v[i]);
    else printf("%snull", i ? "," : "");
  }
  putchar(']');
}

/* Prints n token ids as a JSON array. */
static void kc_json_ints(const int32_t *v, size_t n) {
  putchar('[');
  for (size_t i = 0; i < n; i++) printf("%s%d", i ? "," : "", v[i]);
  putchar(']');
}

/* Tokenizes text (special tokens added unless no_add; their texts parsed
** with parse) into a new ku_malloc'ed array (*n tokens); NULL with a
** message printed on failure. */
static int32_t *kc_llm_tokens(const kl_model *m, const char *text, bool no_add,
                              bool parse, size_t *n) {
  const kl_vocab *v = kl_model_vocab(m);
  size_t len = strlen(text), room = len + 8;
  int32_t *tok = ku_malloc(room * sizeof *tok);
  int64_t got = -1;
  for (int pass = 0; tok && pass < 2; pass++) {
    got = parse ? kl_tokenize_special(v, text, len, !no_add, tok, room)
                : kl_tokenize(v, text, len, !no_add, tok, room);
    if (got <= (int64_t)room) break;
    room = (size_t)got;
    int32_t *more = ku_realloc(tok, room * sizeof *tok);
    if (!more) got = -1;
    else tok = more;
  }
  if (got < 0 || got > (int64_t)room) {
    fprintf(stderr, "krait llm: cannot tokenize the text (out of memory)\n");
    ku_free(tok);
    return NULL;
  }
  *n = (size_t)got;
  return tok;
}

/* The tokens of text as generation sees them (special tokens added). */
static int32_t *kc_llm_tokenize(const kl_model *m, const char *text,
                                size_t *n) {
  return kc_llm_tokens(m, text, false, false, n);
}

/* Parses "1,2,3" into a new array (*n tokens); NULL with a message. */
static int32_t *kc_llm_token_list(const char *s, size_t *n) {
  size_t cap = 1, k = 0;
  int32_t *tok;
  for (const char *p = s; *p; p++) cap += *p == ',';
  tok = ku_malloc(cap * sizeof *tok);
  if (!tok) return NULL;
  while (*s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
      fprintf(stderr, "krait llm: --tokens: expected numbers separated by "
              "commas at '%s'\n", s);
      ku_free(tok);
      return NULL;
    }
    tok[k++] = (int32_t)v;
    s = *end ? end + 1 : end;
  }
  *n = k;
  return tok;
}

/* `krait llm tokenize MODEL TEXT`. */
static int kc_llm_tokenize_cmd(const kc_llm *o, kl_model *m) {
  size_t n = 0;
  int32_t *tok;
  if (o->npos != 2)
    return kc_usage_error("llm", kc_llm_usage, "tokenize: expected MODEL TEXT");
  tok = kc_llm_tokens(m, o->pos[1], o->no_add_special, o->parse_special, &n);
  if (!tok) return KC_EXIT_ERROR;
  fputs("{\"tokens\":", stdout);
  kc_json_ints(tok, n);
  fputs("}\n", stdout);
  ku_free(tok);
  return KC_EXIT_OK;
}

/* Evaluates tok[0..n) in one sequence and prints the logits after the last
** token, or after each (fed one at a time) with all; nothing is printed
** unless every evaluation succeeds. */
static int kc_llm_eval(kl_model *m, kl_pool *p, const int32_t *tok, size_t n,
                       bool all) {
  char err[KL_ERR_SIZE] = "out of memory";
  uint32_t nv = kl_vocab_size(kl_model_vocab(m));
  size_t rows = all ? n : 1;
  kl_seq *s = NULL;
  float *logits = ku_malloc(rows * nv * sizeof(float));
  int rc = KL_E_NOMEM;
  if (n > kl_model_ctx(m))
    ku_fmt(err, sizeof err, "%zu tokens: the model's context is %u", n,
           kl_model_ctx(m));
  else if (logits)
    s = kl_seq_new(m, (uint32_t)n, err, sizeof err);
  if (s && all) {
    rc = KL_OK;
    for (size_t i = 0; i < n && rc == KL_OK; i++)
      rc = kl_seq_eval(s, p, tok + i, 1, logits + i * nv, err, sizeof err);
  } else if (s) {
    rc = kl_seq_eval(s, p, tok, n, logits, err, sizeof err);
  }
  if (rc == KL_OK) {
    fputs("{\"tokens\":", stdout);
    kc_json_ints(tok, n);
    printf(",\"n_vocab\":%u,\"logits\":[", nv);
    for (size_t i = 0; i < rows; i++) {
      if (i) putchar(',');
      kc_json_floats(logits + i * nv, nv);
    }
    fputs("]}\n", stdout);
  } else {
    fprintf(stderr, "krait llm: %s\n", err);
  }
  kl_seq_free(s);
  ku_free(logits);
  return rc == KL_OK ? KC_EXIT_OK : KC_EXIT_ERROR;
}

/* `krait llm logits MODEL [--tokens L | --text T] [--all]`. */
static int kc_llm_logits_cmd(const kc_llm *o, kl_model *m, kl_pool *p) {
  size_t n = 0;
  int32_t *tok;
  int rc;
  if (o->npos != 1 || !!o->tokens == !!o->text)
    return kc_usage_error("llm", kc_llm_usage,
                          "logits: expected MODEL and one of --tokens, --text");
  if (!kl_model_generates(m)) {
    fprintf(stderr, "krait llm: logits: the model is not a decoder\n");
    return KC_EXIT_ERROR;
  }
  tok = o->tokens ? kc_llm_token_list(o->tokens, &n)
                  : kc_llm_tokenize(m, o->text, &n);
  if (!tok) return KC_EXIT_ERROR;
  if (n == 0) {
    fprintf(stderr, "krait llm: logits: no tokens\n");
    ku_free(tok);
    return KC_EXIT_ERROR;
  }
  rc = kc_llm_eval(m, p, tok, n, o->all);
  ku_free(tok);
  return rc;
}

/* `krait llm generate MODEL PROMPT [options]`. */
static int kc_llm_generate_cmd(const kc_llm *o, kl_model *m, kl_pool *p) {
  char err[KL_ERR_SIZE];
  kl_infer_result r;
  int32_t *tok = NULL;
  uint64_t t0;
  double secs;
  int rc;
  if (o->npos != 2)
    return kc_usage_error("llm", kc_llm_usage,
                          "generate: expected MODEL PROMPT");
  t0 = kp_monotonic_ns();
  rc = kl_generate_tokens(m, p, o->pos[1], strlen(o->pos[1]), &o->ip, 0, &r,
                          &tok, err, sizeof err);
  secs = (double)(kp_monotonic_ns() - t0) / 1e9;
  if (rc != KL_OK) {
    fprintf(stderr, "krait llm: %s\n", err);
    return KC_EXIT_ERROR;
  }
  if (o->json) {
    fputs("{\"text\":", stdout);
    kc_json_str(r.text, r.text_len);
    fputs(",\"tokens\":", stdout);
    kc_json_ints(tok, r.generated_tokens);
    printf(",\"finish\":\"%s\",\"usage\":{\"prompt_tokens\":%u,"
           "\"generated_tokens\":%u},\"seconds\":%.6f,\"threads\":%d}\n",
           r.finish, r.prompt_tokens, r.generated_tokens, secs,
           kl_pool_size(p));
  } else {
    fwrite(r.text, 1, r.text_len, stdout);
    putchar('\n');
  }
  ku_free(tok);
  ku_free(r.text);
  return KC_EXIT_OK;
}

/* `krait llm embed MODEL TEXT...`. */
static int kc_llm_embed_cmd(const kc_llm *o, kl_model *m, kl_pool *p) {
  char err[KL_ERR_SIZE];
  size_t n = (size_t)o->npos - 1, dim = kl_model_dim(m), lens[64];
  uint32_t used = 0;
  float *out;
  int rc;
  if (o->npos < 2)
    return kc_usage_error("llm", kc_llm_usage, "embed: expected MODEL TEXT...");
  for (size_t i = 0; i < n; i++) lens[i] = strlen(o->pos[i + 1]);
  out = ku_malloc(n * dim * sizeof(float));
  if (!out) {
    fprintf(stderr, "krait llm: out of memory\n");
    return KC_EXIT_ERROR;
  }
  rc = kl_embed_texts(m, p, o->pos + 1, lens, n, 0, out, &used, err,
                      sizeof err);
  if (rc == KL_OK) {
    fputs("{\"embeddings\":[", stdout);
    for (size_t i = 0; i < n; i++) {
      if (i) putchar(',');
      kc_json_floats(out + i * dim, dim);
    }
    printf("],\"dim\":%zu,\"prompt_tokens\":%u}\n", dim, used);
  } else {
    fprintf(stderr, "krait llm: %s\n", err);
  }
  ku_free(out);
  return rc == KL_OK ? KC_EXIT_OK : KC_EXIT_ERROR;
}

/* `krait llm bench MODEL (--tokens L [--max-tokens N] | TEXT... [--rounds
** R])`: llmbench.c's loops. */
static int kc_llm_bench_cmd(const kc_llm *o, kl_model *m, kl_pool *p) {
  size_t n = 0, lens[64];
  int32_t *tok;
  int rc;
  if (kl_model_embeds(m)) {
    if (o->npos < 2)
      return kc_usage_error("llm", kc_llm_usage,
                            "bench: an encoder needs MODEL TEXT...");
    for (int i = 1; i < o->npos; i++) lens[i - 1] = strlen(o->pos[i]);
    return kc_llm_bench_encoder(m, p, o->pos + 1, lens, (size_t)o->npos - 1,
                                o->rounds);
  }
  if (o->npos != 1 || !o->tokens)
    return kc_usage_error("llm", kc_llm_usage,
                          "bench: a decoder needs MODEL --tokens L");
  tok = kc_llm_token_list(o->tokens, &n);
  if (!tok) return KC_EXIT_ERROR;
  if (n == 0) {
    fprintf(stderr, "krait llm: bench: no tokens\n");
    ku_free(tok);
    return KC_EXIT_ERROR;
  }
  for (size_t i = 0; i < n; i++)
    if ((uint32_t)tok[i] >= kl_vocab_size(kl_model_vocab(m))) {
      fprintf(stderr, "krait llm: bench: --tokens: token %d (at %zu) is "
              "outside the vocabulary of %u\n", tok[i], i,
              kl_vocab_size(kl_model_vocab(m)));
      ku_free(tok);
      return KC_EXIT_ERROR;
    }
  rc = kc_llm_bench_decoder(m, p, tok, n, o->has_max ? o->ip.max_tokens : 64);
  ku_free(tok);
  return rc;
}

/* Runs the parsed command with its model opened and a pool started. */
static int kc_llm_run(const char *cmd, const kc_llm *o) {
  char err[KL_ERR_SIZE];
  kl_model *m = kl_model_open(o->pos[0], err, sizeof err);
  kl_pool *p;
  int rc;
  if (!m) {
    fprintf(stderr, "krait llm: %s\n", err);
    return KC_EXIT_ERROR;
  }
  p = kl_pool_new(o->threads);
  if (!p) {
    fprintf(stderr, "krait llm: cannot start %d threads\n", o->threads);
    kl_model_free(m);
    return KC_EXIT_ERROR;
  }
  if (!strcmp(cmd, "tokenize")) rc = kc_llm_tokenize_cmd(o, m);
  else if (!strcmp(cmd, "logits")) rc = kc_llm_logits_cmd(o, m, p);
  else if (!strcmp(cmd, "generate")) rc = kc_llm_generate_cmd(o, m, p);
  else if (!strcmp(cmd, "bench")) rc = kc_llm_bench_cmd(o, m, p);
  else rc = kc_llm_embed_cmd(o, m, p);
  kl_pool_free(p);
  kl_model_free(m);
  return rc;
}

/* `krait llm <command> ...`: argv[0] is "llm". */
int kc_llm_main(int argc, char **argv) {
  static const char *const cmds[] = { "tokenize", "logits", "generate",
                                      "embed", "bench" };
  kc_llm o;
  int rc;
  bool known = false;
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    if (argc < 2) return kc_usage_error("llm", kc_llm_usage, "no command given");
    fputs(kc_llm_usage, stdout);
    return KC_EXIT_OK;
  }
  for (size_t i = 0; i < KU_COUNT(cmds); i++) known |= !strcmp(argv[1], cmds[i]);
  if (!known)
    return kc_usage_error("llm", kc_llm_usage, "unknown command '%s'", argv[1]);
  rc = kc_llm_parse(&o, argc, argv);
  if (rc >= 0) return rc;
  if (o.npos < 1)
    return kc_usage_error("llm", kc_llm_usage, "%s: no MODEL given", argv[1]);
  return kc_llm_run(argv[1], &o);
}
