/*
** examples/wordfreq.c -- counts words on standard input and prints the
** most frequent ones. usage: wordfreq [TOP] < text   (default TOP 10)
** Words are runs of letters, compared case-insensitively.
** Built for wasm32-wasi by `make demo` and run with `krait run`.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct word { char *text; int count; struct word *next; } word;

enum { BUCKETS = 4096 };
static word *table[BUCKETS];
static int distinct;

/* FNV-1a hash of s. */
static unsigned hash(const char *s) {
  unsigned h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* Adds one occurrence of s. */
static void count(const char *s) {
  word **p = &table[hash(s) % BUCKETS];
  for (; *p; p = &(*p)->next)
    if (strcmp((*p)->text, s) == 0) { (*p)->count++; return; }
  word *w = malloc(sizeof *w);
  w->text = strdup(s);
  w->count = 1;
  w->next = NULL;
  *p = w;
  distinct++;
}

/* Most frequent first, then alphabetical. */
static int by_count(const void *a, const void *b) {
  const word *x = *(word *const *)a, *y = *(word *const *)b;
  if (x->count != y->count) return y->count - x->count;
  return strcmp(x->text, y->text);
}

int main(int argc, char **argv) {
  int top = argc > 1 ? atoi(argv[1]) : 10;
  char buf[64];
  int len = 0, c;
  long words = 0;
  while ((c = getchar()) != EOF) {
    if (isalpha(c)) {
      if (len < (int)sizeof buf - 1) buf[len++] = (char)tolower(c);
    } else if (len) {
      buf[len] = 0; count(buf); words++; len = 0;
    }
  }
  if (len) { buf[len] = 0; count(buf); words++; }
  word **all = malloc((size_t)(distinct ? distinct : 1) * sizeof *all);
  int n = 0;
  for (int b = 0; b < BUCKETS; b++)
    for (word *w = table[b]; w; w = w->next) all[n++] = w;
  qsort(all, (size_t)n, sizeof *all, by_count);
  printf("%ld words, %d distinct\n", words, distinct);
  for (int i = 0; i < n && i < top; i++) printf("%7d  %s\n", all[i]->count, all[i]->text);
  return 0;
}
