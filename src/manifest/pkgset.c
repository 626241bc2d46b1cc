/*
** pkgset.c -- package sets (prefix km_pkgset): a set's canonical name from
** the packages an app or a command line names, and where a built set lives
** in a Python home (HOME/sets/NAME/). Not building sets
** (scripts/build-packages.py) nor running them (src/app, src/cli).
*/
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest/manifest.h"
#include "util/util.h"

bool km_pkgset_name_ok(const char *name) {
  if (!name[0] || name[0] == '-') return false;
  for (const char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')) return false;
  return true;
}

/* Compares two strings through pointers to them (qsort). */
static int km_strptr_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int km_pkgset_join(const char *const *names, int count, char *out, size_t n, char *err, size_t errn) {
  const char *sorted[KM_PKGSET_NAMES];
  size_t len = 0;
  if (count == 0) return snprintf(err, errn, "no package named"), -1;
  if (count > KM_PKGSET_NAMES) return snprintf(err, errn, "more than %d packages", KM_PKGSET_NAMES), -1;
  for (int i = 0; i < count; i++) {
    if (!km_pkgset_name_ok(names[i]))
      return snprintf(err, errn, "'%.80s' is not a package name (lowercase letters, digits, '_' and '-', not first)",
                      names[i]), -1;
    sorted[i] = names[i];
  }
  qsort(sorted, (size_t)count, sizeof sorted[0], km_strptr_cmp);
  out[0] = '\0';
  for (int i = 0; i < count; i++) {
    if (i && strcmp(sorted[i], sorted[i - 1]) == 0) continue;
    len += strlen(sorted[i]) + (len ? 1 : 0);
    if (len >= n) return snprintf(err, errn, "the package list is too long"), -1;
    if (out[0]) strcat(out, "+");
    strcat(out, sorted[i]);
  }
  return 0;
}

int km_pkgset_name(const char *list, char *out, size_t n, char *err, size_t errn) {
  char buf[KM_PKGSET_MAX], *save, *tok;
  const char *names[KM_PKGSET_NAMES];
  int count = 0;
  if (strlen(list) >= sizeof buf)
    return snprintf(err, errn, "the package list is longer than %d bytes", KM_PKGSET_MAX - 1), -1;
  strcpy(buf, list);
  for (tok = buf; tok; tok = save) {   /* every item, empty ones too ("a,,b" is refused) */
    if ((save = strpbrk(tok, ",+"))) *save++ = '\0';
    if (!tok[0]) return snprintf(err, errn, "an empty name in '%.80s'", list), -1;
    if (count == KM_PKGSET_NAMES) return snprintf(err, errn, "more than %d packages", KM_PKGSET_NAMES), -1;
    names[count++] = tok;
  }
  return km_pkgset_join(names, count, out, n, err, errn);
}

char *km_pkgset_home(const char *home, const char *name) {
  static const char *const marks[] = { "python.wasm", "lib/python3.11/os.py", "bin", "site-packages" };
  char dir[PATH_MAX], probe[PATH_MAX + 32];
  char *real;
  errno = ENOENT;
  if ((size_t)snprintf(dir, sizeof dir, "%s/sets/%s", home, name) >= sizeof dir) return NULL;
  for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
    snprintf(probe, sizeof probe, "%s/%s", dir, marks[i]);
    if (access(probe, R_OK) != 0) return errno = ENOENT, NULL;
  }
  if (!(real = ku_realpath(dir)) && errno != ENOMEM) errno = ENOENT;
  return real;
}

/* The build key in file path's first line "WORD KEY" (WORD "key" for a
** home's sizes.txt, none for a set's base.txt: "KEY") into out; false
** when it cannot be read. */
static bool km_pkgset_read_key(const char *path, bool worded, char *out, size_t n) {
  char line[128], word[16];
  FILE *f = fopen(path, "r");
  bool ok = f && fgets(line, sizeof line, f);
  if (f) fclose(f);
  if (!ok) return false;
  if (worded) return sscanf(line, "%15s %63s", word, out) == 2 && strcmp(word, "key") == 0 && n >= 64;
  return sscanf(line, "%63s", out) == 1 && n >= 64;
}

bool km_pkgset_current(const char *home, const char *set_home, char *why, size_t n) {
  char path[PATH_MAX + 16], base[64], linked[64];
  snprintf(path, sizeof path, "%s/sizes.txt", home);
  if (!km_pkgset_read_key(path, true, base, sizeof base)) return true;   /* not a home krait built: unknown */
  snprintf(path, sizeof path, "%s/base.txt", set_home);
  if (!km_pkgset_read_key(path, false, linked, sizeof linked))
    return snprintf(why, n, "it does not say which python.wasm it was linked on (no base.txt)"), false;
  if (strcmp(base, linked) == 0) return true;
  return snprintf(why, n, "it was linked on another build of python.wasm (key %s; this home's is %s)",
                  linked, base), false;
}

void km_pkgset_built(const char *home, char *out, size_t n) {
  char dir[PATH_MAX];
  struct dirent **names;
  size_t o = 0;
  snprintf(dir, sizeof dir, "%s/sets", home);
  int count = scandir(dir, &names, NULL, alphasort);
  out[0] = '\0';
  for (int i = 0; i < count; i++) {
    char *found = names[i]->d_name[0] != '.' ? km_pkgset_home(home, names[i]->d_name) : NULL;
    if (found && o < n) o += (size_t)snprintf(out + o, n - o, "%s%s", o ? ", " : "", names[i]->d_name);
    ku_free(found);
    free(names[i]);   /* scandir's, from libc's malloc */
  }
  if (count >= 0) free(names);
  if (!out[0]) snprintf(out, n, "none");
}
