/*
** tests/guest/malloc.c -- guest program: heap-heavy code.
** Owns: linked lists, random alloc/free with content checks, realloc
** growth, calloc zeroing, strdup, a hash table with chaining.
** Does not own: comparing outputs (tests/guest/run.sh does that).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
/* xorshift64*: same sequence on every libc. */
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

struct node { struct node *next; uint32_t value; };

static void linked_list(void) {
  struct node *head = NULL;
  for (uint32_t i = 0; i < 200000; i++) {
    struct node *n = malloc(sizeof *n);
    if (!n) { printf("malloc failed\n"); exit(1); }
    n->value = i * 2654435761u;
    n->next = head;
    head = n;
  }
  struct node *rev = NULL;            /* reverse in place */
  while (head) { struct node *nx = head->next; head->next = rev; rev = head; head = nx; }
  uint32_t sum = 0, count = 0, first = rev->value;
  for (struct node *n = rev; n; n = n->next) { sum ^= n->value + count; count++; }
  while (rev) { struct node *nx = rev->next; free(rev); rev = nx; }
  printf("list: count=%u first=%u xsum=%u\n", count, first, sum);
}

static void random_alloc_free(void) {
  enum { SLOTS = 1024 };
  static unsigned char *slot[SLOTS];
  static size_t size[SLOTS];
  uint64_t checksum = 0, allocs = 0, bad = 0;
  for (int round = 0; round < 300000; round++) {
    uint64_t r = rng();
    int i = (int)(r % SLOTS);
    if (slot[i]) {
      for (size_t k = 0; k < size[i]; k++)
        if (slot[i][k] != (unsigned char)(i + k)) bad++;
      checksum += size[i];
      if ((r >> 20) & 1) {
        size_t ns = (size_t)((r >> 32) % 4000) + 1;
        unsigned char *p = realloc(slot[i], ns);
        if (!p) { printf("realloc failed\n"); exit(1); }
        for (size_t k = size[i]; k < ns; k++) p[k] = (unsigned char)(i + k);
        slot[i] = p; size[i] = ns;
        continue;
      }
      free(slot[i]);
      slot[i] = NULL;
    } else {
      size_t n = (r >> 40) & 1 ? (size_t)((r >> 24) % 64) + 1 : (size_t)((r >> 24) % 20000) + 1;
      slot[i] = malloc(n);
      if (!slot[i]) { printf("malloc failed\n"); exit(1); }
      for (size_t k = 0; k < n; k++) slot[i][k] = (unsigned char)(i + k);
      size[i] = n;
      allocs++;
    }
  }
  for (int i = 0; i < SLOTS; i++) free(slot[i]);
  printf("random: allocs=%llu checksum=%llu bad=%llu\n",
         (unsigned long long)allocs, (unsigned long long)checksum, (unsigned long long)bad);
}

static void realloc_growth(void) {
  size_t cap = 16, len = 0;
  char *buf = malloc(cap);
  uint32_t h = 2166136261u;
  while (len < (8u << 20)) {
    if (len == cap) {
      cap *= 2;
      char *nb = realloc(buf, cap);
      if (!nb) { printf("realloc failed at %zu\n", cap); exit(1); }
      buf = nb;
    }
    buf[len] = (char)('a' + len % 26);
    len++;
  }
  for (size_t i = 0; i < len; i += 4097) h = (h ^ (unsigned char)buf[i]) * 16777619u;
  buf = realloc(buf, 100);       /* shrink keeps the prefix */
  printf("realloc: len=%u hash=%u prefix=%.10s\n", (unsigned)len, h, buf);
  free(buf);
}

static void calloc_and_strdup(void) {
  uint32_t nonzero = 0;
  for (int i = 0; i < 50; i++) {
    uint32_t *p = calloc(1000 + i * 100, sizeof *p);
    for (int k = 0; k < 1000 + i * 100; k++) nonzero += p[k] != 0;
    memset(p, 0xAB, (1000 + i * 100) * sizeof *p);
    free(p);
  }
  char *s = strdup("the quick brown fox");
  char *t = malloc(strlen(s) * 3 + 1);
  strcpy(t, s); strcat(t, s); strcat(t, s);
  printf("calloc: nonzero=%u strdup=%s len=%u\n", nonzero, s, (unsigned)strlen(t));
  free(s); free(t);
}

struct entry { struct entry *next; char *key; int count; };

static void hash_table(void) {
  enum { BUCKETS = 4099 };
  struct entry **tab = calloc(BUCKETS, sizeof *tab);
  char key[32];
  int distinct = 0;
  for (int i = 0; i < 100000; i++) {
    snprintf(key, sizeof key, "k%llu", (unsigned long long)(rng() % 20000));
    uint32_t h = 5381;
    for (char *c = key; *c; c++) h = h * 33 + (unsigned char)*c;
    struct entry **pp = &tab[h % BUCKETS];
    while (*pp && strcmp((*pp)->key, key) != 0) pp = &(*pp)->next;
    if (!*pp) {
      *pp = calloc(1, sizeof **pp);
      (*pp)->key = strdup(key);
      distinct++;
    }
    (*pp)->count++;
  }
  int maxc = 0;
  for (int b = 0; b < BUCKETS; b++)
    for (struct entry *e = tab[b], *nx; e; e = nx) {
      nx = e->next;
      if (e->count > maxc) maxc = e->count;
      free(e->key); free(e);
    }
  free(tab);
  printf("hash: distinct=%d maxcount=%d\n", distinct, maxc);
}

int main(void) {
  linked_list();
  random_alloc_free();
  realloc_growth();
  calloc_and_strdup();
  hash_table();
  return 0;
}
