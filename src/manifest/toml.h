/*
** toml.h -- a small, strict TOML 1.0 parser for krait.toml: parse a buffer
** into a read-only tree, look values up, free it. Does not own what the keys
** mean (the manifest loader does) or reading the file from disk.
*/
#ifndef KM_TOML_H
#define KM_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of tables and arrays (the root table is depth 0). Deeper
** documents are rejected, so nothing recursing over a tree needs more. */
enum { KM_TOML_MAX_DEPTH = 64 };

/* A parsed document. Owns every value, key and string in it; the input
** buffer may be freed as soon as km_toml_parse returns. */
typedef struct km_toml_doc km_toml_doc;

/* One value inside a document (a table, array, string, ...). Valid until
** the document is freed. */
typedef struct km_toml_value km_toml_value;

/* The type of a value. Dates and times are kept as their text. */
typedef enum km_toml_type {
  KM_TOML_STRING = 1,
  KM_TOML_INT,
  KM_TOML_FLOAT,
  KM_TOML_BOOL,
  KM_TOML_DATETIME,
  KM_TOML_ARRAY,
  KM_TOML_TABLE
} km_toml_type;

/* Which of TOML's four date/time forms a KM_TOML_DATETIME value is. */
typedef enum km_toml_dtkind {
  KM_TOML_OFFSET_DATETIME = 1,  /* 1979-05-27T07:32:00Z, ...-07:00 */
  KM_TOML_LOCAL_DATETIME,       /* 1979-05-27T07:32:00 */
  KM_TOML_LOCAL_DATE,           /* 1979-05-27 */
  KM_TOML_LOCAL_TIME            /* 07:32:00.999 */
} km_toml_dtkind;

/* Why a parse failed. message is "name:line:col: what is wrong", always
** NUL-terminated; line and col (1-based, col counts characters) are 0
** when no position applies. out_of_memory is set when an allocation
** failed (the input may be fine). */
typedef struct km_toml_error {
  char message[384];
  uint32_t line, col;
  bool out_of_memory;
} km_toml_error;

/* Parses len bytes of TOML. name is used in error messages only (e.g.
** "krait.toml"; NULL means "toml"). Returns the document, or NULL with
** *err filled in (err may be NULL). Never reads outside [bytes, bytes+len);
** bytes need not be NUL-terminated. */
km_toml_doc *km_toml_parse(const void *bytes, size_t len, const char *name,
                           km_toml_error *err);

/* Frees a document and everything in it. NULL is ignored. */
void km_toml_free(km_toml_doc *doc);

/* The root table of a document. */
const km_toml_value *km_toml_root(const km_toml_doc *doc);

/* The type of v. */
km_toml_type km_toml_type_of(const km_toml_value *v);

/* "string", "integer", "float", "boolean", "datetime", "array", "table". */
const char *km_toml_type_name(km_toml_type t);

/* The 1-based line on which v was defined (its value, or for a table its
** header or first dotted key), for the caller's own error messages. */
uint32_t km_toml_line(const km_toml_value *v);

/* The value of key (NUL-terminated) in table t; NULL if t is NULL or not a
** table, or has no such key. */
const km_toml_value *km_toml_get(const km_toml_value *t, const char *key);

/* The same with an explicit key length (keys may contain NUL bytes). */
const km_toml_value *km_toml_getn(const km_toml_value *t, const char *key,
                                  size_t keylen);

/* Follows a dotted path of plain segments from table t, e.g.
** "app.limits.timeout"; a segment of digits indexes an array
** ("route.0.path"). Segments cannot contain '.'; use km_toml_getn for
** such keys. NULL when any step is missing or of the wrong type. */
const km_toml_value *km_toml_path(const km_toml_value *t, const char *path);

/* Number of keys in table t (0 if t is not a table). */
size_t km_toml_table_len(const km_toml_value *t);

/* The i-th entry of table t in document order: its value, with the key in
** *key / *keylen (either may be NULL). NULL if i is out of range or t is
** not a table. Keys are NUL-terminated as well. */
const km_toml_value *km_toml_table_at(const km_toml_value *t, size_t i,
                                      const char **key, size_t *keylen);

/* Number of elements of array a (0 if a is not an array). */
size_t km_toml_array_len(const km_toml_value *a);

/* Element i of array a; NULL if out of range or a is not an array. */
const km_toml_value *km_toml_array_at(const km_toml_value *a, size_t i);

/* Typed getters: each returns true and stores the value when v is non-NULL
** and of that type, else returns false and leaves the outputs alone.
** Strings are UTF-8, NUL-terminated, and may contain NUL (use *len). No
** conversions: an integer is not a float. len may be NULL. */
bool km_toml_string(const km_toml_value *v, const char **s, size_t *len);
bool km_toml_int(const km_toml_value *v, int64_t *out);
bool km_toml_float(const km_toml_value *v, double *out);
bool km_toml_bool(const km_toml_value *v, bool *out);

/* A date/time value's text exactly as written (validated per TOML 1.0 /
** RFC 3339) and its form; kind and len may be NULL. */
bool km_toml_datetime(const km_toml_value *v, const char **s, size_t *len,
                      km_toml_dtkind *kind);

#endif
