/*
** vocab.c -- a model's vocabulary from its GGUF metadata (tokenizer.ggml.*)
** as llama.cpp's llama_vocab::impl::load reads it, tokenizing (special-token
** split, BOS/EOS/SEP) and token pieces. Not the SPM/WPM algorithms.
*/
#include "llm/vocab_internal.h"
#include "platform/platform.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

/* llama.cpp's token types (tokenizer.ggml.token_type) as attributes. */
static uint16_t type_attr(int32_t t) {
  switch (t) {
  case 1: return KL_ATTR_NORMAL;
  case 2: return KL_ATTR_UNKNOWN;
  case 3: return KL_ATTR_CONTROL;
  case 4: return KL_ATTR_USER;
  case 5: return KL_ATTR_UNUSED;
  case 6: return KL_ATTR_BYTE;
  default: return 0;
  }
}

/* Token texts llama.cpp treats as special whatever their type (its
** load-time lists): which role each text plays. */
enum { R_EOG = 1, R_FIM_EOG = 2, R_CTRL = 4 };
static const struct { const char *text; int role; } special_texts[] = {
  { "<|eot_id|>", R_EOG }, { "<|im_end|>", R_EOG }, { "<|end|>", R_EOG },
  { "<|return|>", R_EOG }, { "<|call|>", R_EOG }, { "<|flush|>", R_EOG },
  { "<|calls|>", R_EOG }, { "<end_of_turn>", R_EOG }, { "<|endoftext|>", R_EOG },
  { "</s>", R_EOG }, { "<|eom_id|>", R_EOG }, { "<EOT>", R_EOG },
  { "_<EOT>", R_EOG }, { "[EOT]", R_EOG }, { "[EOS]", R_EOG },
  { "<|end_of_text|>", R_EOG }, { "<end_of_utterance>", R_EOG },
  { "<eos>", R_EOG }, { "<turn|>", R_EOG }, { "<|tool_response>", R_EOG },
  { "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>", R_EOG },
  { "[e~[", R_EOG },
  /* fill-in-the-middle: pad, repo and file separators end generation */
  { "<|fim_pad|>", R_FIM_EOG }, { "<fim-pad>", R_FIM_EOG }, { "<fim_pad>", R_FIM_EOG },
  { "<PAD>", R_FIM_EOG }, { "[PAD]", R_FIM_EOG }, { "<|fim_repo|>", R_FIM_EOG },
  { "<|repo_name|>", R_FIM_EOG }, { "<fim-repo>", R_FIM_EOG }, { "<REPO>", R_FIM_EOG },
  { "<reponame>", R_FIM_EOG }, { "<|file_sep|>", R_FIM_EOG },
  /* prefix, suffix and middle markers only become control tokens */
  { "<|fim_prefix|>", R_CTRL }, { "<fim-prefix>", R_CTRL }, { "<fim_prefix>", R_CTRL },
  { "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", R_CTRL }, { "<PRE>", R_CTRL },
  { KL_SPACE_ESC "<PRE>", R_CTRL }, { "<|code_prefix|>", R_CTRL }, { "<|prefix|>", R_CTRL },
  { "<|fim_suffix|>", R_CTRL }, { "<fim-suffix>", R_CTRL }, { "<fim_suffix>", R_CTRL },
  { "<\xef\xbd\x9c" "fim\xe2\x96\x81" "hole\xef\xbd\x9c>", R_CTRL }, { "<SUF>", R_CTRL },
  { KL_SPACE_ESC "<SUF>", R_CTRL }, { "<|code_suffix|>", R_CTRL }, { "<|suffix|>", R_CTRL },
  { "<|fim_middle|>", R_CTRL }, { "<fim-middle>", R_CTRL }, { "<fim_middle>", R_CTRL },
  { "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", R_CTRL }, { "<MID>", R_CTRL },
  { KL_SPACE_ESC "<MID>", R_CTRL }, { "<|code_middle|>", R_CTRL }, { "<|middle|>", R_CTRL },
};

int32_t kl_vocab_find(const kl_vocab *v, const char *s, size_t n) {
  if (n > v->max_len) return -1;
  for (size_t i = kl_hash(s, n) & v->mask;; i = (i + 1) & v->mask) {
    uint32_t id = v->slot[i];
    if (!id) return -1;
    const kl_str *t = &v->text[id - 1];
    if (t->n == n && memcmp(t->s, s, n) == 0) return (int32_t)(id - 1);
  }
}

bool kl_toks_late(kl_toks *t) {
  if (!t->late && t->deadline && kp_monotonic_ns() >= t->deadline) t->late = true;
  return t->late;
}

void kl_toks_push(kl_toks *t, int32_t tok) {
  if (t->oom) return;
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    int32_t *p = ku_realloc(t->p, cap * sizeof *p);
    if (!p) { t->oom = true; return; }
    t->p = p;
    t->cap = cap;
  }
  t->p[t->n++] = tok;
}

/* ---- loading ---------------------------------------------------------- */

/* An array key of elem type (or, with elem2, that one) holding at least n
** items, or NULL with err set; absent keys are NULL with err empty. */
static const kl_kv *array_kv(const kl_gguf *g, const char *key, uint32_t elem,
                             uint32_t elem2, uint64_t n, char *err, size_t cap) {
  const kl_kv *kv = kl_gguf_kv(g, key);
  err[0] = 0;
  if (!kv) return NULL;
  if (kv->type != KL_G_ARR || (kv->elem != elem && kv->elem != elem2))
    ku_fmt(err, cap, "%s has the wrong type (an array of %s expected)", key,
           elem == KL_G_STR ? "strings" : elem == KL_G_I32 && elem2 == KL_G_I32 ? "i32" : "f32 or i32");
  else if (kv->n < n)
    ku_fmt(err, cap, "%s has %llu items for %llu tokens", key,
           (unsigned long long)kv->n, (unsigned long long)n);
  else return kv;
  return NULL;
}

/* Item i of a little-endian 4-byte array. */
static uint32_t item32(const kl_kv *kv, uint64_t i) {
  uint32_t x;
  memcpy(&x, (const uint8_t *)kv->arr + 4 * i, 4);
  return x;
}

/* Texts (an empty one becomes "[EMPTY_i]", as llama.cpp names it), the
** hash and the longest length; a repeated text is an error. */
static bool load_texts(kl_vocab *v, const kl_kv *toks, char *err, size_t cap) {
  size_t slots = 16;
  while (slots < 2 * (size_t)v->n) slots *= 2;
  v->slot = ku_calloc(slots, sizeof *v->slot);
  v->text = ku_calloc(v->n, sizeof *v->text);
  if (!v->slot || !v->text) { ku_fmt(err, cap, "out of memory for %u tokens", v->n); return false; }
  v->mask = slots - 1;
  const kl_str *src = toks->arr;
  for (uint32_t i = 0; i < v->n; i++) {
    kl_str t = src[i];
    if (t.n == 0) {
      char name[32];
      int k = snprintf(name, sizeof name, "[EMPTY_%u]", i);
      t.s = ku_arena_strndup(&v->names, name, (size_t)k);
      t.n = (uint64_t)k;
      if (!t.s) { ku_fmt(err, cap, "out of memory"); return false; }
    }
    v->max_len = t.n > v->max_len ? (uint32_t)(t.n > UINT32_MAX ? UINT32_MAX : t.n) : v->max_len;
    size_t j = kl_hash(t.s, (size_t)t.n) & v->mask;
    for (; v->slot[j]; j = (j + 1) & v->mask) {
      const kl_str *o = &v->text[v->slot[j] - 1];
      if (o->n == t.n && memcmp(o->s, t.s, (size_t)t.n) == 0) {
        ku_fmt(err, cap, "tokenizer.ggml.tokens: token %u repeats token %u ('%.*s')", i,
               v->slot[j] - 1, (int)(t.n > 40 ? 40 : t.n), t.s);
        return false;
      }
    }
    v->text[i] = t;
    v->slot[j] = i + 1;
  }
  return true;
}

/* Scores (f32 or i32; 0 without the key) and attributes (NORMAL without
** token types). */
static bool load_scores_types(const kl_gguf *g, kl_vocab *v, char *err, size_t cap) {
  const kl_kv *sc = array_kv(g, "tokenizer.ggml.scores", KL_G_F32, KL_G_I32, v->n, err, cap);
  if (err[0]) return false;
  const kl_kv *tt = array_kv(g, "tokenizer.ggml.token_type", KL_G_I32, KL_G_I32, v->n, err, cap);
  if (err[0]) return false;
  v->score = ku_calloc(v->n, sizeof *v->score);
  v->attr = ku_calloc(v->n, sizeof *v->attr);
  v->eog = ku_calloc(v->n, 1);
  if (!v->score || !v->attr || !v->eog) { ku_fmt(err, cap, "out of memory for %u tokens", v->n); return false; }
  for (uint32_t i = 0; i < v->n; i++) {
    if (sc) {
      uint32_t w = item32(sc, i);
      if (sc->elem == KL_G_F32) memcpy(&v->score[i], &w, 4);
      else v->score[i] = (float)(int32_t)w;
    }
    v->attr[i] = tt ? type_attr((int32_t)item32(tt, i)) : KL_ATTR_NORMAL;
  }
  return true;
}

/* A special token id from key over its default (both dropped when out of
** range, as llama.cpp does). */
static int32_t special_id(const kl_gguf *g, const kl_vocab *v, const char *key, int32_t def) {
  if (def >= 0 && (uint32_t)def >= v->n) def = -1;
  uint32_t id;
  if (kl_gguf_u32(g, key, &id) && id < v->n) return (int32_t)id;
  return def;
}

/* The tokenizer's kind and llama.cpp's defaults for it. */
static bool load_kind(const kl_gguf *g, kl_vocab *v, char *err, size_t cap) {
  kl_str m;
  if (!kl_gguf_str(g, "tokenizer.ggml.model", &m)) {
    ku_fmt(err, cap, "tokenizer.ggml.model is missing (or not a string)");
    return false;
  }
  bool spm = m.n == 5 && !memcmp(m.s, "llama", 5);
  if (!spm && !(m.n == 4 && !memcmp(m.s, "bert", 4))) {
    ku_fmt(err, cap, "tokenizer model '%.*s' is not supported (krait reads 'llama', "
           "SentencePiece, and 'bert', WordPiece)", (int)(m.n > 40 ? 40 : m.n), m.s);
    return false;
  }
  v->type = spm ? KL_VOCAB_SPM : KL_VOCAB_WPM;
  v->add_bos = true;
  v->add_space_prefix = spm;
  v->lowercase = v->strip_accents = true;
  return true;
}

/* Special ids and flags from their keys. */
static void load_specials(const kl_gguf *g, kl_vocab *v) {
  bool spm = v->type == KL_VOCAB_SPM;
  v->bos = special_id(g, v, "tokenizer.ggml.bos_token_id", spm ? 1 : 101);
  v->eos = special_id(g, v, "tokenizer.ggml.eos_token_id", spm ? 2 : -1);
  v->unk = special_id(g, v, "tokenizer.ggml.unknown_token_id", spm ? 0 : 100);
  v->sep = special_id(g, v, "tokenizer.ggml.seperator_token_id", spm ? -1 : 102);
  v->pad = special_id(g, v, "tokenizer.ggml.padding_token_id", spm ? -1 : 0);
  v->eot = special_id(g, v, "tokenizer.ggml.eot_token_id", -1);
  v->eom = special_id(g, v, "tokenizer.ggml.eom_token_id", -1);
  if (!spm && v->bos < 0) v->bos = special_id(g, v, "tokenizer.ggml.cls_token_id", -1);
  (void)kl_gguf_bool(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix);
  (void)kl_gguf_bool(g, "tokenizer.ggml.add_bos_token", &v->add_bos);
  (void)kl_gguf_bool(g, "tokenizer.ggml.add_eos_token", &v->add_eos);
  (void)kl_gguf_bool(g, "tokenizer.ggml.normalizer.lowercase", &v->lowercase);
  v->strip_accents = v->lowercase;
  (void)kl_gguf_bool(g, "tokenizer.ggml.normalizer.strip_accents", &v->strip_accents);
}

/* End-of-generation tokens: the fill-in-the-middle ones from their keys,
** the texts llama.cpp lists (made control tokens), EOS, EOT and EOM. */
static void load_eog(const kl_gguf *g, kl_vocab *v) {
  static const char *const fim_keys[] = { "tokenizer.ggml.fim_pad_token_id",
    "tokenizer.ggml.fim_rep_token_id", "tokenizer.ggml.fim_sep_token_id" };
  bool fim_keyed = false;
  for (size_t i = 0; i < KU_COUNT(fim_keys); i++) {
    int32_t id = special_id(g, v, fim_keys[i], -1);
    if (id >= 0) { v->eog[id] = 1; fim_keyed = true; }
  }
  for (size_t i = 0; i < KU_COUNT(special_texts); i++) {
    int32_t id = kl_vocab_find(v, special_texts[i].text, strlen(special_texts[i].text));
    if (id < 0) continue;
    v->attr[id] |= KL_ATTR_CONTROL;
    if (special_texts[i].role == R_EOG || (special_texts[i].role == R_FIM_EOG && !fim_keyed))
      v->eog[id] = 1;
  }
  int32_t ids[3] = { v->eos, v->eot, v->eom };
  for (int i = 0; i < 3; i++)
    if (ids[i] >= 0) v->eog[ids[i]] = 1;
}

/* A token to sort by its text's length. */
typedef struct by_len {
  uint64_t n;
  int32_t id;
} by_len;

/* Longer texts first; among equal lengths, lower ids first. */
static int by_len_cmp(const void *a, const void *b) {
  const by_len *x = a, *y = b;
  if (x->n != y->n) return x->n > y->n ? -1 : 1;
  return (x->id > y->id) - (x->id < y->id);
}

/* The tokens of attributes any but none (longest first, by id among equal
** lengths; qsort, O(k log k)) into *list; false when out of memory. */
static bool special_list(kl_vocab *v, uint16_t any, uint16_t none, int32_t **list, uint32_t *n) {
  for (uint32_t i = 0; i < v->n; i++)
    if ((v->attr[i] & any) && !(v->attr[i] & none)) (*n)++;
  if (!*n) return true;
  by_len *s = ku_malloc(*n * sizeof *s);
  int32_t *l = *list = ku_malloc(*n * sizeof *l);
  if (!s || !l) { ku_free(s); return false; }
  uint32_t k = 0;
  for (uint32_t i = 0; i < v->n; i++)
    if ((v->attr[i] & any) && !(v->attr[i] & none)) s[k++] = (by_len){ v->text[i].n, (int32_t)i };
  qsort(s, k, sizeof *s, by_len_cmp);
  for (uint32_t i = 0; i < k; i++) l[i] = s[i].id;
  ku_free(s);
  return true;
}

/* The tokens the text is split at before tokenizing (llama.cpp's
** tokenizer_st_partition): user-defined ones, and with parse_special
** control and unknown ones too. */
static bool load_user_tokens(kl_vocab *v) {
  uint16_t sp = KL_ATTR_CONTROL | KL_ATTR_UNKNOWN;
  return special_list(v, KL_ATTR_USER, sp, &v->special, &v->nspecial) &&
         special_list(v, sp | KL_ATTR_USER, 0, &v->all_special, &v->nall_special);
}

/* The checks a usable vocabulary needs (llama.cpp asserts them later). */
static bool check_specials(const kl_vocab *v, char *err, size_t cap) {
  if (v->add_bos && v->bos < 0)
    ku_fmt(err, cap, "the vocabulary adds a BOS token but has none (tokenizer.ggml.bos_token_id)");
  else if (v->add_eos && v->eos < 0)
    ku_fmt(err, cap, "the vocabulary adds an EOS token but has none (tokenizer.ggml.eos_token_id)");
  else if (v->type == KL_VOCAB_WPM && (v->bos < 0 || v->sep < 0))
    ku_fmt(err, cap, "a WordPiece vocabulary needs [CLS] and [SEP] tokens "
           "(tokenizer.ggml.bos_token_id, tokenizer.ggml.seperator_token_id)");
  else if (v->type == KL_VOCAB_WPM && v->unk < 0)
    ku_fmt(err, cap, "a WordPiece vocabulary needs an unknown token (tokenizer.ggml.unknown_token_id)");
  else return true;
  return false;
}

/* kl_vocab_load's steps; false with err set. */
static bool load(const kl_gguf *g, kl_vocab *v, char *err, size_t cap) {
  if (!load_kind(g, v, err, cap)) return false;
  const kl_kv *toks = array_kv(g, "tokenizer.ggml.tokens", KL_G_STR, KL_G_STR, 1, err, cap);
  if (!toks) {
    if (!err[0]) ku_fmt(err, cap, "tokenizer.ggml.tokens is missing");
    return false;
  }
  if (toks->n >= INT32_MAX) { ku_fmt(err, cap, "tokenizer.ggml.tokens has too many tokens"); return false; }
  v->n = (uint32_t)toks->n;
  if (!load_texts(v, toks, err, cap) || !load_scores_types(g, v, err, cap)) return false;
  load_specials(g, v);
  load_eog(g, v);
  if (!load_user_tokens(v)) { ku_fmt(err, cap, "out of memory"); return false; }
  return check_specials(v, err, cap);
}

kl_vocab *kl_vocab_load(const kl_gguf *g, char *err, size_t cap) {
  kl_vocab *v = ku_calloc(1, sizeof *v);
  if (!v) { ku_fmt(err, cap, "vocabulary: out of memory"); return NULL; }
  char why[KL_ERR_SIZE];
  if (load(g, v, why, sizeof why)) return v;
  ku_fmt(err, cap, "vocabulary: %s", why);
  kl_vocab_free(v);
  return NULL;
}

void kl_vocab_free(kl_vocab *v) {
  if (!v) return;
  ku_free(v->text);
  ku_free(v->score);
  ku_free(v->attr);
  ku_free(v->eog);
  ku_free(v->slot);
  ku_free(v->special);
  ku_free(v->all_special);
  ku_arena_free(&v->names);
  ku_free(v);
}

uint32_t kl_vocab_size(const kl_vocab *v) { return v->n; }
int32_t kl_vocab_bos(const kl_vocab *v) { return v->bos; }
int32_t kl_vocab_eos(const kl_vocab *v) { return v->eos; }

bool kl_vocab_is_eog(const kl_vocab *v, int32_t tok) {
  return tok >= 0 && (uint32_t)tok < v->n && v->eog[tok];
}

/* ---- tokenizing ------------------------------------------------------- */

/* One piece of the text: raw bytes, or a special token found in it; next
** links the pieces in order, rnext the raw ones (indices, -1 at the end). */
typedef struct frag {
  const char *s;
  size_t n;
  int32_t tok;   /* -1 for raw text */
  int32_t next, rnext;
  bool plain;    /* a chat message's text: split at user-defined tokens only */
} frag;

/* The fragments, growable; false once out of memory. */
typedef struct frags {
  frag *f;
  size_t n, cap;
  int32_t rhead;   /* the first raw fragment still to search, or -1 */
} frags;

/* Adds x; its index, or -1 when out of memory. */
static int32_t frag_add(frags *l, frag x) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 8;
    frag *f = cap < INT32_MAX ? ku_realloc(l->f, cap * sizeof *f) : NULL;
    if (!f) return -1;
    l->f = f;
    l->cap = cap;
  }
  l->f[l->n] = x;
  return (int32_t)l->n++;
}

/* Splits every raw fragment (visiting only those, from rhead through
** rnext) at each occurrence of token id (text w): the fragment keeps the
** text before it, a token fragment and a raw one for the rest follow. A
** raw fragment shorter than minlen (the shortest token still to split at)
** is unlinked from the raw list for good. The deadline is checked every
** 4096 fragments. */
static bool split_at(frags *l, int32_t id, bool user, const kl_str *w, size_t minlen, kl_toks *t) {
  size_t seen = 0;
  int32_t prev = -1;
  for (int32_t i = l->rhead; i >= 0;) {
    if (++seen % 4096 == 0 && kl_toks_late(t)) return false;
    if (l->f[i].n < minlen) {
      int32_t nx = l->f[i].rnext;
      if (prev < 0) l->rhead = nx;
      else l->f[prev].rnext = nx;
      i = nx;
      continue;
    }
    const char *hit;
    while ((user || !l->f[i].plain) && (hit = memmem(l->f[i].s, l->f[i].n, w->s, (size_t)w->n)) != NULL) {
      frag f = l->f[i];
      size_t left = (size_t)(hit - f.s);
      int32_t r = frag_add(l, (frag){ hit + w->n, f.n - left - (size_t)w->n, -1, f.next, f.rnext, f.plain });
      int32_t k = r < 0 ? -1 : frag_add(l, (frag){ hit, (size_t)w->n, id, r, -1, false });
      if (k < 0) return false;
      l->f[i].n = left;
      l->f[i].next = k;
      l->f[i].rnext = r;
      prev = i;
      i = r;
    }
    prev = i;
    i = l->f[i].rnext;
  }
  return true;
}

/* Splits the raw fragments already in *l (linked from fragment 0) at every
** special token (user-defined ones, and with parse_special control and
** unknown ones outside plain fragments), longest tokens first. Each token
** present in [s, s+n) is one pass over the raw fragments long enough to
** hold the shortest such token. False when out of memory or late. */
static bool split_all(const kl_vocab *v, bool parse_special, const char *s, size_t n,
                      frags *l, kl_toks *t) {
  const int32_t *list = parse_special ? v->all_special : v->special;
  uint32_t nlist = parse_special ? v->nall_special : v->nspecial, np = 0;
  if (!nlist) return true;
  int32_t *present = ku_malloc(nlist * sizeof *present);
  if (!present) return false;
  for (uint32_t k = 0; k < nlist; k++) {
    const kl_str *w = &v->text[list[k]];
    if (memmem(s, n, w->s, (size_t)w->n)) present[np++] = list[k];
  }
  bool ok = true;
  size_t minlen = np ? (size_t)v->text[present[np - 1]].n : 0;
  for (uint32_t k = 0; ok && k < np; k++) {
    ok = !kl_toks_late(t) &&
         split_at(l, present[k], (v->attr[present[k]] & KL_ATTR_USER) != 0, &v->text[present[k]],
                  minlen, t);
  }
  ku_free(present);
  return ok;
}

/* Splits [s, s+n) at every special token into the fragments of *l. */
static bool partition(const kl_vocab *v, bool parse_special, const char *s, size_t n,
                      frags *l, kl_toks *t) {
  if (frag_add(l, (frag){ s, n, -1, -1, -1, false }) < 0) return false;
  return split_all(v, parse_special, s, n, l, t);
}

/* The run of raw fragments from i that lie next to each other in the text
** (a chat template's text and a message's): its text in *s, *n; the index
** of its last fragment returned. */
static int32_t raw_run(const frags *l, int32_t i, const char **s, size_t *n) {
  *s = l->f[i].s;
  *n = l->f[i].n;
  for (int32_t j = l->f[i].next; j >= 0 && l->f[j].tok < 0 && l->f[j].s == *s + *n; j = l->f[j].next) {
    *n += l->f[j].n;
    i = j;
  }
  return i;
}

/* SentencePiece: each raw fragment escaped (spaces as U+2581), with a
** space first when the previous fragment was a token and add_space_prefix. */
static bool spm_frags(const kl_vocab *v, const frags *l, kl_toks *out) {
  bool prev_special = true;
  for (int32_t i = 0; i >= 0 && !out->late; i = l->f[i].next) {
    if (l->f[i].tok >= 0) { kl_toks_push(out, l->f[i].tok); prev_special = true; continue; }
    const char *s;
    size_t n;
    i = raw_run(l, i, &s, &n);
    if (!n) continue;
    size_t spaces = 0, pre = v->add_space_prefix && prev_special;
    for (size_t j = 0; j < n; j++) spaces += s[j] == ' ';
    char *e = ku_malloc(n + 2 * (spaces + pre) + pre + 1);
    if (!e) return false;
    size_t m = 0;
    if (pre) { memcpy(e, KL_SPACE_ESC, 3); m = 3; }
    for (size_t j = 0; j < n; j++) {
      if (s[j] == ' ') { memcpy(e + m, KL_SPACE_ESC, 3); m += 3; }
      else e[m++] = s[j];
    }
    kl_spm_tokenize(v, e, m, out);
    ku_free(e);
    prev_special = false;
  }
  return true;
}

/* The tokens of the fragments in l appended to out: BOS, the fragments, EOS
** or SEP. */
static bool tokenize_frags(const kl_vocab *v, const frags *l, bool add_special, kl_toks *out) {
  bool ok = true;
  if (add_special && (v->add_bos || v->type == KL_VOCAB_WPM)) kl_toks_push(out, v->bos);
  if (v->type == KL_VOCAB_SPM) {
    ok = spm_frags(v, l, out);
    if (add_special && v->add_eos) kl_toks_push(out, v->eos);
  } else {
    for (int32_t i = 0; ok && i >= 0 && !out->late; i = l->f[i].next) {
      const char *s;
      size_t n;
      if (l->f[i].tok >= 0) { kl_toks_push(out, l->f[i].tok); continue; }
      i = raw_run(l, i, &s, &n);
      if (n) ok = kl_wpm_tokenize(v, s, n, out);
    }
    if (add_special) kl_toks_push(out, v->sep);
  }
  return ok && !out->oom && !out->bad && !out->late;
}

/* The tokens of text appended to out. */
static bool tokenize(const kl_vocab *v, bool parse_special, const char *text, size_t len,
                     bool add_special, kl_toks *out) {
  frags l = { 0 };
  bool ok = partition(v, parse_special, text, len, &l, out) &&
            tokenize_frags(v, &l, add_special, out);
  ku_free(l.f);
  return ok && !out->oom && !out->bad && !out->late;
}

/* kl_tokenize and kl_tokenize_special: the list copied out. */
static int64_t tokenize_into(const kl_vocab *v, bool parse_special, const char *text,
                             size_t len, bool add_special, int32_t *out, size_t cap) {
  kl_toks t = { 0 };
  int64_t n = -1;
  if (tokenize(v, parse_special, text, len, add_special, &t)) {
    if (cap && t.n) memcpy(out, t.p, (t.n < cap ? t.n : cap) * sizeof *out);
    n = (int64_t)t.n;
  }
  ku_free(t.p);
  return n;
}

int64_t kl_tokenize(const kl_vocab *v, const char *text, size_t len,
                    bool add_special, int32_t *out, size_t cap) {
  return tokenize_into(v, false, text, len, add_special, out, cap);
}

int64_t kl_tokenize_special(const kl_vocab *v, const char *text, size_t len,
                            bool add_special, int32_t *out, size_t cap) {
  return tokenize_into(v, true, text, len, add_special, out, cap);
}

/* kl_tokenize_list's and kl_tokenize_chat's answer from t (ok: t's tokens
** handed over). */
static int toks_result(kl_toks *t, bool ok, size_t len, int32_t **out, size_t *n,
                       char *err, size_t cap) {
  if (ok) {
    *out = t->p;
    *n = t->n;
    return KL_OK;
  }
  ku_free(t->p);
  if (t->late) {
    ku_fmt(err, cap, "the deadline passed while tokenizing %zu bytes", len);
    return KL_E_TIMEOUT;
  }
  if (t->bad) {
    ku_fmt(err, cap, "the text has a byte the vocabulary has no token for");
    return KL_E_INPUT;
  }
  ku_fmt(err, cap, "out of memory tokenizing %zu bytes", len);
  return KL_E_NOMEM;
}

int kl_tokenize_list(const kl_vocab *v, const char *text, size_t len, bool add_special,
                     uint64_t deadline_ns, int32_t **out, size_t *n, char *err, size_t cap) {
  kl_toks t = { 0 };
  t.deadline = deadline_ns;
  *out = NULL;
  *n = 0;
  bool ok = tokenize(v, false, text, len, add_special, &t);
  return toks_result(&t, ok, len, out, n, err, cap);
}

int kl_tokenize_chat(const kl_vocab *v, const char *text, size_t len, const kl_span *plain,
                     size_t nplain, uint64_t deadline_ns, int32_t **out, size_t *n,
                     char *err, size_t cap) {
  kl_toks t = { 0 };
  frags l = { 0 };
  size_t at = 0;
  bool ok = true;
  int32_t last = -1;
  t.deadline = deadline_ns;
  *out = NULL;
  *n = 0;
  for (size_t k = 0; ok && k <= nplain; k++) {   /* template text, then a message's */
    size_t end = k < nplain ? plain[k].off : len;
    for (int part = 0; part < 2 && ok; part++) {
      size_t from = part ? end : at, to = part ? (k < nplain ? end + plain[k].len : end) : end;
      if (to <= from) continue;
      int32_t i = frag_add(&l, (frag){ text + from, to - from, -1, -1, -1, part == 1 });
      ok = i >= 0;
      if (ok && last >= 0) l.f[last].next = l.f[last].rnext = i;
      last = i;
    }
    if (k < nplain) at = end + plain[k].len;
  }
  if (ok && !l.n) ok = frag_add(&l, (frag){ text, 0, -1, -1, -1, false }) >= 0;
  ok = ok && split_all(v, true, text, len, &l, &t) && tokenize_frags(v, &l, true, &t);
  ku_free(l.f);
  return toks_result(&t, ok, len, out, n, err, cap);
}

/* A lower bound on WordPiece's token count for [s, s+n): every ASCII
** punctuation or symbol byte is a word of its own, and every run of other
** non-space bytes holding an ASCII letter or digit is at least one word;
** each word gives at least one token. */
static size_t wpm_min_tokens(const char *s, size_t n) {
  size_t words = 0;
  bool counted = false;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = (uint8_t)s[i];
    bool space = c == ' ' || (c >= 9 && c <= 13);
    bool punct = c > 32 && c < 127 && !isalnum(c);
    if (space || punct || c < 32 || c == 127) {
      words += punct;
      counted = false;
      continue;
    }
    if (!counted && isalnum(c)) { words++; counted = true; }
  }
  return words;
}

int kl_vocab_fits(const kl_vocab *v, const char *text, size_t len, uint32_t n_ctx,
                  char *err, size_t cap) {
  if (v->type == KL_VOCAB_SPM) {
    uint64_t most = (uint64_t)n_ctx * v->max_len;
    if (len > most) {
      ku_fmt(err, cap, "the text is %zu bytes: more than the model's context of %u tokens "
             "can hold (%u tokens of at most %u bytes, %llu bytes)", len, n_ctx, n_ctx,
             v->max_len, (unsigned long long)most);
      return KL_E_INPUT;
    }
    return KL_OK;
  }
  size_t least = wpm_min_tokens(text, len);
  if (least > n_ctx) {
    ku_fmt(err, cap, "the text has at least %zu words (each at least one token): more than "
           "the model's context of %u tokens", least, n_ctx);
    return KL_E_INPUT;
  }
  return KL_OK;
}

/* The byte a byte-fallback token stands for: its text's hex digits after
** "<0x", read as strtol reads them (llama.cpp's token_to_byte). */
static char token_byte(const kl_str *t) {
  unsigned b = 0;
  for (uint64_t i = 3; i < 5 && i < t->n; i++) {
    char c = t->s[i];
    unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
               : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
               : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
    if (d == 16) break;
    b = b * 16 + d;
  }
  return (char)b;
}

size_t kl_token_piece(const kl_vocab *v, int32_t tok, char *out, size_t cap) {
  if (tok < 0 || (uint32_t)tok >= v->n) return 0;
  uint16_t a = v->attr[tok];
  const kl_str *t = &v->text[tok];
  if (a & (KL_ATTR_UNKNOWN | KL_ATTR_CONTROL)) return 0;
  if (a & KL_ATTR_USER) {
    memcpy(out, t->s, t->n < cap ? (size_t)t->n : cap);
    return (size_t)t->n;
  }
  if (a & KL_ATTR_BYTE) {
    if (cap) out[0] = token_byte(t);
    return 1;
  }
  if (!(a & KL_ATTR_NORMAL)) return 0;
  size_t m = 0;
  for (uint64_t i = 0; i < t->n; i++) {
    if (i + 3 <= t->n && !memcmp(t->s + i, KL_SPACE_ESC, 3)) {
      if (m < cap) out[m] = ' ';
      m++;
      i += 2;
    } else {
      if (m < cap) out[m] = t->s[i];
      m++;
    }
  }
  return m;
}
