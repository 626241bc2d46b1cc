/*
** spm.c -- SentencePiece tokenizing as llama.cpp's llm_tokenizer_spm: UTF-8
** symbols merged pairwise by the merged token's score, what is left as byte
** tokens. Not the text's escaping or BOS (vocab.c).
*/
#include "llm/vocab_internal.h"

/* A symbol: a run of the text, linked to its live neighbours. */
typedef struct sym {
  int prev, next;
  const char *s;
  size_t n;
} sym;

/* A candidate merge of left and right into a token of this score. */
typedef struct bigram {
  int left, right;
  float score;
  size_t size;
} bigram;

/* The work queue: a binary max-heap under llama.cpp's order (higher score
** first; on a tie, the leftmost). */
typedef struct queue {
  bigram *b;
  size_t n, cap;
  bool oom;
} queue;

/* Whether a comes after b in the queue's order. */
static bool below(const bigram *a, const bigram *b) {
  return a->score < b->score || (a->score == b->score && a->left > b->left);
}

static void q_push(queue *q, bigram x) {
  if (q->n == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 64;
    bigram *b = ku_realloc(q->b, cap * sizeof *b);
    if (!b) { q->oom = true; return; }
    q->b = b;
    q->cap = cap;
  }
  size_t i = q->n++;
  for (; i > 0 && below(&q->b[(i - 1) / 2], &x); i = (i - 1) / 2) q->b[i] = q->b[(i - 1) / 2];
  q->b[i] = x;
}

static bigram q_pop(queue *q) {
  bigram top = q->b[0], x = q->b[--q->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= q->n) break;
    if (c + 1 < q->n && below(&q->b[c], &q->b[c + 1])) c++;
    if (!below(&x, &q->b[c])) break;
    q->b[i] = q->b[c];
    i = c;
  }
  q->b[i] = x;
  return top;
}

/* Queues the merge of symbols left and right when their text is a token. */
static void try_bigram(const kl_vocab *v, const sym *s, queue *q, int left, int right) {
  if (left < 0 || right < 0) return;
  size_t n = s[left].n + s[right].n;
  int32_t id = kl_vocab_find(v, s[left].s, n);
  if (id < 0) return;
  q_push(q, (bigram){ left, right, v->score[id], n });
}

/* The token of a final symbol, or its bytes as byte tokens ("<0xXX>", else
** the one-byte token, else unknown; with none of them the text cannot be
** tokenized). */
static void emit(const kl_vocab *v, const sym *x, kl_toks *out) {
  int32_t id = kl_vocab_find(v, x->s, x->n);
  if (id >= 0) { kl_toks_push(out, id); return; }
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < x->n; i++) {
    uint8_t c = (uint8_t)x->s[i];
    char b[6] = { '<', '0', 'x', hex[c >> 4], hex[c & 15], '>' };
    id = kl_vocab_find(v, b, 6);
    if (id < 0) id = kl_vocab_find(v, x->s + i, 1);
    if (id < 0) id = v->unk;
    if (id < 0) { out->bad = true; return; }
    kl_toks_push(out, id);
  }
}

/* The length of the UTF-8 sequence a lead byte starts (llama.cpp's
** unicode_len_utf8: a stray continuation byte is one). */
static size_t utf8_len(uint8_t c) {
  static const uint8_t len[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
  return len[c >> 4];
}

void kl_spm_tokenize(const kl_vocab *v, const char *s, size_t n, kl_toks *out) {
  if (!n) return;
  sym *sy = ku_malloc(n * sizeof *sy);
  queue q = { 0 };
  if (!sy) { out->oom = true; return; }
  int k = 0;
  for (size_t off = 0; off < n; k++) {
    size_t l = utf8_len((uint8_t)s[off]);
    if (l > n - off) l = n - off;
    sy[k] = (sym){ k - 1, off + l == n ? -1 : k + 1, s + off, l };
    off += l;
  }
  for (int i = 1; i < k; i++) try_bigram(v, sy, &q, i - 1, i);
  for (size_t pops = 0; q.n && !q.oom; pops++) {
    if (pops % 4096 == 4095 && kl_toks_late(out)) break;
    bigram b = q_pop(&q);
    sym *l = &sy[b.left], *r = &sy[b.right];
    if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue;
    l->n += r->n;
    r->n = 0;
    l->next = r->next;
    if (r->next >= 0) sy[r->next].prev = b.left;
    try_bigram(v, sy, &q, l->prev, b.left);
    try_bigram(v, sy, &q, b.left, l->next);
  }
  if (q.oom) out->oom = true;
  for (int i = 0; i != -1 && !out->oom && !out->late; i = sy[i].next) emit(v, &sy[i], out);
  ku_free(q.b);
  ku_free(sy);
}
