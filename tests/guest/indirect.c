/*
** tests/guest/indirect.c -- guest program: indirect calls.
** Owns: function pointer tables, qsort/bsearch with comparators, a
** struct of callbacks (vtable style), and a function-pointer state machine.
** Does not own: comparing outputs (tests/guest/run.sh does that).
** Comparators define a total order so unstable sorts agree across libcs.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int32_t (*binop)(int32_t, int32_t);
static int32_t op_add(int32_t a, int32_t b) { return a + b; }
static int32_t op_sub(int32_t a, int32_t b) { return a - b; }
static int32_t op_mul(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }
static int32_t op_xor(int32_t a, int32_t b) { return a ^ b; }
static int32_t op_min(int32_t a, int32_t b) { return a < b ? a : b; }
static binop table[] = {op_add, op_sub, op_mul, op_xor, op_min};

static int cmp_int(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}
static int cmp_int_desc(const void *a, const void *b) { return cmp_int(b, a); }

struct rec { char name[12]; int score; };
static int cmp_rec(const void *a, const void *b) {
  const struct rec *x = a, *y = b;
  if (x->score != y->score) return y->score - x->score;
  return strcmp(x->name, y->name);
}
static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

struct shape_ops { const char *(*name)(void); int (*area)(int); };
static const char *sq_name(void) { return "square"; }
static int sq_area(int s) { return s * s; }
static const char *tri_name(void) { return "triangle"; }
static int tri_area(int s) { return s * s / 2; }
static const struct shape_ops shapes[] = {{sq_name, sq_area}, {tri_name, tri_area}};

typedef struct state state;
struct state { state *(*step)(char c, int *count); };
static state s_word, s_space;
static state *in_word(char c, int *count) { (void)count; return c == ' ' ? &s_space : &s_word; }
static state *in_space(char c, int *count) {
  if (c == ' ') return &s_space;
  ++*count;
  return &s_word;
}
static state s_word = {in_word}, s_space = {in_space};

int main(void) {
  uint32_t seed = 12345;
  int32_t acc = 7;
  for (int i = 0; i < 100000; i++) {
    seed = seed * 1103515245u + 12345u;
    acc = table[(seed >> 16) % 5](acc, (int32_t)(seed >> 8) & 0xFFFF);
  }
  printf("table acc=%d\n", acc);

  enum { N = 5000 };
  static int32_t arr[N];
  for (int i = 0; i < N; i++) { seed = seed * 1103515245u + 12345u; arr[i] = (int32_t)(seed >> 3) % 100000 - 50000; }
  qsort(arr, N, sizeof arr[0], cmp_int);
  int sorted = 1;
  for (int i = 1; i < N; i++) sorted &= arr[i - 1] <= arr[i];
  printf("qsort asc: sorted=%d min=%d med=%d max=%d\n", sorted, arr[0], arr[N / 2], arr[N - 1]);
  int32_t key = arr[1234];
  int32_t *hit = bsearch(&key, arr, N, sizeof arr[0], cmp_int);
  printf("bsearch found=%d value=%d\n", hit != NULL, hit ? *hit : 0);
  qsort(arr, N, sizeof arr[0], cmp_int_desc);
  printf("qsort desc: first=%d last=%d\n", arr[0], arr[N - 1]);

  struct rec recs[] = {{"carol", 90}, {"alice", 95}, {"bob", 90}, {"dave", 70},
                       {"eve", 95}, {"frank", 70}, {"grace", 100}};
  qsort(recs, 7, sizeof recs[0], cmp_rec);
  for (int i = 0; i < 7; i++) printf("%s:%d ", recs[i].name, recs[i].score);
  printf("\n");
  const char *words[] = {"pear", "apple", "fig", "banana", "cherry", "date", "apricot"};
  qsort(words, 7, sizeof words[0], cmp_str);
  for (int i = 0; i < 7; i++) printf("%s ", words[i]);
  printf("\n");

  for (int i = 0; i < 2; i++) printf("%s area(7)=%d\n", shapes[i].name(), shapes[i].area(7));

  const char *text = "  the quick  brown fox jumps over   the lazy dog ";
  state *st = &s_space;
  int words_n = 0;
  for (const char *c = text; *c; c++) st = st->step(*c, &words_n);
  printf("words=%d\n", words_n);
  return 0;
}
