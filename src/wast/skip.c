/*
** skip.c -- the --skip file of `krait wast`: `pattern  reason` lines.
** Owns parsing (every entry must give a reason) and pattern lookup.
** Does not own counting or reporting skipped commands (command.c).
*/
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wast/wast_internal.h"
#include "util/util.h"

/* Strips trailing whitespace (including the newline) in place. */
static void rstrip(char *s) {
  size_t n = strlen(s);

  while (n > 0 && isspace((unsigned char)s[n - 1]))
    s[--n] = '\0';
}

/* Appends one entry; returns 0, or -1 when out of memory. */
static int add_entry(kt_skiplist *list, const char *pat, size_t patlen,
                     const char *reason) {
  kt_skip *items = ku_realloc(list->items, (list->count + 1) * sizeof *items);

  if (!items)
    return -1;
  list->items = items;
  items[list->count].pattern = ku_strndup(pat, patlen);
  items[list->count].reason = ku_strdup(reason);
  if (!items[list->count].pattern || !items[list->count].reason) {
    ku_free(items[list->count].pattern);
    ku_free(items[list->count].reason);
    return -1;
  }
  list->count++;
  return 0;
}

/* Parses one line of a skip file. Blank lines and '#' comments are
** ignored. Returns 0, or -1 after printing an error naming path:lineno. */
static int parse_line(kt_skiplist *list, char *s, const char *path,
                      long lineno) {
  const char *pat, *reason;
  size_t patlen;

  rstrip(s);
  while (isspace((unsigned char)*s))
    s++;
  if (*s == '\0' || *s == '#')
    return 0;
  pat = s;
  patlen = strcspn(s, " \t");
  reason = s + patlen;
  while (isspace((unsigned char)*reason))
    reason++;
  if (*reason == '\0') {
    fprintf(stderr, "krait wast: %s:%ld: skip entry \"%s\" has no reason\n",
            path, lineno, pat);
    return -1;
  }
  if (add_entry(list, pat, patlen, reason) != 0) {
    fprintf(stderr, "krait wast: %s:%ld: out of memory\n", path, lineno);
    return -1;
  }
  return 0;
}

/* Reads a skip file and appends its entries to list. Returns 0, or -1
** after printing a one-line error naming the file (and line). */
int kt_skips_load(kt_skiplist *list, const char *path) {
  FILE *fp = fopen(path, "r");
  char *line = NULL;
  size_t cap = 0;
  long lineno = 0;
  int rc = 0;

  if (!fp) {
    fprintf(stderr, "krait wast: cannot open skip file %s: %s\n", path,
            strerror(errno));
    return -1;
  }
  while (rc == 0 && getline(&line, &cap, fp) >= 0)
    rc = parse_line(list, line, path, ++lineno);
  if (rc == 0 && ferror(fp)) {
    fprintf(stderr, "krait wast: error reading skip file %s\n", path);
    rc = -1;
  }
  free(line);   /* getline's, from libc's malloc */
  fclose(fp);
  return rc;
}

/* The reason of the first entry whose pattern matches key ("f.json" or
** "f.json:LINE"), or NULL when nothing matches. */
const char *kt_skips_find(const kt_skiplist *list, const char *key) {
  size_t i;

  for (i = 0; i < list->count; i++)
    if (fnmatch(list->items[i].pattern, key, 0) == 0)
      return list->items[i].reason;
  return NULL;
}

/* Frees every entry of a skip list and empties it. */
void kt_skips_free(kt_skiplist *list) {
  size_t i;

  for (i = 0; i < list->count; i++) {
    ku_free(list->items[i].pattern);
    ku_free(list->items[i].reason);
  }
  ku_free(list->items);
  list->items = NULL;
  list->count = 0;
}
