/*
** engine.c -- the inference engine as krait serve holds it: its thread
** pool, its admission queue and the models it opened (each file once,
** shared by every app), and kl_infer / kl_embed around gen.c's work.
*/
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llm/llm_internal.h"
#include "llm/model.h"
#include "llm/queue.h"
#include "util/util.h"

/* One opened model file: a file replaced at the same path (another inode,
** size or time) is opened anew; the old mapping stays until the engine
** goes, as requests of a previous reload may still use it. */
typedef struct kl_opened {
  char *path;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  kl_model *model;
} kl_opened;

struct kl_engine {
  kl_pool *pool;
  kl_queue queue;
  pthread_mutex_t lock;        /* guards models */
  kl_opened *models;
  size_t nmodels;
  uint32_t context;            /* cfg's cap on a model's context; 0: none */
};

/* The worker count cfg asks for (0: the online CPUs). */
static int kl_threads(const kl_engine_cfg *cfg) {
  long n = cfg->threads > 0 ? cfg->threads : sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

kl_engine *kl_engine_new(const kl_engine_cfg *cfg, char *err, size_t cap) {
  kl_engine *e = ku_calloc(1, sizeof *e);
  if (!e || !(e->pool = kl_pool_new(kl_threads(cfg)))) {
    snprintf(err, cap, "cannot start the inference engine: out of memory or threads");
    ku_free(e);
    return NULL;
  }
  kl_queue_init(&e->queue, cfg->max_concurrent, cfg->max_queued);
  e->context = cfg->context;
  pthread_mutex_init(&e->lock, NULL);
  return e;
}

void kl_engine_free(kl_engine *e) {
  if (!e) return;
  for (size_t i = 0; i < e->nmodels; i++) {
    kl_model_free(e->models[i].model);
    ku_free(e->models[i].path);
  }
  ku_free(e->models);
  kl_pool_free(e->pool);
  kl_queue_destroy(&e->queue);
  pthread_mutex_destroy(&e->lock);
  ku_free(e);
}

/* The model already opened from path as the file sb describes, or NULL.
** A file opened before whose inode now shows another size or time was
** written in place: its mapping (MAP_SHARED) would show requests still
** running on it new bytes through offsets checked against the old ones
** (SIGBUS when it shrank), so it is refused: *changed is set. */
static kl_model *kl_engine_find(kl_engine *e, const char *path, const struct stat *sb, bool *changed) {
  for (size_t i = 0; i < e->nmodels; i++) {
    const kl_opened *o = &e->models[i];
    if (o->dev != sb->st_dev || o->ino != sb->st_ino) continue;
    if (o->size != sb->st_size || o->mtime.tv_sec != sb->st_mtim.tv_sec ||
        o->mtime.tv_nsec != sb->st_mtim.tv_nsec) {
      *changed = true;
      return NULL;
    }
    if (!strcmp(o->path, path)) return o->model;
  }
  return NULL;
}

/* Opens path (as sb describes it) and keeps it; NULL with err. A failure
** is not remembered: the next call tries the file again (it may have been
** fixed, e.g. before a reload). */
static kl_model *kl_engine_open(kl_engine *e, const char *path, const struct stat *sb, char *err, size_t cap) {
  kl_opened *grown = ku_realloc(e->models, (e->nmodels + 1) * sizeof *grown);
  if (!grown) { snprintf(err, cap, "%s: out of memory", path); return NULL; }
  e->models = grown;
  kl_opened *o = &e->models[e->nmodels];
  *o = (kl_opened){ .path = ku_strdup(path), .dev = sb->st_dev, .ino = sb->st_ino, .size = sb->st_size,
                    .mtime = sb->st_mtim };
  if (!o->path) { snprintf(err, cap, "%s: out of memory", path); return NULL; }
  if (!(o->model = kl_model_open(path, err, cap))) { ku_free(o->path); return NULL; }
  if (e->context && o->model->n_ctx > e->context) o->model->n_ctx = e->context;   /* as llama.cpp's n_ctx */
  e->nmodels++;
  return o->model;
}

kl_model *kl_engine_model(kl_engine *e, const char *path, char *err, size_t cap) {
  struct stat sb;
  bool changed = false;
  int fd = open(path, O_RDONLY | O_CLOEXEC);   /* the identity of the file opened, not of a name */
  if (fd < 0 || fstat(fd, &sb) != 0) {
    snprintf(err, cap, "%s: cannot open the model: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return NULL;
  }
  pthread_mutex_lock(&e->lock);
  kl_model *m = kl_engine_find(e, path, &sb, &changed);
  if (changed)
    snprintf(err, cap, "%s was changed in place while krait serves it; replace model files by renaming a new "
             "file over them (cp new.gguf %s.tmp && mv %s.tmp %s)", path, path, path, path);
  else if (!m) m = kl_engine_open(e, path, &sb, err, cap);
  pthread_mutex_unlock(&e->lock);
  close(fd);   /* a file renamed over the name meanwhile is only opened anew at the next reload */
  return m;
}

/* What kl_infer and kl_chat do first: an empty result, a model that
** generates text, then a slot in the queue (left by the caller). */
static int kl_gen_admit(kl_engine *e, const kl_model *m, uint64_t deadline_ns, kl_infer_result *out,
                        char *err, size_t cap) {
  memset(out, 0, sizeof *out);
  if (!kl_model_generates(m)) {
    snprintf(err, cap, "this model does not generate text (an embedding model): use it for embeddings");
    return KL_E_MODEL;
  }
  return kl_queue_enter(&e->queue, deadline_ns, err, cap);
}

int kl_infer(kl_engine *e, kl_model *m, const char *prompt, size_t len, const kl_infer_params *p,
             uint64_t deadline_ns, kl_infer_result *out, char *err, size_t cap) {
  int rc = kl_gen_admit(e, m, deadline_ns, out, err, cap);
  if (rc != KL_OK) return rc;
  rc = kl_generate(m, e->pool, prompt, len, p, deadline_ns, out, err, cap);
  kl_queue_leave(&e->queue);
  return rc;
}

/* A chat on a local model: the slot first, then the prompt's tokens (the
** template's control tokens parsed, the messages' content as text only, so
** no message can forge a turn), then generation. Waiters hold no prompt. */
int kl_chat(kl_engine *e, kl_model *m, const kl_chat_msg *msgs, size_t n, const kl_infer_params *p,
            uint64_t deadline_ns, kl_infer_result *out, char *err, size_t cap) {
  int rc = kl_gen_admit(e, m, deadline_ns, out, err, cap);
  if (rc != KL_OK) return rc;
  int32_t *toks = NULL;
  size_t ntok = 0;
  rc = kl_chat_tokens(m, msgs, n, deadline_ns, &toks, &ntok, err, cap);
  if (rc == KL_OK) rc = kl_generate_from_tokens(m, e->pool, toks, ntok, p, deadline_ns, out, NULL, err, cap);
  ku_free(toks);
  kl_queue_leave(&e->queue);
  return rc;
}

void kl_result_free(kl_infer_result *r) {
  if (!r) return;
  ku_free(r->text);
  r->text = NULL;
  r->text_len = 0;
}

int kl_embed(kl_engine *e, kl_model *m, const char *const *texts, const size_t *lens, size_t n,
             uint64_t deadline_ns, float **out, uint32_t *prompt_tokens, char *err, size_t cap) {
  *out = NULL;
  *prompt_tokens = 0;
  if (!kl_model_embeds(m)) {
    snprintf(err, cap, "this model does not make embeddings (a text generation model): use an "
             "embedding model (BERT architecture)");
    return KL_E_MODEL;
  }
  int rc = kl_queue_enter(&e->queue, deadline_ns, err, cap);  /* then memory: waiters hold none */
  if (rc != KL_OK) return rc;
  size_t dim = kl_model_dim(m);
  float *v = n && dim && n <= SIZE_MAX / dim / sizeof *v ? ku_malloc(n * dim * sizeof *v) : NULL;
  if (n && !v) {
    snprintf(err, cap, "out of memory for %zu embeddings of %zu floats", n, dim);
    rc = KL_E_NOMEM;
  } else {
    rc = kl_embed_texts(m, e->pool, texts, lens, n, deadline_ns, v, prompt_tokens, err, cap);
  }
  kl_queue_leave(&e->queue);
  if (rc != KL_OK) { ku_free(v); return rc; }
  *out = v;
  return KL_OK;
}
