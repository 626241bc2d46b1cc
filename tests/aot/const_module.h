/*
** tests/aot/const_module.h -- the small module test_deferred.c and
** test_memo.c load: "f" (-> i32) returning a constant, or its invalid twin.
*/
#ifndef TESTS_AOT_CONST_MODULE_H
#define TESTS_AOT_CONST_MODULE_H
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* A module exporting "f" (-> i32) returning k, or (bad) the same bytes
** with i64.const in place of i32.const: a body that is not valid. */
static size_t module(uint8_t *b, int32_t k, bool bad) {
  static const uint8_t head[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f,
                                 3, 2, 1, 0, 7, 5, 1, 1, 'f', 0, 0, 10, 10, 1, 8, 0};
  size_t n = sizeof head;
  memcpy(b, head, n);
  b[n++] = bad ? 0x42 : 0x41;
  for (int i = 0; i < 4; i++) b[n++] = (uint8_t)(((uint32_t)k >> (7 * i)) & 0x7f) | 0x80;
  b[n++] = 0;  /* 5-byte LEB128 of k (k < 2^28) */
  b[n++] = 0x0b;
  return n;
}

#endif
