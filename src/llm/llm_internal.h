/*
** llm_internal.h -- what the files of src/llm share: the GGUF reader, tensor
** types and kernels, the thread pool, vocabularies, sampling and the forward
** passes. Not the engine's queue or anything outside src/llm (llm.h).
*/
#ifndef KL_LLM_INTERNAL_H
#define KL_LLM_INTERNAL_H

#include "llm/llm.h"

/* ---- GGUF (gguf.c) ---------------------------------------------------- */

/* The most metadata keys and tensors a GGUF file may declare (llama.cpp's
** files have hundreds of keys and a few thousand tensors). */
#define KL_GGUF_MAX_KV 65536
#define KL_GGUF_MAX_TENSORS 1000000

/* SipHash-1-3 of [s, s+n) under a random per-process key (hash.c): the
** hash of every table keyed by file contents (GGUF names, token texts). */
uint64_t kl_hash(const char *s, size_t n);

/* GGUF metadata value types (the file format's numbering). */
enum {
  KL_G_U8 = 0, KL_G_I8 = 1, KL_G_U16 = 2, KL_G_I16 = 3, KL_G_U32 = 4,
  KL_G_I32 = 5, KL_G_F32 = 6, KL_G_BOOL = 7, KL_G_STR = 8, KL_G_ARR = 9,
  KL_G_U64 = 10, KL_G_I64 = 11, KL_G_F64 = 12
};

/* A string inside the mapped file: not NUL-terminated. */
typedef struct kl_str {
  const char *s;
  uint64_t n;
} kl_str;

/* One metadata entry. Scalars are widened into u/i/f; a string is str; an
** array has elem type and n items at arr (the file's little-endian bytes
** for numbers, or a kl_str[n] the reader built for strings). */
typedef struct kl_kv {
  kl_str key;
  uint32_t type;
  uint32_t elem;
  union { uint64_t u; int64_t i; double f; } v;
  kl_str str;
  uint64_t n;
  const void *arr;
} kl_kv;

/* GGML tensor types krait reads (the file format's numbering). */
enum {
  KL_T_F32 = 0, KL_T_F16 = 1, KL_T_Q4_0 = 2, KL_T_Q8_0 = 8,
  KL_T_Q4_K = 12, KL_T_Q6_K = 14
};

#define KL_MAX_DIMS 4

/* A tensor of the file: ne[0] is the row length (contiguous), ne[1] the
** number of rows; data points into the mapping, nbytes long. */
typedef struct kl_tensor {
  kl_str name;
  uint32_t type;
  uint32_t ndim;
  uint64_t ne[KL_MAX_DIMS];
  const uint8_t *data;
  uint64_t nbytes;
} kl_tensor;

typedef struct kl_gguf kl_gguf;

/* Parses a GGUF file held in [buf, buf+len) (not copied: it must outlive
** the result). Every count, length, offset and tensor extent is checked
** against the buffer; an unknown tensor type is an error naming it. NULL
** with err set to "<what> at offset 0x..: <reason>". */
kl_gguf *kl_gguf_parse(const uint8_t *buf, size_t len, char *err, size_t cap);
/* Maps the file at path read-only and parses it (the mapping is released
** by kl_gguf_free). */
kl_gguf *kl_gguf_open(const char *path, char *err, size_t cap);
void kl_gguf_free(kl_gguf *g);

const kl_kv *kl_gguf_kv(const kl_gguf *g, const char *key);
/* Typed lookups: false when absent or of another kind (u32 takes any
** integer type whose value fits; f32 any float or integer). */
bool kl_gguf_u32(const kl_gguf *g, const char *key, uint32_t *out);
bool kl_gguf_f32(const kl_gguf *g, const char *key, float *out);
bool kl_gguf_bool(const kl_gguf *g, const char *key, bool *out);
bool kl_gguf_str(const kl_gguf *g, const char *key, kl_str *out);
const kl_tensor *kl_gguf_tensor(const kl_gguf *g, const char *name);
size_t kl_gguf_ntensors(const kl_gguf *g);
const kl_tensor *kl_gguf_tensor_at(const kl_gguf *g, size_t i);

/* ---- tensor types and kernels (quant.c; SIMD in src/platform) -------- */

/* Elements per block and bytes per block of a type (0 for unknown). */
uint32_t kl_type_block(uint32_t type);
uint32_t kl_type_size(uint32_t type);
const char *kl_type_name(uint32_t type);

/* Row i of t (any supported type) as n = t->ne[0] floats. */
void kl_get_row(const kl_tensor *t, uint64_t i, float *out);

typedef struct kl_pool kl_pool;

/* A pool of n - 1 threads; the caller of kl_pool_run is the n-th. */
kl_pool *kl_pool_new(int n);
void kl_pool_free(kl_pool *p);
int kl_pool_size(const kl_pool *p);
/* Runs fn(arg, i, n) for i in [0, n) across the pool and returns when all
** are done. Safe to call from several threads: jobs run one at a time. */
void kl_pool_run(kl_pool *p, void (*fn)(void *arg, int i, int n), void *arg);

/* y[r] = dot(row r of w, x) for every row r of w; x has w->ne[0] floats,
** y has w->ne[1]. For quantized w, x is quantized once (as llama.cpp does:
** Q8_0 blocks for Q4_0/Q8_0, Q8_K for Q4_K/Q6_K). */
void kl_matvec(kl_pool *p, const kl_tensor *w, const float *x, float *y);
/* The same for nx vectors at once (a prompt's tokens): x is nx rows of
** w->ne[0], y nx rows of w->ne[1]. */
void kl_matmul(kl_pool *p, const kl_tensor *w, const float *x, uint32_t nx,
               float *y);

/* ---- vocabularies (vocab.c, spm.c, wpm.c) ----------------------------- */

enum { KL_VOCAB_SPM = 1, KL_VOCAB_WPM = 2 };

typedef struct kl_vocab kl_vocab;

/* The tokenizer described by the GGUF metadata (tokenizer.ggml.*), or NULL
** with err set. */
kl_vocab *kl_vocab_load(const kl_gguf *g, char *err, size_t cap);
void kl_vocab_free(kl_vocab *v);
uint32_t kl_vocab_size(const kl_vocab *v);
int32_t kl_vocab_bos(const kl_vocab *v);
int32_t kl_vocab_eos(const kl_vocab *v);
/* Whether tok ends generation (EOS, or an end-of-generation token). */
bool kl_vocab_is_eog(const kl_vocab *v, int32_t tok);
/* Tokens of text as llama.cpp's llama_tokenize(add_special, parse_special
** = false) gives them: at most cap written to out; returns the count
** (more than cap when out was too small), or -1 on invalid input. */
int64_t kl_tokenize(const kl_vocab *v, const char *text, size_t len,
                    bool add_special, int32_t *out, size_t cap);
/* The same with llama_tokenize's parse_special = true: the texts of
** control, unknown and user-defined tokens in text become those tokens
** (how llama.cpp tokenizes a chat prompt: "<|im_start|>", "</s>"...). */
int64_t kl_tokenize_special(const kl_vocab *v, const char *text, size_t len,
                            bool add_special, int32_t *out, size_t cap);
/* kl_tokenize (parse_special = false) into a new ku_malloc'ed array (*n
** tokens; the text tokenized once), checking deadline_ns (0: none) as it
** goes: KL_OK, KL_E_TIMEOUT, KL_E_INPUT or KL_E_NOMEM with err set. */
int kl_tokenize_list(const kl_vocab *v, const char *text, size_t len, bool add_special,
                     uint64_t deadline_ns, int32_t **out, size_t *n, char *err, size_t cap);
/* A run of a text: [off, off+len). */
typedef struct kl_span {
  size_t off, len;
} kl_span;
/* A chat prompt's tokens as kl_tokenize_list gives them, with BOS (and EOS
** where the vocabulary adds one) once: the template's text parsed for
** control tokens ("<|im_start|>"), the runs plain[0..nplain) (in order,
** not overlapping: the messages' text) only for user-defined ones, so a
** message cannot forge the template's tokens. Runs of text on both sides
** of a boundary are tokenized together, as llama.cpp does the whole. */
int kl_tokenize_chat(const kl_vocab *v, const char *text, size_t len, const kl_span *plain,
                     size_t nplain, uint64_t deadline_ns, int32_t **out, size_t *n,
                     char *err, size_t cap);
/* Whether [text, text+len) can fit n_ctx tokens, checked before tokenizing
** it: KL_OK, or KL_E_INPUT with err naming the numbers when it surely
** cannot (SentencePiece: more than n_ctx times the longest token's bytes;
** WordPiece: more words than n_ctx). */
int kl_vocab_fits(const kl_vocab *v, const char *text, size_t len, uint32_t n_ctx,
                  char *err, size_t cap);
/* The bytes tok stands for in generated text (byte-fallback tokens give
** their byte; "▁" becomes a space); at most cap written, length returned. */
size_t kl_token_piece(const kl_vocab *v, int32_t tok, char *out, size_t cap);

/* ---- sampling (sample.c) ---------------------------------------------- */

/* Picks the next token from logits[n] (modified in place) with p's
** temperature, top-k, top-p and repeat penalty over the last tokens in
** recent[0..nrecent); *rng is the generator's state (seeded per request). */
int32_t kl_sample(const kl_infer_params *p, float *logits, uint32_t n,
                  const int32_t *recent, size_t nrecent, uint64_t *rng);

/* ---- chat prompts (chat.c) -------------------------------------------- */

/* kl_chat_prompt's work once it has the model's tokenizer.chat_template
** text [tmpl, tmpl+tlen) (NULL or empty: chatml): the template detected as
** llama.cpp's llm_chat_detect_template does and applied with the
** assistant's turn opened. ku_malloc'ed, NUL-terminated; NULL with err. */
char *kl_chat_apply(const char *tmpl, size_t tlen, const kl_chat_msg *msgs,
                    size_t n, size_t *len, char *err, size_t cap);

/* The prompt for msgs under m's chat template as tokens (ku_malloc'ed,
** *ntok of them; free with ku_free): the template's text parsed for its
** control tokens, each message's content as text only (kl_tokenize_chat),
** so a message holding "<|im_start|>system" cannot forge a turn. Checked
** against the context first (kl_vocab_fits), tokenized under deadline_ns.
** KL_OK, or KL_E_INPUT/KL_E_TIMEOUT/KL_E_NOMEM with err set. Local models
** take this; kl_chat_prompt's text is for remote servers. */
int kl_chat_tokens(const kl_model *m, const kl_chat_msg *msgs, size_t n,
                   uint64_t deadline_ns, int32_t **toks, size_t *ntok, char *err,
                   size_t cap);

/* ---- models and forward passes (model.c, llama.c, bert.c) ------------- */

enum { KL_ARCH_LLAMA = 1, KL_ARCH_BERT = 2 };

/* The model in the GGUF file at path: mapped, its architecture's hyper-
** parameters and every tensor it needs checked (names, types, shapes), its
** vocabulary loaded. NULL with err naming the file and what is wrong. */
kl_model *kl_model_open(const char *path, char *err, size_t cap);
void kl_model_free(kl_model *m);
int kl_model_arch(const kl_model *m);
const kl_vocab *kl_model_vocab(const kl_model *m);
const kl_gguf *kl_model_gguf(const kl_model *m);

/* A request's state for a decoder: its KV cache (n_ctx positions) and
** scratch buffers. */
typedef struct kl_seq kl_seq;

kl_seq *kl_seq_new(const kl_model *m, uint32_t n_ctx, char *err, size_t cap);
void kl_seq_free(kl_seq *s);
/* Feeds n tokens at the sequence's next positions; the logits after the
** last one (kl_vocab_size floats) are written to logits. */
int kl_seq_eval(kl_seq *s, kl_pool *p, const int32_t *tok, size_t n,
                float *logits, char *err, size_t cap);

/* The mean-pooled, L2-normalized embedding of n tokens (an encoder). */
int kl_bert_embed(const kl_model *m, kl_pool *p, const int32_t *tok,
                  size_t n, float *out, char *err, size_t cap);

/* ---- generation without the queue (gen.c) ----------------------------- */

/* kl_infer's work once it has a slot: tokenize, feed the prompt in batches,
** sample until end of generation, max_tokens, the context or deadline_ns,
** and assemble valid UTF-8 text. The engine's kl_infer wraps it. */
int kl_generate(const kl_model *m, kl_pool *p, const char *prompt, size_t len,
                const kl_infer_params *ip, uint64_t deadline_ns,
                kl_infer_result *out, char *err, size_t cap);
/* kl_generate that also hands back the generated tokens' ids (*tokens:
** ku_malloc'ed, out->generated_tokens of them, freed by the caller; NULL
** when none): what `krait llm generate --json` and the tests compare with
** llama.cpp's greedy tokens. */
int kl_generate_tokens(const kl_model *m, kl_pool *p, const char *prompt,
                       size_t len, const kl_infer_params *ip,
                       uint64_t deadline_ns, kl_infer_result *out,
                       int32_t **tokens, char *err, size_t cap);
/* kl_generate_tokens from the prompt's tokens prompt[0..n) (copied; each
** checked against the vocabulary) instead of its text: how a chat runs on
** a local model (kl_chat_tokens, then this). */
int kl_generate_from_tokens(const kl_model *m, kl_pool *p,
                            const int32_t *prompt, size_t n,
                            const kl_infer_params *ip, uint64_t deadline_ns,
                            kl_infer_result *out, int32_t **tokens,
                            char *err, size_t cap);
/* kl_embed's work once it has a slot (out: n * kl_model_dim floats). */
int kl_embed_texts(const kl_model *m, kl_pool *p, const char *const *texts,
                   const size_t *lens, size_t n, uint64_t deadline_ns,
                   float *out, uint32_t *prompt_tokens, char *err,
                   size_t cap);

#endif
