/*
** vocab_internal.h -- what vocab.c, spm.c, wpm.c and ucd.c share: the
** vocabulary's tables (texts, scores, llama.cpp's token attributes, the
** text -> id hash), a growable token list and the Unicode data WordPiece
** reads. Not the GGUF reader (gguf.c) or sampling.
*/
#ifndef KL_VOCAB_INTERNAL_H
#define KL_VOCAB_INTERNAL_H

#include "llm/llm_internal.h"
#include "util/util.h"

/* llama.cpp's token attributes (llama.h's llama_token_attr). */
enum {
  KL_ATTR_UNKNOWN = 1 << 0, KL_ATTR_UNUSED = 1 << 1, KL_ATTR_NORMAL = 1 << 2,
  KL_ATTR_CONTROL = 1 << 3, KL_ATTR_USER = 1 << 4, KL_ATTR_BYTE = 1 << 5
};

#define KL_SPACE_ESC "\xe2\x96\x81"   /* U+2581, SentencePiece's space */

struct kl_vocab {
  int type;                 /* KL_VOCAB_SPM or KL_VOCAB_WPM */
  uint32_t n;
  kl_str *text;             /* token texts (the file's, or "[EMPTY_i]") */
  float *score;
  uint16_t *attr;
  uint8_t *eog;             /* 1 where a token ends generation */
  uint32_t *slot;           /* text -> id + 1, open addressing */
  size_t mask;
  uint32_t max_len;         /* the longest token text, in bytes */
  int32_t bos, eos, unk, sep, pad, eot, eom;
  bool add_bos, add_eos, add_space_prefix;
  bool lowercase, strip_accents;   /* WordPiece's normalizer */
  int32_t *special;         /* user-defined tokens, longest first */
  uint32_t nspecial;
  int32_t *all_special;     /* control, unknown and user-defined ones */
  uint32_t nall_special;
  ku_arena names;           /* the "[EMPTY_i]" texts */
};

/* A growable list of tokens; oom, bad (a byte with no token, where
** llama.cpp throws) and late (past deadline, kp_monotonic_ns; 0: none)
** are sticky. */
typedef struct kl_toks {
  int32_t *p;
  size_t n, cap;
  bool oom, bad, late;
  uint64_t deadline;
} kl_toks;

void kl_toks_push(kl_toks *t, int32_t tok);
/* Whether t's deadline has passed (then t->late is set). */
bool kl_toks_late(kl_toks *t);

/* The id of the token whose text is [s, s+n), or -1. */
int32_t kl_vocab_find(const kl_vocab *v, const char *s, size_t n);

/* SentencePiece on already escaped text (spaces as U+2581): symbols merged
** by score as llama.cpp's llm_tokenizer_spm, the rest as bytes. */
void kl_spm_tokenize(const kl_vocab *v, const char *s, size_t n, kl_toks *out);
/* WordPiece on raw text as llama.cpp's llm_tokenizer_wpm: false when the
** text cannot be read (a code point past U+10FFFF). */
bool kl_wpm_tokenize(const kl_vocab *v, const char *s, size_t n, kl_toks *out);

/* ---- Unicode data for WordPiece (ucd.c, ICU) -------------------------- */

enum {
  KL_UC_WHITESPACE = 1, KL_UC_CONTROL = 2, KL_UC_PUNCT = 4, KL_UC_SYMBOL = 8,
  KL_UC_MARK = 16
};

/* The classes of code point c that WordPiece's preprocessing asks about. */
unsigned kl_ucd_flags(uint32_t c);
/* Simple lowercase mapping (UnicodeData's), or c. */
uint32_t kl_ucd_lower(uint32_t c);
/* The first code point of c's canonical decomposition (NFD), or c. */
uint32_t kl_ucd_nfd_first(uint32_t c);

#endif
