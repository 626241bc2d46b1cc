/*
** chat.c -- chat prompts: the template a GGUF's tokenizer.chat_template
** names, detected and applied as llama.cpp's llm_chat_detect_template and
** llm_chat_apply_template do (chatml without one). Not tokenizing them.
*/
#include "llm/llm_internal.h"
#include "util/util.h"

#include <ctype.h>
#include <string.h>

typedef enum tmpl {
  T_UNKNOWN, T_CHATML, T_PHI4, T_SMOLVLM, T_LLAMA2, T_LLAMA2_SYS,
  T_LLAMA2_SYS_BOS, T_LLAMA2_SYS_STRIP, T_MISTRAL_V1, T_MISTRAL_V3,
  T_MISTRAL_V3_TEKKEN, T_MISTRAL_V7, T_MISTRAL_V7_TEKKEN, T_PHI3,
  T_FALCON3, T_ZEPHYR, T_MONARCH, T_GEMMA, T_LLAMA3, T_OTHER
} tmpl;

/* llama.cpp's template names (a chat_template may be just a name). */
static const struct { const char *name; tmpl t; } names[] = {
  { "chatml", T_CHATML }, { "llama2", T_LLAMA2 }, { "llama2-sys", T_LLAMA2_SYS },
  { "llama2-sys-bos", T_LLAMA2_SYS_BOS }, { "llama2-sys-strip", T_LLAMA2_SYS_STRIP },
  { "mistral-v1", T_MISTRAL_V1 }, { "mistral-v3", T_MISTRAL_V3 },
  { "mistral-v3-tekken", T_MISTRAL_V3_TEKKEN }, { "mistral-v7", T_MISTRAL_V7 },
  { "mistral-v7-tekken", T_MISTRAL_V7_TEKKEN }, { "phi3", T_PHI3 }, { "phi4", T_PHI4 },
  { "falcon3", T_FALCON3 }, { "zephyr", T_ZEPHYR }, { "monarch", T_MONARCH },
  { "gemma", T_GEMMA }, { "llama3", T_LLAMA3 },
};

/* The template text [s, s+n). */
typedef struct text {
  const char *s;
  size_t n;
} text;

static bool has(text t, const char *needle) {
  return memmem(t.s, t.n, needle, strlen(needle)) != NULL;
}

/* The mistral and llama2 family ([INST]). */
static tmpl detect_inst(text t) {
  if (has(t, "[SYSTEM_PROMPT]")) return T_MISTRAL_V7;
  if (has(t, "' [INST] ' + system_message") || has(t, "[AVAILABLE_TOOLS]")) {
    if (has(t, " [INST]")) return T_MISTRAL_V1;
    if (has(t, "\"[INST]\"")) return T_MISTRAL_V3_TEKKEN;
    return T_MISTRAL_V3;
  }
  if (has(t, "content.strip()")) return T_LLAMA2_SYS_STRIP;
  if (has(t, "bos_token + '[INST]")) return T_LLAMA2_SYS_BOS;
  if (has(t, "<<SYS>>")) return T_LLAMA2_SYS;
  return T_LLAMA2;
}

/* llm_chat_detect_template's decision, in its order, for the templates
** krait applies; the ones it detects before those are T_OTHER. */
static tmpl detect(text t) {
  for (size_t i = 0; i < KU_COUNT(names); i++)
    if (strlen(names[i].name) == t.n && !memcmp(names[i].name, t.s, t.n)) return names[i].t;
  if (has(t, "<|im_start|>"))
    return has(t, "<|im_sep|>") ? T_PHI4 : has(t, "<end_of_utterance>") ? T_SMOLVLM : T_CHATML;
  if ((t.n >= 7 && !memcmp(t.s, "mistral", 7)) || has(t, "[INST]")) return detect_inst(t);
  if (has(t, "<|assistant|>") && has(t, "<|end|>")) return T_PHI3;
  if (has(t, "[gMASK]<sop>")) return T_OTHER;
  if (has(t, "<|assistant|>") && has(t, "<|user|>"))
    return has(t, "<|tool_declare|>") ? T_OTHER : has(t, "</s>") ? T_FALCON3 : T_OTHER;
  if (has(t, "<|{{ item['role'] }}|>") && has(t, "<|begin_of_image|>")) return T_OTHER;
  if (has(t, "<|user|>") && has(t, "<|endoftext|>")) return T_ZEPHYR;
  if (has(t, "bos_token + message['role']")) return T_MONARCH;
  if (has(t, "<start_of_turn>")) return T_GEMMA;
  if (has(t, "'\\n\\nAssistant: ' + eos_token") || has(t, "GPT4 Correct ") ||
      (has(t, "USER: ") && has(t, "ASSISTANT: ")) ||
      (has(t, "### Instruction:") && has(t, "<|EOT|>")) ||
      (has(t, "<|START_OF_TURN_TOKEN|>") && has(t, "<|USER_TOKEN|>")))
    return T_OTHER;
  if (has(t, "<|start_header_id|>") && has(t, "<|end_header_id|>")) return T_LLAMA3;
  return T_UNKNOWN;
}

/* ---- building the prompt --------------------------------------------- */

typedef struct out {
  char *p;
  size_t n, cap;
  bool oom;
  kl_span *sp;          /* the messages' text in p */
  size_t nsp, spcap;
} out;

static void add(out *o, const char *s, size_t n) {
  if (o->oom) return;
  if (o->n + n + 1 > o->cap) {
    size_t cap = (o->n + n + 1) * 2;
    char *p = ku_realloc(o->p, cap);
    if (!p) { o->oom = true; return; }
    o->p = p;
    o->cap = cap;
  }
  memcpy(o->p + o->n, s, n);
  o->n += n;
  o->p[o->n] = 0;
}

static void adds(out *o, const char *s) { add(o, s, strlen(s)); }

/* Adds a message's text, noting where it is. */
static void add_plain(out *o, const char *s, size_t n) {
  if (o->oom || !n) return;
  if (o->nsp == o->spcap) {
    size_t cap = o->spcap ? 2 * o->spcap : 16;
    kl_span *sp = ku_realloc(o->sp, cap * sizeof *sp);
    if (!sp) { o->oom = true; return; }
    o->sp = sp;
    o->spcap = cap;
  }
  o->sp[o->nsp++] = (kl_span){ o->n, n };
  add(o, s, n);
}

/* Adds a message's content, trimmed of ASCII spaces when trim is set. */
static void content(out *o, const kl_chat_msg *m, bool trim) {
  const char *s = m->content;
  size_t n = m->content_len;
  while (trim && n && isspace((unsigned char)s[0])) { s++; n--; }
  while (trim && n && isspace((unsigned char)s[n - 1])) n--;
  add_plain(o, s, n);
}

static bool is(const kl_chat_msg *m, const char *role) { return !strcmp(m->role, role); }

/* chatml, phi3, phi4, falcon3, zephyr, llama3: one frame per message. */
static void framed(out *o, tmpl t, const kl_chat_msg *msgs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const kl_chat_msg *m = &msgs[i];
    switch (t) {
    case T_CHATML: adds(o, "<|im_start|>"); adds(o, m->role); adds(o, "\n"); content(o, m, false); adds(o, "<|im_end|>\n"); break;
    case T_PHI4: adds(o, "<|im_start|>"); adds(o, m->role); adds(o, "<|im_sep|>"); content(o, m, false); adds(o, "<|im_end|>"); break;
    case T_PHI3: adds(o, "<|"); adds(o, m->role); adds(o, "|>\n"); content(o, m, false); adds(o, "<|end|>\n"); break;
    case T_FALCON3: adds(o, "<|"); adds(o, m->role); adds(o, "|>\n"); content(o, m, false); adds(o, "\n"); break;
    case T_ZEPHYR: adds(o, "<|"); adds(o, m->role); adds(o, "|>\n"); content(o, m, false); adds(o, "<|endoftext|>\n"); break;
    case T_MONARCH: if (i) adds(o, "<s>"); adds(o, m->role); adds(o, "\n"); content(o, m, false); adds(o, "</s>\n"); break;
    default: adds(o, "<|start_header_id|>"); adds(o, m->role); adds(o, "<|end_header_id|>\n\n"); content(o, m, true); adds(o, "<|eot_id|>"); break;
    }
  }
  adds(o, t == T_CHATML ? "<|im_start|>assistant\n" : t == T_PHI4 ? "<|im_start|>assistant<|im_sep|>"
       : t == T_MONARCH ? "<s>assistant\n" : t == T_LLAMA3 ? "<|start_header_id|>assistant<|end_header_id|>\n\n"
       : "<|assistant|>\n");
}

/* Llama 2 and its variants: [INST] turns, <<SYS>> where supported. */
static void llama2(out *o, tmpl t, const kl_chat_msg *msgs, size_t n) {
  bool inside = true, strip = t == T_LLAMA2_SYS_STRIP;
  adds(o, "[INST] ");
  for (size_t i = 0; i < n; i++) {
    const kl_chat_msg *m = &msgs[i];
    if (!inside) { inside = true; adds(o, t == T_LLAMA2_SYS_BOS ? "<s>[INST] " : "[INST] "); }
    if (is(m, "system")) {
      adds(o, t != T_LLAMA2 ? "<<SYS>>\n" : "");
      content(o, m, strip);
      adds(o, t != T_LLAMA2 ? "\n<</SYS>>\n\n" : "\n");
    } else if (is(m, "user")) {
      content(o, m, strip);
      adds(o, " [/INST]");
    } else {
      content(o, m, strip);
      adds(o, "</s>");
      inside = false;
    }
  }
}

/* Mistral v1/v3/v3-tekken ([INST] with its spacing) and v7. */
static void mistral(out *o, tmpl t, const kl_chat_msg *msgs, size_t n) {
  if (t == T_MISTRAL_V7 || t == T_MISTRAL_V7_TEKKEN) {
    const char *sp = t == T_MISTRAL_V7 ? " " : "";
    for (size_t i = 0; i < n; i++) {
      const kl_chat_msg *m = &msgs[i];
      if (is(m, "system")) { adds(o, "[SYSTEM_PROMPT]"); adds(o, sp); content(o, m, false); adds(o, "[/SYSTEM_PROMPT]"); }
      else if (is(m, "user")) { adds(o, "[INST]"); adds(o, sp); content(o, m, false); adds(o, "[/INST]"); }
      else { adds(o, sp); content(o, m, false); adds(o, "</s>"); }
    }
    return;
  }
  const char *lead = t == T_MISTRAL_V1 ? " " : "", *trail = t == T_MISTRAL_V3_TEKKEN ? "" : " ";
  bool inside = false;
  for (size_t i = 0; i < n; i++) {
    const kl_chat_msg *m = &msgs[i];
    if (!inside) { adds(o, lead); adds(o, "[INST]"); adds(o, trail); inside = true; }
    if (is(m, "system")) { content(o, m, false); adds(o, "\n\n"); }
    else if (is(m, "user")) { content(o, m, false); adds(o, lead); adds(o, "[/INST]"); }
    else { adds(o, trail); content(o, m, t == T_MISTRAL_V3); adds(o, "</s>"); inside = false; }
  }
}

/* Gemma: turns of user and model, the system text merged into the next
** user turn. */
static void gemma(out *o, const kl_chat_msg *msgs, size_t n) {
  out sys = { 0 };
  for (size_t i = 0; i < n; i++) {
    const kl_chat_msg *m = &msgs[i];
    if (is(m, "system")) { content(&sys, m, true); continue; }
    bool model = is(m, "assistant");
    adds(o, "<start_of_turn>");
    adds(o, model ? "model" : m->role);
    adds(o, "\n");
    if (sys.n && !model) { add_plain(o, sys.p, sys.n); adds(o, "\n\n"); sys.n = 0; }
    content(o, m, true);
    adds(o, "<end_of_turn>\n");
  }
  if (sys.oom) o->oom = true;
  ku_free(sys.p);
  ku_free(sys.sp);
  adds(o, "<start_of_turn>model\n");
}

/* Roles are system, user or assistant, with content. */
static bool check_msgs(const kl_chat_msg *msgs, size_t n, char *err, size_t cap) {
  if (n == 0) { ku_fmt(err, cap, "a chat needs at least one message"); return false; }
  for (size_t i = 0; i < n; i++) {
    const kl_chat_msg *m = &msgs[i];
    if (!m->role || (!is(m, "system") && !is(m, "user") && !is(m, "assistant"))) {
      ku_fmt(err, cap, "message %zu has role '%s' (system, user or assistant)", i,
             m->role ? m->role : "(none)");
      return false;
    }
    if (!m->content && m->content_len) {
      ku_fmt(err, cap, "message %zu has no content", i);
      return false;
    }
  }
  return true;
}

/* The prompt for msgs under the template [tmpl_text, +tlen) in *o (with
** where each message's text is); KL_OK, or KL_E_INPUT/KL_E_NOMEM with err. */
static int render(const char *tmpl_text, size_t tlen, const kl_chat_msg *msgs, size_t n,
                   out *o, char *err, size_t cap) {
  if (!check_msgs(msgs, n, err, cap)) return KL_E_INPUT;
  text tx = { tmpl_text ? tmpl_text : "chatml", tmpl_text ? tlen : 6 };
  tmpl t = detect(tx);
  if (t == T_UNKNOWN || t == T_OTHER || t == T_SMOLVLM) {
    ku_fmt(err, cap, "the model's chat template is not one krait applies (chatml, llama2, "
           "mistral, phi3, phi4, falcon3, zephyr, monarch, gemma, llama3): '%.*s'",
           (int)(tx.n > 60 ? 60 : tx.n), tx.s);
    return KL_E_INPUT;
  }
  if (t >= T_LLAMA2 && t <= T_LLAMA2_SYS_STRIP) llama2(o, t, msgs, n);
  else if (t >= T_MISTRAL_V1 && t <= T_MISTRAL_V7_TEKKEN) mistral(o, t, msgs, n);
  else if (t == T_GEMMA) gemma(o, msgs, n);
  else framed(o, t, msgs, n);
  if (o->oom || !o->p) {
    ku_free(o->p);
    ku_free(o->sp);
    ku_fmt(err, cap, "out of memory for the chat prompt");
    return KL_E_NOMEM;
  }
  return KL_OK;
}

char *kl_chat_apply(const char *tmpl_text, size_t tlen, const kl_chat_msg *msgs,
                    size_t n, size_t *len, char *err, size_t cap) {
  out o = { 0 };
  if (render(tmpl_text, tlen, msgs, n, &o, err, cap) != KL_OK) return NULL;
  ku_free(o.sp);
  *len = o.n;
  return o.p;
}

/* The model's tokenizer.chat_template, or NULL (chatml). */
static const char *model_template(const kl_model *m, size_t *tlen) {
  kl_str t;
  *tlen = 0;
  if (!kl_gguf_str(kl_model_gguf(m), "tokenizer.chat_template", &t)) return NULL;
  *tlen = (size_t)t.n;
  return t.s;
}

char *kl_chat_prompt(const kl_model *m, const kl_chat_msg *msgs, size_t n,
                     size_t *len, char *err, size_t cap) {
  size_t tlen;
  const char *t = model_template(m, &tlen);
  return kl_chat_apply(t, tlen, msgs, n, len, err, cap);
}

int kl_chat_tokens(const kl_model *m, const kl_chat_msg *msgs, size_t n,
                   uint64_t deadline_ns, int32_t **toks, size_t *ntok, char *err,
                   size_t cap) {
  size_t tlen;
  const char *t = model_template(m, &tlen);
  out o = { 0 };
  *toks = NULL;
  *ntok = 0;
  int rc;
  for (size_t i = 0; i < n; i++) {
    if (!msgs[i].content) continue;
    if (!ku_utf8_valid((const uint8_t *)msgs[i].content, msgs[i].content_len)) {
      ku_fmt(err, cap, "message %zu is not valid UTF-8", i);
      return KL_E_INPUT;
    }
    rc = kl_vocab_fits(kl_model_vocab(m), msgs[i].content, msgs[i].content_len, kl_model_ctx(m),
                       err, cap);
    if (rc != KL_OK) return rc;   /* before the prompt is built */
  }
  rc = render(t, tlen, msgs, n, &o, err, cap);
  if (rc != KL_OK) return rc;
  rc = kl_vocab_fits(kl_model_vocab(m), o.p, o.n, kl_model_ctx(m), err, cap);
  if (rc == KL_OK)
    rc = kl_tokenize_chat(kl_model_vocab(m), o.p, o.n, o.sp, o.nsp, deadline_ns, toks,
                          ntok, err, cap);
  ku_free(o.p);
  ku_free(o.sp);
  return rc;
}
