/*
** wpm.c -- WordPiece tokenizing as llama.cpp's llm_tokenizer_wpm: the BERT
** normalizer's split (whitespace, punctuation, CJK; lowercase, accents off)
** and the greedy longest match of "\u2581word". Not [CLS]/[SEP] (vocab.c).
*/
#include "llm/vocab_internal.h"

/* The next code point of [*p, end) as llama.cpp's unicode_cpt_from_utf8
** reads it (no overlong or surrogate checks); U+FFFD and one byte on an
** invalid sequence. */
static uint32_t next_cpt(const uint8_t **p, const uint8_t *end) {
  const uint8_t *s = *p;
  size_t left = (size_t)(end - s), n;
  uint32_t c;
  if (!(s[0] & 0x80)) { *p += 1; return s[0]; }
  if (!(s[0] & 0x40)) n = 0;
  else if (!(s[0] & 0x20)) { n = 2; c = s[0] & 0x1f; }
  else if (!(s[0] & 0x10)) { n = 3; c = s[0] & 0x0f; }
  else if (!(s[0] & 0x08)) { n = 4; c = s[0] & 0x07; }
  else n = 0;
  if (n == 0 || n > left) { *p += 1; return 0xfffd; }
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) { *p += 1; return 0xfffd; }
    c = c << 6 | (s[i] & 0x3f);
  }
  *p += n;
  return c;
}

/* Appends the UTF-8 of c (at most U+10FFFF) to buf at *m. */
static void put_utf8(char *buf, size_t *m, uint32_t c) {
  uint8_t *o = (uint8_t *)buf + *m;
  if (c < 0x80) { o[0] = (uint8_t)c; *m += 1; }
  else if (c < 0x800) { o[0] = (uint8_t)(0xc0 | c >> 6); o[1] = (uint8_t)(0x80 | (c & 0x3f)); *m += 2; }
  else if (c < 0x10000) {
    o[0] = (uint8_t)(0xe0 | c >> 12); o[1] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
    o[2] = (uint8_t)(0x80 | (c & 0x3f)); *m += 3;
  } else {
    o[0] = (uint8_t)(0xf0 | c >> 18); o[1] = (uint8_t)(0x80 | (c >> 12 & 0x3f));
    o[2] = (uint8_t)(0x80 | (c >> 6 & 0x3f)); o[3] = (uint8_t)(0x80 | (c & 0x3f)); *m += 4;
  }
}

/* CJK ideographs, which BERT splits one per word (llama.cpp's list). */
static bool is_chinese(uint32_t c) {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
         (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2b73f) ||
         (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
         (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

/* The tokens of one word (w starts with U+2581): longest matches from the
** left; when some position matches nothing, the whole word is unknown.
** llama.cpp has no limit on a word's length (HF's max_input_chars_per_word
** is not in its WordPiece), so neither does krait: a long word costs up to
** max_len lookups per position, and the deadline is checked every 64. */
static void word(const kl_vocab *v, const char *w, size_t n, kl_toks *out) {
  if (n <= 3) return;                        /* an empty word */
  size_t start = out->n, steps = 0;
  for (size_t i = 0; i < n;) {
    if (++steps % 64 == 0 && kl_toks_late(out)) { out->n = start; return; }
    size_t j = n - i > v->max_len ? i + v->max_len : n;
    int32_t id = -1;
    for (; j > i && id < 0; j--) id = kl_vocab_find(v, w + i, j - i);
    if (id < 0) { out->n = start; break; }
    kl_toks_push(out, id);
    i = j + 1;
  }
  if (out->n == start) kl_toks_push(out, v->unk);
}

/* Ends the word being built in buf (after its U+2581 prefix). */
static void flush(const kl_vocab *v, char *buf, size_t *m, kl_toks *out) {
  word(v, buf, *m, out);
  *m = 3;
}

bool kl_wpm_tokenize(const kl_vocab *v, const char *s, size_t n, kl_toks *out) {
  char *buf = ku_malloc(4 * n + 8);
  if (!buf) { out->oom = true; return false; }
  memcpy(buf, KL_SPACE_ESC, 3);
  size_t m = 3;
  bool ok = true;
  const uint8_t *p = (const uint8_t *)s, *end = p + n;
  for (size_t k = 0; p < end && ok; k++) {
    if (k % 4096 == 4095 && kl_toks_late(out)) { ok = false; break; }
    uint32_t c = next_cpt(&p, end);
    if (v->strip_accents) c = kl_ucd_nfd_first(c);
    unsigned f = kl_ucd_flags(c);
    if (f & KL_UC_WHITESPACE) { flush(v, buf, &m, out); if (out->late) { ok = false; break; } continue; }
    if (c == 0 || c == 0xfffd || (f & KL_UC_CONTROL)) continue;
    if (v->strip_accents && (f & KL_UC_MARK)) continue;
    uint32_t lc = v->lowercase ? kl_ucd_lower(c) : c;
    if (lc > 0x10ffff) { ok = false; break; }   /* llama.cpp throws here */
    if ((f & KL_UC_PUNCT) || (c < 0x7f && (f & KL_UC_SYMBOL)) || is_chinese(c)) {
      flush(v, buf, &m, out);
      put_utf8(buf, &m, lc);
      flush(v, buf, &m, out);
    } else {
      put_utf8(buf, &m, lc);
    }
  }
  if (ok) flush(v, buf, &m, out);
  ku_free(buf);
  return ok && !out->late;
}
