/*
** tests/host/test_llm_tok.c -- tokenizers, sampling and chat prompts of the
** LLM engine on vocabularies built here as GGUF metadata: SentencePiece and
** WordPiece as llama.cpp gives them, kl_sample, kl_chat_prompt.
** Does not own: the code (src/llm/vocab.c, spm.c, wpm.c, sample.c, chat.c).
*/
#include "test.h"
#include "llm/llm_internal.h"
#include "util/util.h"

#include <math.h>
#include <stdarg.h>
#include <time.h>

/* ---- a GGUF writer for metadata ------------------------------------- */

typedef struct gw {
  uint8_t *b;
  size_t n, cap;
  uint64_t nkv;
} gw;

static void put(gw *w, const void *p, size_t n) {
  if (w->n + n > w->cap) {
    w->cap = (w->n + n) * 2 + 256;
    w->b = realloc(w->b, w->cap);
  }
  memcpy(w->b + w->n, p, n);
  w->n += n;
}
static void p32(gw *w, uint32_t v) { put(w, &v, 4); }
static void p64(gw *w, uint64_t v) { put(w, &v, 8); }
static void pstr(gw *w, const char *s) { p64(w, strlen(s)); put(w, s, strlen(s)); }
static void w_begin(gw *w) { memset(w, 0, sizeof *w); put(w, "GGUF", 4); p32(w, 3); p64(w, 0); p64(w, 0); }
static void w_key(gw *w, const char *k, uint32_t type) { pstr(w, k); p32(w, type); w->nkv++; }
static void w_str(gw *w, const char *k, const char *v) { w_key(w, k, KL_G_STR); pstr(w, v); }
static void w_u32(gw *w, const char *k, uint32_t v) { w_key(w, k, KL_G_U32); p32(w, v); }
static void w_bool(gw *w, const char *k, bool v) { w_key(w, k, KL_G_BOOL); uint8_t b = v; put(w, &b, 1); }
static void w_strs(gw *w, const char *k, const char *const *v, size_t n) {
  w_key(w, k, KL_G_ARR); p32(w, KL_G_STR); p64(w, n);
  for (size_t i = 0; i < n; i++) pstr(w, v[i]);
}
static void w_f32s(gw *w, const char *k, const float *v, size_t n) {
  w_key(w, k, KL_G_ARR); p32(w, KL_G_F32); p64(w, n); put(w, v, 4 * n);
}
static void w_i32s(gw *w, const char *k, const int32_t *v, size_t n) {
  w_key(w, k, KL_G_ARR); p32(w, KL_G_I32); p64(w, n); put(w, v, 4 * n);
}
/* Patches the key count in; the file is ready to parse. */
static void w_end(gw *w) { memcpy(w->b + 16, &w->nkv, 8); }

static char t_err[KL_ERR_SIZE];

/* ---- SentencePiece --------------------------------------------------- */

#define NSPM_EXTRA 20
static const char *const spm_extra[NSPM_EXTRA] = {
  "\xe2\x96\x81", "\xe2\x96\x81h", "\xe2\x96\x81he", "ll", "llo", "\xe2\x96\x81hello",
  "\xe2\x96\x81w", "or", "ld", "orld", "\xe2\x96\x81world", "\xc3\xa9", "ab", "bc",
  "<|user|>", "<|im_end|>", "\xe2\x96\x81\xe2\x96\x81", "\xe2\x96\x81" "a", "h", "e",
};
static const float spm_extra_score[NSPM_EXTRA] = {
  -10, -1, -2, -1.5f, -3, -4, -1, -2, -2.5f, -3, -5, -6, -1, -1, 0, 0, -7, -8, -9, -9,
};
enum { SPM_BYTE0 = 3, SPM_X = 3 + 256 };   /* ids of <0x00> and spm_extra[0] */

/* A SentencePiece vocabulary: <unk>, <s>, </s>, 256 byte tokens, then
** spm_extra (<|user|> user-defined, <|im_end|> normal). Keys as llama.cpp
** writes them; extra_keys adds more before the end. */
static kl_gguf *spm_file(gw *w, void (*extra_keys)(gw *)) {
  static char bytes[256][8];
  const char *toks[SPM_X + NSPM_EXTRA];
  float sc[SPM_X + NSPM_EXTRA];
  int32_t ty[SPM_X + NSPM_EXTRA];
  toks[0] = "<unk>"; toks[1] = "<s>"; toks[2] = "</s>";
  ty[0] = 2; ty[1] = 3; ty[2] = 3;
  sc[0] = sc[1] = sc[2] = 0;
  for (int i = 0; i < 256; i++) {
    snprintf(bytes[i], sizeof bytes[i], "<0x%02X>", i);
    toks[SPM_BYTE0 + i] = bytes[i];
    ty[SPM_BYTE0 + i] = 6;
    sc[SPM_BYTE0 + i] = 0;
  }
  for (int i = 0; i < NSPM_EXTRA; i++) {
    toks[SPM_X + i] = spm_extra[i];
    sc[SPM_X + i] = spm_extra_score[i];
    ty[SPM_X + i] = i == 14 ? 4 : 1;
  }
  w_begin(w);
  w_str(w, "general.architecture", "llama");
  w_str(w, "tokenizer.ggml.model", "llama");
  w_strs(w, "tokenizer.ggml.tokens", toks, SPM_X + NSPM_EXTRA);
  w_f32s(w, "tokenizer.ggml.scores", sc, SPM_X + NSPM_EXTRA);
  w_i32s(w, "tokenizer.ggml.token_type", ty, SPM_X + NSPM_EXTRA);
  w_u32(w, "tokenizer.ggml.bos_token_id", 1);
  w_u32(w, "tokenizer.ggml.eos_token_id", 2);
  w_u32(w, "tokenizer.ggml.unknown_token_id", 0);
  if (extra_keys) extra_keys(w);
  w_end(w);
  kl_gguf *g = kl_gguf_parse(w->b, w->n, t_err, sizeof t_err);
  if (!g) printf("gguf: %s\n", t_err);
  return g;
}

/* The id of spm_extra's entry with text s. */
static int32_t X(const char *s) {
  for (int i = 0; i < NSPM_EXTRA; i++)
    if (!strcmp(spm_extra[i], s)) return SPM_X + i;
  return -100;
}

static int32_t t_tok[200000];
static int64_t t_n;

/* Tokenizes s; t_tok/t_n hold the result. */
static int64_t tk(const kl_vocab *v, const char *s, bool special) {
  t_n = kl_tokenize(v, s, strlen(s), special, t_tok, KU_COUNT(t_tok));
  return t_n;
}

/* Whether t_tok holds exactly the n ids given. */
static bool same(int n, ...) {
  va_list ap;
  va_start(ap, n);
  bool ok = t_n == n;
  for (int i = 0; i < n; i++) {
    int32_t want = va_arg(ap, int32_t);
    if (ok && t_tok[i] != want) ok = false;
  }
  va_end(ap);
  if (!ok) {
    printf("got %lld tokens:", (long long)t_n);
    for (int64_t i = 0; i < t_n && i < 20; i++) printf(" %d", t_tok[i]);
    printf("\n");
  }
  return ok;
}

/* The text of t_tok[from..t_n) joined from kl_token_piece. */
static const char *detok(const kl_vocab *v, int64_t from) {
  static char out[4096];
  size_t m = 0;
  for (int64_t i = from; i < t_n; i++) m += kl_token_piece(v, t_tok[i], out + m, sizeof out - 1 - m);
  out[m] = 0;
  return out;
}

static void test_spm_merges(void) {
  gw w;
  kl_gguf *g = spm_file(&w, NULL);
  CHECK(g);
  kl_vocab *v = kl_vocab_load(g, t_err, sizeof t_err);
  if (!v) printf("%s\n", t_err);
  CHECK(v);
  CHECK_INT(kl_vocab_size(v), SPM_X + NSPM_EXTRA);
  CHECK_INT(kl_vocab_bos(v), 1);
  CHECK_INT(kl_vocab_eos(v), 2);
  CHECK(kl_vocab_is_eog(v, 2) && !kl_vocab_is_eog(v, 1));
  CHECK(kl_vocab_is_eog(v, X("<|im_end|>")));   /* by its text, as llama.cpp */
  /* merges by score, ties to the leftmost pair */
  CHECK(tk(v, "hello world", true) == 3 && same(3, 1, X("\xe2\x96\x81hello"), X("\xe2\x96\x81world")));
  CHECK_STR(detok(v, 1), " hello world");
  CHECK(tk(v, "hello world", false) == 2);
  CHECK(tk(v, "abc", false) == 3 && same(3, X("\xe2\x96\x81"), X("ab"), SPM_BYTE0 + 'c'));
  /* byte fallback, unicode, a known multi-byte piece */
  CHECK(tk(v, "hi\n", false) == 3 && same(3, X("\xe2\x96\x81h"), SPM_BYTE0 + 'i', SPM_BYTE0 + '\n'));
  CHECK_STR(detok(v, 0), " hi\n");
  CHECK(tk(v, "\xc3\xa9\xc3\xbc", false) == 4 &&
        same(4, X("\xe2\x96\x81"), X("\xc3\xa9"), SPM_BYTE0 + 0xc3, SPM_BYTE0 + 0xbc));
  CHECK_STR(detok(v, 0), " \xc3\xa9\xc3\xbc");
  /* spaces: each one is U+2581; "▁▁" is a token */
  CHECK(tk(v, " a", false) == 2 && same(2, X("\xe2\x96\x81\xe2\x96\x81"), SPM_BYTE0 + 'a'));
  CHECK(tk(v, "a  a", false) == 3 &&
        same(3, X("\xe2\x96\x81" "a"), X("\xe2\x96\x81\xe2\x96\x81"), SPM_BYTE0 + 'a'));
  /* empty input: BOS alone, or nothing */
  CHECK(tk(v, "", true) == 1 && same(1, 1));
  CHECK(tk(v, "", false) == 0);
  kl_vocab_free(v);
  kl_gguf_free(g);
  free(w.b);
}

/* User-defined tokens split the text (each part gets the space prefix);
** control tokens' texts are plain text without parse_special. */
static void test_spm_special(void) {
  gw w;
  kl_gguf *g = spm_file(&w, NULL);
  kl_vocab *v = g ? kl_vocab_load(g, t_err, sizeof t_err) : NULL;
  CHECK(v);
  CHECK(tk(v, "h<|user|>h", false) == 3 &&
        same(3, X("\xe2\x96\x81h"), X("<|user|>"), X("\xe2\x96\x81h")));
  CHECK_STR(detok(v, 0), " h<|user|> h");
  CHECK(tk(v, "<|user|>", true) == 2 && same(2, 1, X("<|user|>")));
  CHECK(tk(v, "</s>", false) == 5 && t_tok[1] == SPM_BYTE0 + '<' && t_tok[4] == SPM_BYTE0 + '>');
  /* pieces: control and unknown tokens give nothing */
  char buf[16];
  CHECK_INT(kl_token_piece(v, 1, buf, sizeof buf), 0);
  CHECK_INT(kl_token_piece(v, 0, buf, sizeof buf), 0);
  CHECK_INT(kl_token_piece(v, X("<|im_end|>"), buf, sizeof buf), 0);
  CHECK_INT(kl_token_piece(v, SPM_BYTE0 + 0xff, buf, sizeof buf), 1);
  CHECK((uint8_t)buf[0] == 0xff);
  CHECK_INT(kl_token_piece(v, X("\xe2\x96\x81hello"), buf, 3), 6);   /* cut, full length */
  CHECK(!memcmp(buf, " he", 3));
  CHECK_INT(kl_token_piece(v, -1, buf, sizeof buf), 0);
  kl_vocab_free(v);
  kl_gguf_free(g);
  free(w.b);
}

static void no_prefix(gw *w) {
  w_bool(w, "tokenizer.ggml.add_space_prefix", false);
  w_bool(w, "tokenizer.ggml.add_bos_token", false);
  w_bool(w, "tokenizer.ggml.add_eos_token", true);
}

/* add_space_prefix, add_bos_token and add_eos_token from the file. */
static void test_spm_flags(void) {
  gw w;
  kl_gguf *g = spm_file(&w, no_prefix);
  kl_vocab *v = g ? kl_vocab_load(g, t_err, sizeof t_err) : NULL;
  CHECK(v);
  CHECK(tk(v, "ab", true) == 2 && same(2, X("ab"), 2));
  CHECK(tk(v, " hello", false) == 1 && same(1, X("\xe2\x96\x81hello")));
  kl_vocab_free(v);
  kl_gguf_free(g);
  free(w.b);
}

/* A long input: linear-ish time, every token counted, out too small. */
static void test_spm_long(void) {
  gw w;
  kl_gguf *g = spm_file(&w, NULL);
  kl_vocab *v = g ? kl_vocab_load(g, t_err, sizeof t_err) : NULL;
  CHECK(v);
  size_t reps = 20000, n = reps * 12;
  char *s = malloc(n + 1);
  for (size_t i = 0; i < reps; i++) memcpy(s + 12 * i, "hello world ", 12);
  s[n - 1] = 0;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  int64_t k = kl_tokenize(v, s, n - 1, true, t_tok, KU_COUNT(t_tok));
  clock_gettime(CLOCK_MONOTONIC, &b);
  double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
  printf("# %zu bytes -> %lld tokens in %.1f ms\n", n - 1, (long long)k, ms);
  CHECK_INT(k, 1 + 2 * (int64_t)reps);
  CHECK(t_tok[k - 1] == X("\xe2\x96\x81world") && t_tok[k - 2] == X("\xe2\x96\x81hello"));
  int32_t few[4];
  CHECK_INT(kl_tokenize(v, s, n - 1, true, few, 4), k);
  CHECK(few[0] == 1 && few[1] == X("\xe2\x96\x81hello"));
  CHECK(ms < 2000);
  free(s);
  kl_vocab_free(v);
  kl_gguf_free(g);
  free(w.b);
}

/* Vocabularies that cannot load say why. */
static void test_vocab_errors(void) {
  gw w;
  w_begin(&w);
  w_str(&w, "tokenizer.ggml.model", "gpt2");
  w_end(&w);
  kl_gguf *g = kl_gguf_parse(w.b, w.n, t_err, sizeof t_err);
  CHECK(g);
  CHECK(!kl_vocab_load(g, t_err, sizeof t_err));
  CHECK_CONTAINS(t_err, "tokenizer model 'gpt2' is not supported");
  kl_gguf_free(g);
  free(w.b);
  w_begin(&w);
  w_str(&w, "tokenizer.ggml.model", "llama");
  const char *dup[3] = { "a", "b", "a" };
  w_strs(&w, "tokenizer.ggml.tokens", dup, 3);
  w_end(&w);
  g = kl_gguf_parse(w.b, w.n, t_err, sizeof t_err);
  CHECK(g);
  CHECK(!kl_vocab_load(g, t_err, sizeof t_err));
  CHECK_CONTAINS(t_err, "token 2 repeats token 0 ('a')");
  kl_gguf_free(g);
  free(w.b);
  w_begin(&w);
  w_str(&w, "tokenizer.ggml.model", "llama");
  const char *ok[3] = { "a", "b", "c" };
  float sc[2] = { 0, 0 };
  w_strs(&w, "tokenizer.ggml.tokens", ok, 3);
  w_f32s(&w, "tokenizer.ggml.scores", sc, 2);
  w_end(&w);
  g = kl_gguf_parse(w.b, w.n, t_err, sizeof t_err);
  CHECK(g);
  CHECK(!kl_vocab_load(g, t_err, sizeof t_err));
  CHECK_CONTAINS(t_err, "tokenizer.ggml.scores has 2 items for 3 tokens");
  kl_gguf_free(g);
  free(w.b);
  w_begin(&w);
  w_str(&w, "tokenizer.ggml.model", "llama");
  w_strs(&w, "tokenizer.ggml.tokens", ok, 1);    /* BOS 1 is out of range */
  w_end(&w);
  g = kl_gguf_parse(w.b, w.n, t_err, sizeof t_err);
  CHECK(g);
  CHECK(!kl_vocab_load(g, t_err, sizeof t_err));
  CHECK_CONTAINS(t_err, "adds a BOS token but has none");
  kl_gguf_free(g);
  free(w.b);
  w_begin(&w);
  w_end(&w);
  g = kl_gguf_parse(w.b, w.n, t_err, sizeof t_err);
  CHECK(!kl_vocab_load(g, t_err, sizeof t_err));
  CHECK_CONTAINS(t_err, "tokenizer.ggml.model is missing");
  kl_gguf_free(g);
  free(w.b);
}

/* ---- WordPiece -------------------------------------------------------- */

#define NWPM 17
static const char *const wpm_toks[NWPM] = {
  "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "\xe2\x96\x81hello", "\xe2\x96\x81world",
  "s", "\xe2\x96\x81,", "\xe2\x96\x81!", "ing", "\xe2\x96\x81" "cafe", "\xe2\x96\x81\xe4\xb8\xad",
  "\xe2\x96\x81$", "\xe2\x96\x81" "a", "\xe2\x96\x81" "b", "\xe2\x96\x81" "hell",
};

static int32_t W(const char *s) {
  for (int i = 0; i < NWPM; i++)
    if (!strcmp(wpm_toks[i], s)) return i;
  return -100;
}

static kl_gguf *wpm_file(gw *w) {
  int32_t ty[NWPM];
  for (int i = 0; i < NWPM; i++) ty[i] = i < 5 ? 3 : 1;
  ty[1] = 2;
  w_begin(w);
  w_str(w, "general.architecture", "bert");
  w_str(w, "tokenizer.ggml.model", "bert");
  w_strs(w, "tokenizer.ggml.tokens", wpm_toks, NWPM);
  w_i32s(w, "tokenizer.ggml.token_type", ty, NWPM);
  w_u32(w, "tokenizer.ggml.unknown_token_id", 1);
  w_u32(w, "tokenizer.ggml.cls_token_id", 2);
  w_u32(w, "tokenizer.ggml.seperator_token_id", 3);
  w_u32(w, "tokenizer.ggml.padding_token_id", 0);
  w_end(w);
  return kl_gguf_parse(w->b, w->n, t_err, sizeof t_err);
}

static void test_wpm(void) {
  gw w;
  kl_gguf *g = wpm_file(&w);
  CHECK(g);
  kl_vocab *v = kl_vocab_load(g, t_err, sizeof t_err);
  if (!v) printf("%s\n", t_err);
  CHECK(v);
  int32_t H = W("\xe2\x96\x81hello"), U = 1;
  CHECK(tk(v, "Hello, World!", true) == 6 &&
        same(6, 2, H, W("\xe2\x96\x81,"), W("\xe2\x96\x81world"), W("\xe2\x96\x81!"), 3));
  CHECK_STR(detok(v, 0), " hello , world !");
  CHECK(tk(v, "helloing hellos", false) == 4 && same(4, H, W("ing"), H, W("s")));
  CHECK(tk(v, "hellx xyz", false) == 2 && same(2, U, U));   /* a miss drops the word */
  CHECK(tk(v, "Caf\xc3\xa9", false) == 1 && same(1, W("\xe2\x96\x81" "cafe")));   /* accents off */
  CHECK(tk(v, "CAFE\xcc\x81", false) == 1 && same(1, W("\xe2\x96\x81" "cafe")));  /* a combining mark */
  CHECK(tk(v, "\xe4\xb8\xad\xe6\x96\x87", false) == 2 && same(2, W("\xe2\x96\x81\xe4\xb8\xad"), U));
  CHECK(tk(v, "\thello\n world\xc2\xa0" "a", false) == 3 && same(3, H, W("\xe2\x96\x81world"), W("\xe2\x96\x81" "a")));
  CHECK(tk(v, "hel\x07lo", false) == 1 && same(1, H));      /* a control character */
  CHECK(tk(v, "a$b", false) == 3 && same(3, W("\xe2\x96\x81" "a"), W("\xe2\x96\x81$"), W("\xe2\x96\x81" "b")));
  CHECK(tk(v, "a\xe2\x82\xac", false) == 1 && same(1, U));   /* non-ASCII symbols do not split */
  CHECK(tk(v, "a\xff" "b", false) == 1 && same(1, U));       /* invalid UTF-8 is dropped: "ab" */
  CHECK(tk(v, "", true) == 2 && same(2, 2, 3));
  CHECK(tk(v, "   ", false) == 0);
  char buf[16];
  CHECK_INT(kl_token_piece(v, 2, buf, sizeof buf), 0);
  CHECK_INT(kl_token_piece(v, W("s"), buf, sizeof buf), 1);
  kl_vocab_free(v);
  kl_gguf_free(g);
  free(w.b);
}

int main(void) {
  RUN(test_spm_merges);
  RUN(test_spm_special);
  RUN(test_spm_flags);
  RUN(test_spm_long);
  RUN(test_vocab_errors);
  RUN(test_wpm);
  return t_summary();
}
