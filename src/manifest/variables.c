/*
** variables.c -- the manifest's variables at serve time: names, the
** {{ name }} templates of [app.variables], and each value resolved from
** the environment, a --variables-file or the default. Not the schema
** of [variables] (manifest.c) or handing values to apps (src/app).
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest/manifest.h"
#include "manifest/toml.h"
#include "util/util.h"

/* The prefix of a variable's environment name (KRAIT_VARIABLE_API_KEY). */
#define KM_VAR_ENV "KRAIT_VARIABLE_"

/* The largest --variables-file krait reads. */
enum { KM_VARFILE_MAX = 1 << 20 };

bool km_var_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 64 || name[0] < 'a' || name[0] > 'z' || name[n - 1] == '_' || strstr(name, "__"))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
      return false;
  return true;
}

int km_var_find(const km_manifest *m, const char *name, size_t n) {
  for (int i = 0; i < m->nvars; i++)
    if (strlen(m->vars[i].name) == n && memcmp(m->vars[i].name, name, n) == 0) return i;
  return -1;
}

/* One piece of a template: literal text, or a reference. */
typedef struct km_piece {
  const char *text;            /* literal: its bytes; reference: the name */
  size_t len;
  bool ref;
} km_piece;

/* The piece of t at *pos (advanced past it); false at the end. A "{{"
** without "}}" or with a bad name inside is a reference of len 0 with
** text pointing at the "{{" (km_template_check refuses it). */
static bool km_next_piece(const char *t, size_t *pos, km_piece *p) {
  const char *s = t + *pos, *open = strstr(s, "{{");
  if (!*s) return false;
  if (open != s) {
    size_t n = open ? (size_t)(open - s) : strlen(s);
    *p = (km_piece){ s, n, false };
    *pos += n;
    return true;
  }
  const char *close = strstr(s + 2, "}}");
  if (!close) {
    *p = (km_piece){ s, 0, true };
    *pos += strlen(s);
    return true;
  }
  const char *a = s + 2, *b = close;
  while (a < b && (*a == ' ' || *a == '\t')) a++;
  while (b > a && (b[-1] == ' ' || b[-1] == '\t')) b--;
  *p = (km_piece){ a, (size_t)(b - a), true };
  *pos = (size_t)(close + 2 - t);
  return true;
}

bool km_template_dynamic(const char *t) { return strstr(t, "{{") != NULL; }

const char *km_template_check(const km_manifest *m, const char *t, char *why, size_t n) {
  km_piece p;
  for (size_t pos = 0; km_next_piece(t, &pos, &p);) {
    if (!p.ref) continue;
    char name[80];
    snprintf(name, sizeof name, "%.*s", (int)(p.len < 70 ? p.len : 70), p.text);
    if (p.len == 0 && strncmp(p.text, "{{", 2) == 0 && !strstr(p.text, "}}"))
      snprintf(why, n, "has a \"{{\" without its \"}}\"");
    else if (p.len > 64 || strlen(name) != p.len || !km_var_name_ok(name))
      snprintf(why, n, "refers to \"%s\", which is not a variable name (lower-case letters, digits "
               "and '_', starting with a letter)", name);
    else if (km_var_find(m, p.text, p.len) < 0)
      snprintf(why, n, "refers to variable \"%s\", which the [variables] table does not declare", name);
    else
      continue;
    return why;
  }
  return NULL;
}

bool km_template_uses(const km_manifest *m, const char *t, int v) {
  km_piece p;
  for (size_t pos = 0; km_next_piece(t, &pos, &p);) {
    int i = p.ref ? km_var_find(m, p.text, p.len) : -1;
    if (i >= 0 && (v < 0 ? m->vars[i].secret : i == v)) return true;
  }
  return false;
}

char *km_template_expand(const km_manifest *m, const char *t, char *const *values) {
  km_piece p;
  size_t len = 0;
  for (size_t pos = 0; km_next_piece(t, &pos, &p);) {
    int i = p.ref ? km_var_find(m, p.text, p.len) : -1;
    len += i >= 0 ? strlen(values[i]) : p.ref ? 0 : p.len;
  }
  char *out = ku_malloc(len + 1), *o = out;
  for (size_t pos = 0; out && km_next_piece(t, &pos, &p);) {
    int i = p.ref ? km_var_find(m, p.text, p.len) : -1;
    const char *s = i >= 0 ? values[i] : p.text;
    size_t n = i >= 0 ? strlen(values[i]) : p.ref ? 0 : p.len;
    memcpy(o, s, n);
    o += n;
  }
  if (out) *o = '\0';
  return out;
}

char *km_template_shape(const km_manifest *m, const char *t) {
  km_piece p;
  size_t len = 0;
  for (size_t pos = 0; km_next_piece(t, &pos, &p);) len += p.ref ? 5 : p.len;
  char *out = ku_malloc(len + 1), *o = out;
  for (size_t pos = 0; out && km_next_piece(t, &pos, &p);) {
    int i = p.ref ? km_var_find(m, p.text, p.len) : -1;
    memcpy(o, p.ref ? (i >= 0 && m->vars[i].secret ? "{{!}}" : "{{?}}") : p.text, p.ref ? 5 : p.len);
    o += p.ref ? 5 : p.len;
  }
  if (out) *o = '\0';
  return out;
}

void km_vars_free(char **values, int n) {
  for (int i = 0; values && i < n; i++) ku_free(values[i]);
  ku_free(values);
}

/* Opens --variables-file path and reads it into *text (malloc'ed, *len
** bytes): refused unless it is a regular file of the user's that group
** and others can neither read nor write nor run (mode & 077 == 0). 0, or
** -1 with err. */
static int km_varfile_open(const char *path, char **text, size_t *len, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) {
    snprintf(err, errlen, "--variables-file %s: cannot read: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  const char *why = !S_ISREG(sb.st_mode) ? "is not a regular file"
                  : sb.st_uid != geteuid() ? "is not owned by the user krait runs as"
                  : (sb.st_mode & 077) ? "can be read or written by group or others" : NULL;
  if (why) {
    snprintf(err, errlen, "--variables-file %s %s (mode %04o): it holds secrets, so krait reads it only "
             "when it is the user's own regular file with mode 0600 or 0400 (chmod 600 %s)", path, why,
             (unsigned)(sb.st_mode & 07777), path);
    close(fd);
    return -1;
  }
  *text = ku_malloc(KM_VARFILE_MAX);
  ssize_t n = 0, got = 0;
  while (*text && (size_t)n < KM_VARFILE_MAX && (got = read(fd, *text + n, KM_VARFILE_MAX - (size_t)n)) > 0) n += got;
  close(fd);
  if (!*text || got < 0 || n >= KM_VARFILE_MAX) {
    snprintf(err, errlen, "--variables-file %s: %s", path, !*text ? "out of memory" : got < 0 ? strerror(errno)
             : "is over 1 MiB");
    ku_free(*text);
    *text = NULL;
    return -1;
  }
  *len = (size_t)n;
  return 0;
}

/* The TOML error te of --variables-file path in err: only where it is.
** The parser's message quotes, or cuts short, what it found (an unquoted
** value of 300 characters, "a:b" read as a time), and this file holds
** secrets, so none of its text is shown. "out of memory" when that is
** why it failed. */
static void km_varfile_syntax(const km_toml_error *te, const char *path, char *err, size_t errlen) {
  if (te->out_of_memory) snprintf(err, errlen, "--variables-file %s: out of memory", path);
  else snprintf(err, errlen, "--variables-file %s:%u:%u: not valid TOML (the text is not shown: the file "
           "holds secrets); write one name = \"value\" line per variable, the value in double quotes",
           path, te->line, te->col);
}

/* Puts file's entries into from_file (one slot per [variables] entry):
** each must be name = "string" for a declared name. 0, or -1 with err
** (every undeclared name listed). */
static int km_varfile_read(const km_manifest *m, const char *path, char **from_file, char *err, size_t errlen) {
  char *text;
  size_t len;
  if (km_varfile_open(path, &text, &len, err, errlen) != 0) return -1;
  km_toml_error te;
  km_toml_doc *doc = km_toml_parse(text, len, path, &te);
  ku_free(text);
  if (!doc) {
    km_varfile_syntax(&te, path, err, errlen);
    return -1;
  }
  const km_toml_value *root = km_toml_root(doc);
  size_t o = 0;
  int rc = 0;
  err[0] = '\0';
  for (size_t i = 0; i < km_toml_table_len(root) && rc == 0; i++) {
    const char *k, *s;
    size_t kn, sn;
    const km_toml_value *v = km_toml_table_at(root, i, &k, &kn);
    int idx = km_var_find(m, k, kn);
    if (idx < 0) {
      o += (size_t)snprintf(err + o, o < errlen ? errlen - o : 0, "%s\"%.*s\"", o ? ", " : "", (int)(kn < 80 ? kn : 80), k);
      if (o >= errlen) o = errlen - 1;
    } else if (!km_toml_string(v, &s, &sn) || strlen(s) != sn) {
      snprintf(err, errlen, "--variables-file %s:%u: %s must be a string without NUL bytes (name = \"value\")",
               path, km_toml_line(v), m->vars[idx].name);
      rc = -1;
    } else if (!(from_file[idx] = ku_strndup(s, sn))) {
      snprintf(err, errlen, "--variables-file %s: out of memory", path);
      rc = -1;
    }
  }
  km_toml_free(doc);
  if (rc == 0 && o) {
    char names[768];
    snprintf(names, sizeof names, "%s", err);
    snprintf(err, errlen, "--variables-file %s sets %s, which the manifest's [variables] table does not "
             "declare", path, names);
    rc = -1;
  }
  return rc;
}

/* The environment's value of variable name (KRAIT_VARIABLE_NAME), or NULL. */
static const char *km_var_env(const char *name) {
  char env[sizeof KM_VAR_ENV + 64];
  size_t p = strlen(KM_VAR_ENV);
  memcpy(env, KM_VAR_ENV, p);
  for (size_t i = 0; name[i] && p < sizeof env - 1; i++)
    env[p++] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
  env[p] = '\0';
  return getenv(env);
}

/* Names the required variables of m that have no value in err (as many
** as fit, then "and N more"). */
static void km_vars_missing(const km_manifest *m, char **values, char *err, size_t errlen) {
  char list[768] = "";
  size_t o = 0;
  int count = 0, listed = 0;
  /* room for the message's own ~110 bytes and " and N more" */
  size_t room = errlen > 150 + 120 ? errlen - 150 : 120;
  if (room > sizeof list - 16) room = sizeof list - 16;
  for (int i = 0; i < m->nvars; i++) {
    if (values[i]) continue;
    count++;
    if (o + 2 * strlen(m->vars[i].name) + sizeof KM_VAR_ENV + 8 > room) continue;   /* counted, not listed */
    listed++;
    char up[80];
    size_t k = 0;
    for (const char *c = m->vars[i].name; *c && k < sizeof up - 1; c++)
      up[k++] = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
    up[k] = '\0';
    o += (size_t)snprintf(list + o, sizeof list - o, "%s\"%s\" (" KM_VAR_ENV "%s)", listed > 1 ? ", " : "",
                          m->vars[i].name, up);
  }
  if (count > listed) snprintf(list + o, sizeof list - o, " and %d more", count - listed);
  snprintf(err, errlen, "required variable%s %s %s no value: set %s in the environment or in the "
           "--variables-file", count > 1 ? "s" : "", list, count > 1 ? "have" : "has",
           count > 1 ? "them" : "it");
}

char **km_vars_resolve(const km_manifest *m, const char *file, char *err, size_t errlen) {
  char **values = ku_calloc((size_t)m->nvars + 1, sizeof *values);
  char **from_file = ku_calloc((size_t)m->nvars + 1, sizeof *from_file);
  bool ok = values && from_file, missing = false;
  if (!ok) snprintf(err, errlen, "out of memory");
  if (ok && file) ok = km_varfile_read(m, file, from_file, err, errlen) == 0;
  for (int i = 0; ok && i < m->nvars; i++) {
    const char *env = km_var_env(m->vars[i].name);
    const char *v = env ? env : from_file[i] ? from_file[i] : m->vars[i].dflt;
    if (v && !(values[i] = ku_strdup(v))) {
      snprintf(err, errlen, "out of memory");
      ok = false;
    }
    missing |= !v;
  }
  if (ok && missing) {
    km_vars_missing(m, values, err, errlen);
    ok = false;
  }
  km_vars_free(from_file, m->nvars);
  if (!ok) {
    km_vars_free(values, m->nvars);
    return NULL;
  }
  return values;
}
