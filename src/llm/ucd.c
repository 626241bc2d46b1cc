/*
** ucd.c -- the Unicode character data WordPiece reads (general category,
** White_Space, simple lowercase, NFD), from ICU as llama.cpp's tables are
** from UnicodeData.txt. Not the tokenizers' logic (wpm.c).
*/
#include "llm/vocab_internal.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/utf16.h>

unsigned kl_ucd_flags(uint32_t c) {
  if (c > 0x10ffff) return 0;
  unsigned f = u_isUWhiteSpace((UChar32)c) ? KL_UC_WHITESPACE : 0;
  uint32_t m = U_GET_GC_MASK((UChar32)c);
  if (m & U_GC_C_MASK & ~U_GC_CN_MASK) f |= KL_UC_CONTROL;
  if (m & U_GC_P_MASK) f |= KL_UC_PUNCT;
  if (m & U_GC_S_MASK) f |= KL_UC_SYMBOL;
  if (m & U_GC_M_MASK) f |= KL_UC_MARK;
  return f;
}

uint32_t kl_ucd_lower(uint32_t c) {
  return c > 0x10ffff ? c : (uint32_t)u_tolower((UChar32)c);
}

/* ICU's NFD decomposition of c, first code point; c when it has none or
** ICU cannot answer. */
uint32_t kl_ucd_nfd_first(uint32_t c) {
  if (c < 0xc0 || c > 0x10ffff) return c;   /* nothing below U+00C0 decomposes */
  UErrorCode e = U_ZERO_ERROR;
  const UNormalizer2 *nfd = unorm2_getNFDInstance(&e);
  if (U_FAILURE(e)) return c;
  UChar buf[32];
  int32_t n = unorm2_getDecomposition(nfd, (UChar32)c, buf, 32, &e);
  if (U_FAILURE(e) || n <= 0) return c;
  UChar32 first;
  int32_t i = 0;
  U16_NEXT(buf, i, n, first);
  return (uint32_t)first;
}
