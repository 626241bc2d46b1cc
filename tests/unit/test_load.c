/*
** tests/unit/test_load.c -- unit tests: module loading and linking.
** Owns: malformed/invalid/unsupported modules (errors name the section and
** a byte offset), import/export descriptors, signatures, link errors.
** Does not own: the modules' runtime behaviour (other test_*.c files).
*/
#include <ctype.h>

#include "fixture.h"

#define HDR 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00

/* True when msg contains a number (decimal, or hex after "0x") within
** [lo, hi]: the error names a byte offset in the right region. */
static int mentions_offset(const char *msg, unsigned long lo, unsigned long hi) {
  for (const char *p = msg; *p; p++) {
    if (!isdigit((unsigned char)*p) || (p > msg && isalnum((unsigned char)p[-1]))) continue;
    char *end;
    unsigned long v = (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
                          ? strtoul(p + 2, &end, 16)
                          : strtoul(p, &end, 10);
    if (v >= lo && v <= hi) return 1;
    p = end - 1;
  }
  return 0;
}

/* Loads bytes expecting failure of kind want; leaves the message in err. */
static int load_fails(const uint8_t *b, size_t n, krait_errkind want, krait_error *err) {
  krait_config cfg;
  krait_config_default(&cfg);
  krait_engine *e = krait_engine_new(&cfg, err);
  if (!e) return 0;
  memset(err, 0, sizeof *err);
  krait_module *m = krait_module_new(e, b, n, err);
  int ok = m == NULL && err->kind == want && err->message[0] != '\0';
  if (!ok) printf("  got kind %d message \"%s\"\n", (int)err->kind, err->message);
  if (m) krait_module_free(m);
  krait_engine_free(e);
  return ok;
}

static void test_empty_and_header(void) {
  krait_error err;
  static const uint8_t one[] = {0x00};
  CHECK(load_fails(one, 0, KRAIT_ERR_MALFORMED, &err));
  static const uint8_t magic[] = {0x00, 0x61, 0x73, 0x6e, 0x01, 0x00, 0x00, 0x00};
  CHECK(load_fails(magic, sizeof magic, KRAIT_ERR_MALFORMED, &err));
  CHECK_CONTAINS(err.message, "magic");
  static const uint8_t version[] = {0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00};
  CHECK(load_fails(version, sizeof version, KRAIT_ERR_MALFORMED, &err));
  CHECK_CONTAINS(err.message, "version");
  static const uint8_t shortv[] = {0x00, 0x61, 0x73, 0x6d, 0x01};
  CHECK(load_fails(shortv, sizeof shortv, KRAIT_ERR_MALFORMED, &err));
}

static void test_truncated_type_section(void) {
  krait_error err;
  /* Type section (offset 8) claims 5 bytes, has 2. */
  static const uint8_t b[] = {HDR, 0x01, 0x05, 0x01, 0x60};
  CHECK(load_fails(b, sizeof b, KRAIT_ERR_MALFORMED, &err));
  CHECK_CONTAINS(err.message, "type");
  CHECK(mentions_offset(err.message, 8, 13));
}

static void test_bad_functype_form(void) {
  krait_error err;
  /* 0x61 where the function type form 0x60 belongs, at offset 11. */
  static const uint8_t b[] = {HDR, 0x01, 0x04, 0x01, 0x61, 0x00, 0x00};
  CHECK(load_fails(b, sizeof b, KRAIT_ERR_MALFORMED, &err));
  CHECK_CONTAINS(err.message, "type");
  CHECK(mentions_offset(err.message, 8, 14));
}

static void test_unknown_section(void) {
  krait_error err;
  static const uint8_t b[] = {HDR, 0x0e, 0x01, 0x00};
  CHECK(load_fails(b, sizeof b, KRAIT_ERR_MALFORMED, &err));
  CHECK_CONTAINS(err.message, "section");
  CHECK(mentions_offset(err.message, 8, 11));
}

static void test_overlong_leb(void) {
  krait_error err;
  /* Type count as a 6-byte LEB128 (limit for u32 is 5 bytes). */
  static const uint8_t b[] = {HDR, 0x01, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f};
  CHECK(load_fails(b, sizeof b, KRAIT_ERR_MALFORMED, &err));
  CHECK(mentions_offset(err.message, 8, 16));
}

static void test_function_without_code(void) {
  krait_error err;
  /* One function declared, no code section. */
  static const uint8_t b[] = {HDR, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00};
  CHECK(load_fails(b, sizeof b, KRAIT_ERR_MALFORMED, &err));
}

static void test_invalid_body(void) {
  krait_error err;
  /* ()->i32 whose body is (i64.const 0): a type mismatch, found by the
  ** validator in the code section (which starts at offset 19). */
  static const uint8_t b[] = {HDR, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02,
                              0x01, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x42, 0x00, 0x0b};
  CHECK(load_fails(b, sizeof b, KRAIT_ERR_INVALID, &err));
  CHECK(t_contains(err.message, "code") || t_contains(err.message, "func"));
  CHECK(mentions_offset(err.message, 19, 28));
}

static void test_simd_unsupported(void) {
  krait_error err;
  /* A function type with a v128 (0x7b) parameter. */
  static const uint8_t b[] = {HDR, 0x01, 0x05, 0x01, 0x60, 0x01, 0x7b, 0x00};
  CHECK(load_fails(b, sizeof b, KRAIT_ERR_UNSUPPORTED, &err));
}

static void test_minimal_module_loads(void) {
  krait_error err;
  memset(&err, 0, sizeof err);
  krait_engine *e = t_engine();
  CHECK(e != NULL);
  static const uint8_t b[] = {HDR};
  krait_module *m = krait_module_new(e, b, sizeof b, &err);
  CHECK(m != NULL);
  CHECK_INT(krait_module_import_count(m), 0);
  CHECK_INT(krait_module_export_count(m), 0);
  krait_module_free(m);
  krait_engine_free(e);
}

static void test_descriptors(void) {
  krait_error err;
  memset(&err, 0, sizeof err);
  krait_engine *e = t_engine();
  CHECK(e != NULL);
  krait_module *m = t_load(e, "basic");
  CHECK(m != NULL);
  CHECK_INT(krait_module_import_count(m), 6);
  krait_importexport d;
  CHECK_INT(krait_module_import(m, 0, &d), 0);
  CHECK_STR(d.module, "env");
  CHECK_STR(d.name, "add");
  CHECK_INT(d.kind, KRAIT_EXTERN_FUNC);
  CHECK_STR(d.type, "ii:i");
  CHECK_INT(krait_module_import(m, 4, &d), 0);
  CHECK_STR(d.name, "g");
  CHECK_INT(d.kind, KRAIT_EXTERN_GLOBAL);
  CHECK_STR(d.type, "I");
  CHECK_INT(krait_module_import(m, 5, &d), 0);
  CHECK_STR(d.type, "IfF:F");
  CHECK_INT(krait_module_import(m, 6, &d), -1);
  size_t nexp = krait_module_export_count(m);
  CHECK(nexp >= 20);
  int seen = 0;
  for (size_t i = 0; i < nexp; i++) {
    CHECK_INT(krait_module_export(m, i, &d), 0);
    CHECK(d.module == NULL);
    if (strcmp(d.name, "mem") == 0) { CHECK_INT(d.kind, KRAIT_EXTERN_MEMORY); CHECK_CONTAINS(d.type, "1..4"); seen++; }
    if (strcmp(d.name, "tab") == 0) { CHECK_INT(d.kind, KRAIT_EXTERN_TABLE); CHECK_CONTAINS(d.type, "2..10"); seen++; }
    if (strcmp(d.name, "counter") == 0) { CHECK_INT(d.kind, KRAIT_EXTERN_GLOBAL); CHECK_STR(d.type, "mut i"); seen++; }
    if (strcmp(d.name, "pi") == 0) { CHECK_STR(d.type, "F"); seen++; }
    if (strcmp(d.name, "multi") == 0) { CHECK_STR(d.type, "i:iI"); seen++; }
    if (strcmp(d.name, "nop") == 0) { CHECK_STR(d.type, ":"); seen++; }
  }
  CHECK_INT(seen, 6);
  CHECK_INT(krait_module_export(m, nexp, &d), -1);
  krait_module_free(m);
  krait_engine_free(e);
}

static void test_link_errors(void) {
  krait_error err;
  memset(&err, 0, sizeof err);
  krait_engine *e = t_engine();
  CHECK(e != NULL);
  krait_module *m = t_load(e, "basic");
  CHECK(m != NULL);
  krait_store *s = krait_store_new(e);
  krait_linker *l = krait_linker_new(s);
  CHECK(s && l);
  CHECK(krait_instantiate(l, m, &err) == NULL);
  CHECK_ERR(err, KRAIT_ERR_LINK);
  CHECK_CONTAINS(err.message, "add");
  fixture fx;  /* only for the host function env pointer */
  memset(&fx, 0, sizeof fx);
  CHECK_INT(krait_linker_define_func(l, "env", "add", "i:i", host_add, &fx), 0);
  memset(&err, 0, sizeof err);
  CHECK(krait_instantiate(l, m, &err) == NULL);
  CHECK_ERR(err, KRAIT_ERR_LINK);
  CHECK_CONTAINS(err.message, "add");
  CHECK_INT(krait_linker_define_func(l, "env", "bad", "iq:i", host_add, &fx), -1);
  krait_linker_free(l);
  krait_store_free(s);
  krait_module_free(m);
  krait_engine_free(e);
}

/* Whether s is well-formed UTF-8 (no character cut short). */
static int utf8_whole(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : 3;
    for (p++; n > 0; n--, p++) if ((*p & 0xC0) != 0x80) return 0;
  }
  return 1;
}

/* A link error whose import name does not fit the message: the message
** fills krait_error.message, is cut at a character boundary and ends in
** "..." (shift 0 and 1 put the cut on both sides of a 2-byte character). */
static void test_long_message_marked(void) {
  for (int shift = 0; shift < 2; shift++) {
    enum { NCHARS = 400 };
    size_t name_len = (size_t)shift + 2 * NCHARS;
    uint8_t b[1024] = {HDR, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x02};
    size_t n = 8 + 7, body = 1 + 4 + 2 + name_len + 2;
    b[n++] = (uint8_t)(0x80 | (body & 0x7f)); b[n++] = (uint8_t)(body >> 7);
    b[n++] = 0x01; b[n++] = 0x03; memcpy(b + n, "env", 3); n += 3;
    b[n++] = (uint8_t)(0x80 | (name_len & 0x7f)); b[n++] = (uint8_t)(name_len >> 7);
    if (shift) b[n++] = 'x';
    for (int i = 0; i < NCHARS; i++) { b[n++] = 0xC3; b[n++] = 0xA9; }   /* é */
    b[n++] = 0x00; b[n++] = 0x00;   /* func, type 0 */
    krait_error err;
    memset(&err, 0, sizeof err);
    krait_engine *e = t_engine();
    CHECK(e != NULL);
    krait_module *m = krait_module_new(e, b, n, &err);
    if (!m) printf("  %s\n", err.message);
    CHECK(m != NULL);
    krait_store *s = krait_store_new(e);
    krait_linker *l = krait_linker_new(s);
    CHECK(s && l);
    CHECK(krait_instantiate(l, m, &err) == NULL);
    CHECK_ERR(err, KRAIT_ERR_LINK);
    size_t len = strlen(err.message);
    CHECK(len < KRAIT_ERROR_MESSAGE_SIZE && len + 8 >= KRAIT_ERROR_MESSAGE_SIZE);
    CHECK_STR(err.message + len - 3, "...");
    CHECK_CONTAINS(err.message, "import \"env\" \"");
    CHECK(utf8_whole(err.message));
    krait_linker_free(l);
    krait_store_free(s);
    krait_module_free(m);
    krait_engine_free(e);
  }
}

static void test_engine_rejects_bad_config(void) {
  krait_config cfg;
  krait_config_default(&cfg);
  CHECK_INT(cfg.bounds, KRAIT_BOUNDS_GUARD);
  CHECK_INT(cfg.max_call_depth, 100000);
  cfg.bounds = (krait_bounds)7;
  krait_error err;
  memset(&err, 0, sizeof err);
  krait_engine *e = krait_engine_new(&cfg, &err);
  if (e) krait_engine_free(e);
  CHECK(e == NULL);
  CHECK_ERR(err, KRAIT_ERR_ARG);
}

int main(void) {
  RUN(test_empty_and_header);
  RUN(test_truncated_type_section);
  RUN(test_bad_functype_form);
  RUN(test_unknown_section);
  RUN(test_overlong_leb);
  RUN(test_function_without_code);
  RUN(test_invalid_body);
  RUN(test_simd_unsupported);
  RUN(test_minimal_module_loads);
  RUN(test_descriptors);
  RUN(test_link_errors);
  RUN(test_long_message_marked);
  RUN(test_engine_rejects_bad_config);
  return t_summary();
}
