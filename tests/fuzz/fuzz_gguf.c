/*
** tests/fuzz/fuzz_gguf.c -- libFuzzer target: bytes -> GGUF file.
** Owns: parse, walk every key (strings and arrays read whole) and every
** tensor's data (first and last byte), look each name up again; when the
** metadata holds a vocabulary, tokenize texts (fixed ones and the input's
** last bytes) with it, check every token and piece, free.
** Does not own: the reader (src/llm/gguf.c), the tokenizers (vocab.c,
** spm.c, wpm.c) or seeds (gguf-seeds/).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm/llm_internal.h"
#include "util/util.h"

static volatile uint8_t sink;

/* Reads every byte a key's value points at. */
static void walk_kv(const kl_kv *kv) {
  if (kv->type == KL_G_STR && kv->str.n) sink ^= (uint8_t)kv->str.s[kv->str.n - 1];
  if (kv->type != KL_G_ARR) return;
  if (kv->elem == KL_G_STR) {
    const kl_str *s = kv->arr;
    for (uint64_t i = 0; i < kv->n; i++)
      if (s[i].n) sink ^= (uint8_t)(s[i].s[0] ^ s[i].s[s[i].n - 1]);
  } else if (kv->n) {
    sink ^= ((const uint8_t *)kv->arr)[0];
  }
}

/* Tokenizes text both ways; every token is in the vocabulary, and the
** count is the same when out is too small. */
static void tokenize(const kl_vocab *v, const char *text, size_t len) {
  static int32_t out[4096];
  char piece[64];
  for (int special = 0; special < 2; special++) {
    int64_t n = special ? kl_tokenize_special(v, text, len, true, out, 4096)
                        : kl_tokenize(v, text, len, special, out, 4096);
    if (n < -1) abort();
    for (int64_t i = 0; i < n && i < 4096; i++) {
      if (out[i] < 0 || (uint32_t)out[i] >= kl_vocab_size(v)) abort();
      if (kl_token_piece(v, out[i], piece, sizeof piece) > (1u << 30)) abort();
      (void)kl_vocab_is_eog(v, out[i]);
    }
    int32_t few[2];
    int64_t m = special ? kl_tokenize_special(v, text, len, true, few, 2)
                        : kl_tokenize(v, text, len, special, few, 2);
    if (m != n) abort();
  }
  /* as a chat prompt: the middle third is a message's text; with no
  ** control or user tokens the tokens are kl_tokenize_special's */
  kl_span mid = { len / 3, len / 3 };
  int32_t *ct = NULL;
  size_t nc = 0;
  char err[KL_ERR_SIZE];
  int rc = kl_tokenize_chat(v, text, len, &mid, 1, 0, &ct, &nc, err, sizeof err);
  if (rc != KL_OK && rc != KL_E_INPUT && rc != KL_E_NOMEM) abort();
  for (size_t i = 0; rc == KL_OK && i < nc; i++)
    if (ct[i] < 0 || (uint32_t)ct[i] >= kl_vocab_size(v)) abort();
  ku_free(ct);
  if (kl_tokenize_list(v, text, len, true, 0, &ct, &nc, err, sizeof err) == KL_OK) {
    int64_t n = kl_tokenize(v, text, len, true, out, 4096);
    if (n != (int64_t)nc || memcmp(out, ct, (nc < 4096 ? nc : 4096) * sizeof *ct)) abort();
    ku_free(ct);
  }
  (void)kl_vocab_fits(v, text, len, 16, err, sizeof err);
}

/* The vocabulary the metadata describes, if any, on some texts. */
static void vocab(const kl_gguf *g, const uint8_t *data, size_t size) {
  char err[KL_ERR_SIZE];
  kl_vocab *v = kl_vocab_load(g, err, sizeof err);
  if (!v) {
    if (!err[0]) abort();
    return;
  }
  static const char *const texts[] = {
    "", " ", "hello world", "Hello, World! caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87",
    "<s></s><|im_start|>user\n[INST]", "\xff\xfe\xc3\x28\xed\xa0\x80\xf4\x90\x80\x80 x",
  };
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) tokenize(v, texts[i], strlen(texts[i]));
  size_t tail = size < 256 ? size : 256;
  tokenize(v, (const char *)data + size - tail, tail);
  kl_vocab_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[KL_ERR_SIZE];
  kl_gguf *g = kl_gguf_parse(data, size, err, sizeof err);
  if (!g) {
    if (!err[0] || !strstr(err, " at offset 0x")) abort();
    return 0;
  }
  char name[80];
  for (size_t i = 0; i < kl_gguf_ntensors(g); i++) {
    const kl_tensor *t = kl_gguf_tensor_at(g, i);
    if (!t || t->nbytes == 0 || t->data < data || t->data + t->nbytes > data + size) abort();
    sink ^= t->data[0] ^ t->data[t->nbytes - 1];
    if (t->name.n < sizeof name && !memchr(t->name.s, 0, t->name.n)) {
      memcpy(name, t->name.s, t->name.n);
      name[t->name.n] = 0;
      if (kl_gguf_tensor(g, name) != t) abort();
    }
  }
  kl_str s;
  uint32_t u;
  float f;
  bool b;
  (void)kl_gguf_str(g, "general.architecture", &s);
  (void)kl_gguf_u32(g, "general.alignment", &u);
  (void)kl_gguf_f32(g, "general.alignment", &f);
  (void)kl_gguf_bool(g, "tokenizer.ggml.add_bos_token", &b);
  const char *keys[] = { "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                         "tokenizer.ggml.token_type", "tokenizer.chat_template" };
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const kl_kv *kv = kl_gguf_kv(g, keys[i]);
    if (kv) walk_kv(kv);
  }
  vocab(g, data, size);
  kl_gguf_free(g);
  return 0;
}
