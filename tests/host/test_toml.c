/*
** tests/host/test_toml.c -- the TOML parser's tests: values, errors with
** line:col, edge cases, a real krait.toml, limits and fault injection.
** Does not own: the parser (src/manifest/toml.c) or what the keys mean.
*/
#include "test.h"
#include "llm/llm.h"
#include "manifest/manifest.h"
#include "manifest/toml.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static km_toml_error t_err;

/* Parses text (NUL-terminated) or prints the error; NULL on failure. */
static km_toml_doc *t_parse(const char *text) {
  km_toml_doc *d = km_toml_parse(text, strlen(text), "krait.toml", &t_err);
  if (!d) printf("unexpected parse error: %s\n", t_err.message);
  return d;
}

/* Parses text that must fail; returns the message ("" if it parsed). */
static const char *t_fail(const char *text) {
  km_toml_doc *d = km_toml_parse(text, strlen(text), "krait.toml", &t_err);
  if (d) { km_toml_free(d); return "(parsed)"; }
  return t_err.message;
}

/* The string at path, or NULL. */
static const char *t_str(const km_toml_value *root, const char *path) {
  const char *s = NULL;
  return km_toml_string(km_toml_path(root, path), &s, NULL) ? s : NULL;
}

/* The integer at path, or a sentinel. */
static int64_t t_int(const km_toml_value *root, const char *path) {
  int64_t v = -424242;
  km_toml_int(km_toml_path(root, path), &v);
  return v;
}

/* The float at path, or a sentinel. */
static double t_flt(const km_toml_value *root, const char *path) {
  double v = -424242;
  km_toml_float(km_toml_path(root, path), &v);
  return v;
}

/* ---- values --------------------------------------------------------------- */

static void test_strings(void) {
  km_toml_doc *d = t_parse(
      "s = \"tab\\tnl\\nq\\\"bs\\\\ \\b\\f\\r\"\n"
      "u = \"\\u00E9\\U0001F600\\u0041\"\n"
      "lit = 'C:\\Users\\x'\n"
      "ml = \"\"\"\nRoses\nViolets\"\"\"\n"
      "ml2 = \"\"\"\\\n   The quick \\\n\n   fox.\\\n   \"\"\"\n"
      "mll = '''\nraw \\n\n  kept'''\n"
      "q1 = \"\"\"a\"\"\"\"\n"
      "q2 = \"\"\"a\"\"\"\"\"\n"
      "q3 = ''''x''''\n"
      "empty = \"\"\n"
      "emptylit = ''\n"
      "nul = \"a\\u0000b\"\n"
      "crlf = \"\"\"a\r\nb\"\"\"\r\n"
      "utf = \"h\xC3\xA9llo \xF0\x9F\x98\x80\"\n"
      "tabs = \"a\tb\"\n");
  CHECK(d);
  const km_toml_value *r = km_toml_root(d);
  CHECK_STR(t_str(r, "s"), "tab\tnl\nq\"bs\\ \b\f\r");
  CHECK_STR(t_str(r, "u"), "\xC3\xA9\xF0\x9F\x98\x80" "A");
  CHECK_STR(t_str(r, "lit"), "C:\\Users\\x");
  CHECK_STR(t_str(r, "ml"), "Roses\nViolets");
  CHECK_STR(t_str(r, "ml2"), "The quick fox.");
  CHECK_STR(t_str(r, "mll"), "raw \\n\n  kept");
  CHECK_STR(t_str(r, "q1"), "a\"");
  CHECK_STR(t_str(r, "q2"), "a\"\"");
  CHECK_STR(t_str(r, "q3"), "'x'");
  CHECK_STR(t_str(r, "empty"), "");
  CHECK_STR(t_str(r, "emptylit"), "");
  CHECK_STR(t_str(r, "crlf"), "a\nb");
  CHECK_STR(t_str(r, "utf"), "h\xC3\xA9llo \xF0\x9F\x98\x80");
  CHECK_STR(t_str(r, "tabs"), "a\tb");
  const char *s;
  size_t n;
  CHECK(km_toml_string(km_toml_get(r, "nul"), &s, &n));
  CHECK_INT(n, 3);
  CHECK(memcmp(s, "a\0b", 4) == 0);
  km_toml_free(d);
}

static void test_integers(void) {
  km_toml_doc *d = t_parse(
      "a = +99\nb = -17\nc = 0\nd = 1_000\ne = 0xDEAD_beef\nf = 0o755\n"
      "g = 0b1101_0110\nh = 9223372036854775807\ni = -9223372036854775808\n"
      "j = +0\nk = -0\nl = 0x7FFFFFFFFFFFFFFF\nm = 0x0\nn = 0o0\no = 0b0\n"
      "p = 0x00ff\n");
  CHECK(d);
  const km_toml_value *r = km_toml_root(d);
  CHECK_INT(t_int(r, "a"), 99);
  CHECK_INT(t_int(r, "b"), -17);
  CHECK_INT(t_int(r, "c"), 0);
  CHECK_INT(t_int(r, "d"), 1000);
  CHECK_INT(t_int(r, "e"), 0xDEADBEEF);
  CHECK_INT(t_int(r, "f"), 0755);
  CHECK_INT(t_int(r, "g"), 0xD6);
  CHECK(t_int(r, "h") == INT64_MAX);
  CHECK(t_int(r, "i") == INT64_MIN);
  CHECK_INT(t_int(r, "j"), 0);
  CHECK_INT(t_int(r, "k"), 0);
  CHECK(t_int(r, "l") == INT64_MAX);
  CHECK_INT(t_int(r, "m") + t_int(r, "n") + t_int(r, "o"), 0);
  CHECK_INT(t_int(r, "p"), 255);   /* leading zeros are fine after 0x */
  CHECK_INT(km_toml_type_of(km_toml_get(r, "a")), KM_TOML_INT);
  km_toml_free(d);
}

static void test_floats(void) {
  km_toml_doc *d = t_parse(
      "a = +1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\nf = -2E-2\n"
      "g = 6.626e-34\nh = 224_617.445_991_228\ni = inf\nj = +inf\nk = -inf\n"
      "l = nan\nm = +nan\nn = -nan\no = 0.0\np = -0.0\nq = 0e0\nr = 1e-400\n");
  CHECK(d);
  const km_toml_value *r = km_toml_root(d);
  CHECK(t_flt(r, "a") == 1.0);
  CHECK(t_flt(r, "b") == 3.1415);
  CHECK(t_flt(r, "c") == -0.01);
  CHECK(t_flt(r, "d") == 5e22);
  CHECK(t_flt(r, "e") == 1e6);
  CHECK(t_flt(r, "f") == -2e-2);
  CHECK(t_flt(r, "g") == 6.626e-34);
  CHECK(t_flt(r, "h") == 224617.445991228);
  CHECK(isinf(t_flt(r, "i")) && t_flt(r, "i") > 0);
  CHECK(isinf(t_flt(r, "j")) && t_flt(r, "j") > 0);
  CHECK(isinf(t_flt(r, "k")) && t_flt(r, "k") < 0);
  CHECK(isnan(t_flt(r, "l")) && isnan(t_flt(r, "m")) && isnan(t_flt(r, "n")));
  CHECK(t_flt(r, "o") == 0.0 && !signbit(t_flt(r, "o")));
  CHECK(t_flt(r, "p") == 0.0 && signbit(t_flt(r, "p")));
  CHECK(t_flt(r, "q") == 0.0);
  CHECK(t_flt(r, "r") == 0.0);
  int64_t i;
  CHECK(!km_toml_int(km_toml_get(r, "a"), &i));  /* no conversions */
  km_toml_free(d);
}

static void test_bools_and_dates(void) {
  km_toml_doc *d = t_parse(
      "t = true\nf = false\n"
      "odt1 = 1979-05-27T07:32:00Z\nodt2 = 1979-05-27T00:32:00-07:00\n"
      "odt3 = 1979-05-27T00:32:00.999999+05:30\nodt4 = 1979-05-27 07:32:00z\n"
      "ldt = 1979-05-27t07:32:00\nld = 2000-02-29\nlt = 07:32:00\n"
      "lt2 = 00:32:00.999999\nleap = 1990-12-31T23:59:60Z\n");
  CHECK(d);
  const km_toml_value *r = km_toml_root(d);
  bool b = false;
  CHECK(km_toml_bool(km_toml_get(r, "t"), &b) && b);
  CHECK(km_toml_bool(km_toml_get(r, "f"), &b) && !b);
  const char *s;
  size_t n;
  km_toml_dtkind k;
  CHECK(km_toml_datetime(km_toml_get(r, "odt1"), &s, &n, &k));
  CHECK_STR(s, "1979-05-27T07:32:00Z");
  CHECK_INT(n, 20);
  CHECK_INT(k, KM_TOML_OFFSET_DATETIME);
  CHECK(km_toml_datetime(km_toml_get(r, "odt4"), &s, &n, &k));
  CHECK_STR(s, "1979-05-27 07:32:00z");
  CHECK_INT(k, KM_TOML_OFFSET_DATETIME);
  CHECK(km_toml_datetime(km_toml_get(r, "odt3"), &s, NULL, &k));
  CHECK_STR(s, "1979-05-27T00:32:00.999999+05:30");
  CHECK(km_toml_datetime(km_toml_get(r, "ldt"), NULL, NULL, &k));
  CHECK_INT(k, KM_TOML_LOCAL_DATETIME);
  CHECK(km_toml_datetime(km_toml_get(r, "ld"), &s, NULL, &k));
  CHECK_STR(s, "2000-02-29");
  CHECK_INT(k, KM_TOML_LOCAL_DATE);
  CHECK(km_toml_datetime(km_toml_get(r, "lt2"), &s, NULL, &k));
  CHECK_STR(s, "00:32:00.999999");
  CHECK_INT(k, KM_TOML_LOCAL_TIME);
  CHECK(!km_toml_string(km_toml_get(r, "ld"), &s, NULL));
  CHECK_STR(km_toml_type_name(km_toml_type_of(km_toml_get(r, "lt"))), "datetime");
  km_toml_free(d);
}

static void test_arrays(void) {
  km_toml_doc *d = t_parse(
      "a = []\nb = [1, 2, 3]\nc = [ [ 1, 2 ], [\"a\", 'b'], [1.1, {x = 1}], ]\n"
      "d = [\n  1, # one\n  2,   # two\n\n]\n"
      "e = [ 1, 'two', 3.0, true, 1979-05-27, [], {} ]\n"
      "f = [\"\"\"x\ny\"\"\", '''z''']\n");
  CHECK(d);
  const km_toml_value *r = km_toml_root(d);
  CHECK_INT(km_toml_array_len(km_toml_get(r, "a")), 0);
  CHECK_INT(km_toml_array_len(km_toml_get(r, "b")), 3);
  CHECK_INT(t_int(r, "b.2"), 3);
  CHECK_INT(t_int(r, "c.0.1"), 2);
  CHECK_STR(t_str(r, "c.1.1"), "b");
  CHECK_INT(t_int(r, "c.2.1.x"), 1);
  CHECK_INT(km_toml_array_len(km_toml_get(r, "d")), 2);
  const km_toml_value *e = km_toml_get(r, "e");
  CHECK_INT(km_toml_array_len(e), 7);
  CHECK_INT(km_toml_type_of(km_toml_array_at(e, 0)), KM_TOML_INT);
  CHECK_INT(km_toml_type_of(km_toml_array_at(e, 1)), KM_TOML_STRING);
  CHECK_INT(km_toml_type_of(km_toml_array_at(e, 2)), KM_TOML_FLOAT);
  CHECK_INT(km_toml_type_of(km_toml_array_at(e, 3)), KM_TOML_BOOL);
  CHECK_INT(km_toml_type_of(km_toml_array_at(e, 4)), KM_TOML_DATETIME);
  CHECK_INT(km_toml_type_of(km_toml_array_at(e, 5)), KM_TOML_ARRAY);
  CHECK_INT(km_toml_type_of(km_toml_array_at(e, 6)), KM_TOML_TABLE);
  CHECK(km_toml_array_at(e, 7) == NULL);
  CHECK_STR(t_str(r, "f.0"), "x\ny");
  CHECK_STR(t_str(r, "f.1"), "z");
  km_toml_free(d);
}

static void test_inline_tables(void) {
  km_toml_doc *d = t_parse(
      "name = { first = \"Tom\", last = \"Preston-Werner\" }\n"
      "point = {x=1,y=2}\nempty = {}\n"
      "animal = { type.name = \"pug\", type.size = 2 }\n"
      "nest = { a = { b = [ { c = 1 } ] } }\n");
  CHECK(d);
  const km_toml_value *r = km_toml_root(d);
  CHECK_STR(t_str(r, "name.last"), "Preston-Werner");
  CHECK_INT(t_int(r, "point.y"), 2);
  CHECK_INT(km_toml_table_len(km_toml_get(r, "empty")), 0);
  CHECK_STR(t_str(r, "animal.type.name"), "pug");
  CHECK_INT(t_int(r, "animal.type.size"), 2);
  CHECK_INT(t_int(r, "nest.a.b.0.c"), 1);
  km_toml_free(d);
}

static void test_tables_and_keys(void) {
  km_toml_doc *d = t_parse(
      "\xEF\xBB\xBF# with a byte order mark\n"
      "\"quoted key\" = 1\n'literal \"key\"' = 2\n\"\" = 3\n"
      "a.b.c = 4\na . \"d e\" . f = 5\n1234 = 6\ntrue = 7\n3.14 = 8\n"
      "bare-key_9 = 9\n"
      "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n"
      "[fruit.apple.texture]\nsmooth = true\n"
      "[x.y.z.w]\n[x]\nk = 1\n"
      "[ spaced . \"header\" ]\nv = 1\n"
      "[[products]]\nname = \"Hammer\"\n[[products]]\n[[products]]\nname = \"Nail\"\n"
      "[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n"
      "[[fruits.varieties]]\nname = \"red delicious\"\n"
      "[[fruits.varieties]]\nname = \"granny smith\"\n"
      "[[fruits]]\nname = \"banana\"\n[[fruits.varieties]]\nname = \"plantain\"\n"
      "[[ spaced_aot ]]\n"
      "[a.x]\n[a.b.z]\n");
  CHECK(d);
  const km_toml_value *r = km_toml_root(d);
  CHECK_INT(t_int(r, "quoted key"), 1);
  CHECK_INT(t_int(r, "literal \"key\""), 2);
  CHECK_INT(t_int(km_toml_getn(r, "", 0), ""), -424242);
  int64_t v;
  CHECK(km_toml_int(km_toml_getn(r, "", 0), &v) && v == 3);
  CHECK_INT(t_int(r, "a.b.c"), 4);
  CHECK_INT(t_int(km_toml_get(km_toml_get(r, "a"), "d e"), "f"), 5);
  CHECK_INT(t_int(r, "1234"), 6);
  CHECK_INT(t_int(r, "true"), 7);
  CHECK_INT(t_int(km_toml_get(r, "3"), "14"), 8);
  CHECK_INT(t_int(r, "bare-key_9"), 9);
  CHECK_STR(t_str(r, "fruit.apple.color"), "red");
  bool b;
  CHECK(km_toml_bool(km_toml_path(r, "fruit.apple.texture.smooth"), &b) && b);
  CHECK(km_toml_bool(km_toml_path(r, "fruit.apple.taste.sweet"), &b) && b);
  CHECK_INT(t_int(r, "x.k"), 1);
  CHECK_INT(km_toml_type_of(km_toml_path(r, "x.y.z.w")), KM_TOML_TABLE);
  CHECK_INT(t_int(km_toml_get(r, "spaced"), "header.v"), 1);
  CHECK_INT(km_toml_array_len(km_toml_get(r, "products")), 3);
  CHECK_STR(t_str(r, "products.0.name"), "Hammer");
  CHECK_INT(km_toml_table_len(km_toml_path(r, "products.1")), 0);
  CHECK_STR(t_str(r, "products.2.name"), "Nail");
  CHECK_STR(t_str(r, "fruits.0.physical.color"), "red");
  CHECK_STR(t_str(r, "fruits.0.varieties.1.name"), "granny smith");
  CHECK_STR(t_str(r, "fruits.1.varieties.0.name"), "plantain");
  CHECK_INT(km_toml_array_len(km_toml_path(r, "fruits.1.varieties")), 1);
  CHECK_INT(km_toml_array_len(km_toml_get(r, "spaced_aot")), 1);
  CHECK_INT(km_toml_type_of(km_toml_path(r, "a.b.z")), KM_TOML_TABLE);
  /* Document order of the root's keys. */
  static const char *const order[] = {"quoted key", "literal \"key\"", "", "a",
      "1234", "true", "3", "bare-key_9", "fruit", "x", "spaced", "products",
      "fruits", "spaced_aot"};
  CHECK_INT(km_toml_table_len(r), KU_COUNT(order));
  for (size_t i = 0; i < KU_COUNT(order); i++) {
    const char *k;
    size_t n;
    CHECK(km_toml_table_at(r, i, &k, &n));
    CHECK_STR(k, order[i]);
    CHECK_INT(n, strlen(order[i]));
  }
  CHECK(km_toml_table_at(r, KU_COUNT(order), NULL, NULL) == NULL);
  km_toml_free(d);
}

/* The same key in different tables, and implicit tables defined later. */
static void test_table_edges(void) {
  km_toml_doc *d = t_parse(
      "[a.b.c]\nz = 9\n[a]\nb.y = 2\n"          /* dotted into an implicit table */
      "[p.q]\n[p]\nq2 = 1\n"
      "[[t]]\n[t.u]\nk = 1\n[[t]]\n[t.u]\nk = 2\n"
      "[s]\nk = 1\n[s2]\nk = 1\n");
  CHECK(d);
  const km_toml_value *r = km_toml_root(d);
  CHECK_INT(t_int(r, "a.b.c.z"), 9);
  CHECK_INT(t_int(r, "a.b.y"), 2);
  CHECK_INT(t_int(r, "t.0.u.k"), 1);
  CHECK_INT(t_int(r, "t.1.u.k"), 2);
  CHECK_INT(t_int(r, "s.k") + t_int(r, "s2.k"), 2);
  km_toml_free(d);
}

/* Small documents from the corners of the grammar that must parse. */
static void test_misc_valid(void) {
  static const char *const docs[] = {
    "", "\n\n", "# only a comment", "  \t # indented comment\n\t\n",
    "a = 1#c\nb = \"x\"#c\nc = [1]#c\n", "a=1\r\nb=2\r\n# c\r\n[t]\r\n",
    "- = 1\n_ = 2\n-_- = 3\n", "a = [ # c\n 1 # d\n , # e\n ]\n",
    "a = [[1], [\"x\"], [{}]]\n", "[a.b]\n[[a.c]]\n[a]\n",
    "[[a.b]]\nx = 1\n[a]\ny = 2\n", "a = {}\nb = { }\nc = {\ta = 1\t}\n",
    "\"\\u00e9\" = 1\n'\\u00e9' = 2\n", "a = \"\"\"\"\"\"\n", "a = \'\'\'\'\'\'\n",
    "a = \"\"\"\n\"\"\"\n", "a = \"\"\"\\\n\n\n\"\"\"\n", "a = \"\"\"x\\   \r\n  y\"\"\"\n",
    "a = 1979-05-27\nb = 1979-05-27 # date then comment\n", "x.y.z = 1\nx.y.w = 2\nx.v = 3\n",
    "[x]\n[x.y]\n[x.z]\n", "a = 0.0e0\nb = -0e-0\nc = 1_2.3_4e5_6\n",
  };
  for (size_t i = 0; i < KU_COUNT(docs); i++) {
    km_toml_doc *d = km_toml_parse(docs[i], strlen(docs[i]), "krait.toml", &t_err);
    if (!d) printf("doc %zu: %s\n", i, t_err.message);
    CHECK(d);
    km_toml_free(d);
  }
}

/* Lines recorded on values stay right across multi-line strings. */
static void test_lines(void) {
  km_toml_doc *d = t_parse("a = 1\nb = \"\"\"\n\nx\n\"\"\"\nc = [\n1,\n2]\n\n[t]\nd = 4\n");
  CHECK(d);
  const km_toml_value *r = km_toml_root(d);
  CHECK_INT(km_toml_line(km_toml_get(r, "a")), 1);
  CHECK_INT(km_toml_line(km_toml_get(r, "b")), 2);
  CHECK_INT(km_toml_line(km_toml_get(r, "c")), 6);
  CHECK_INT(km_toml_line(km_toml_path(r, "c.1")), 8);
  CHECK_INT(km_toml_line(km_toml_get(r, "t")), 10);
  CHECK_INT(km_toml_line(km_toml_path(r, "t.d")), 11);
  km_toml_free(d);
  /* an error after a multi-line string has the right line */
  CHECK_STR(t_fail("a = '''\n\n'''\nb = 1\nb = 2\n"),
            "krait.toml:5:1: duplicate key \"b\" (first defined at line 4)");
}

/* ---- errors --------------------------------------------------------------- */

typedef struct t_case { const char *toml, *message; } t_case;

/* Every error names line and column and what is wrong. */
static const t_case t_errors[] = {
  /* redefinitions */
  {"name = 1\npath = 2\n\n\npath = 3\n",
   "krait.toml:5:1: duplicate key \"path\" (first defined at line 2)"},
  {"[a]\nx = 1\n[b]\n[a]\n", "krait.toml:4:2: table [a] is defined twice (first as a table at line 1)"},
  {"[a.b]\n[a]\n[a]\n", "krait.toml:3:2: table [a] is defined twice (first as a table at line 2)"},
  {"[a]\nb = 1\n[a.b]\n", "krait.toml:3:4: key \"b\" is already defined as an integer at line 2; it cannot become a table"},
  {"[a]\nb.c = 1\n[a.b]\n", "krait.toml:3:4: table [a.b] is defined twice (first with dotted keys at line 2)"},
  {"[fruit]\napple.color = 1\napple.taste.sweet = true\n[fruit.apple.taste]\n",
   "krait.toml:4:14: table [fruit.apple.taste] is defined twice (first with dotted keys at line 3)"},
  {"a = 1\na.b = 2\n", "krait.toml:2:1: key \"a\" is already defined as an integer at line 1; dotted keys cannot add to it"},
  {"a = \"s\"\n[a.b]\n", "krait.toml:2:2: key \"a\" is already defined as a string at line 1; a table header cannot extend it"},
  {"\"a\" = 1\na = 2\n", "krait.toml:2:1: duplicate key \"a\" (first defined at line 1)"},
  {"\"\\u00e9\" = 1\n\"\xC3\xA9\" = 2\n", "krait.toml:2:1: duplicate key \"\xC3\xA9\" (first defined at line 1)"},
  {"'a b' = 1\n\"a b\" = 2\n", "krait.toml:2:1: duplicate key \"a b\" (first defined at line 1)"},
  {"[a]\nb = 1\n[a]\nc = 2\n", "krait.toml:3:2: table [a] is defined twice (first as a table at line 1)"},
  /* arrays of tables */
  {"a = [1]\n[[a]]\n", "krait.toml:2:3: key \"a\" is already defined as an array at line 1; [[...]] cannot append to it"},
  {"[a]\n[[a]]\n", "krait.toml:2:3: key \"a\" is already defined as a table at line 1; [[...]] cannot append to it"},
  {"[[a]]\n[a]\n", "krait.toml:2:2: key \"a\" is already defined as an array of tables at line 1; it cannot become a table"},
  {"a = [{b = 1}]\n[a.c]\n", "krait.toml:2:2: key \"a\" is already defined as an array at line 1; a table header cannot extend it"},
  {"[[a.b]]\n[a]\nb.y = 2\n", "krait.toml:3:1: key \"b\" is already defined as an array of tables at line 1; dotted keys cannot add to it"},
  /* inline tables are closed */
  {"a = {b = 1}\n[a]\n", "krait.toml:2:2: table [a] is defined twice (first as an inline table at line 1)"},
  {"a = {b = 1}\n[a.c]\n", "krait.toml:2:2: table \"a\" was defined inline at line 1 and cannot be extended"},
  {"a = {b = 1}\na.c = 2\n", "krait.toml:2:1: table \"a\" was defined inline at line 1 and cannot be extended with dotted keys here"},
  {"a = {b = {c = 1}, b.d = 2}\n", "krait.toml:1:19: table \"b\" was defined inline at line 1 and cannot be extended with dotted keys here"},
  {"[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n", "krait.toml:4:3: table \"c\" was defined by a [table] header at line 1 and cannot be extended with dotted keys here"},
  {"[a]\nb.c = 1\n[x]\n[a]\n", "krait.toml:4:2: table [a] is defined twice (first as a table at line 1)"},
  {"[a]\nb.c = 1\n[a.d]\n[a]\n", "krait.toml:4:2: table [a] is defined twice (first as a table at line 1)"},
  {"a = {x = 1, x = 2}\n", "krait.toml:1:13: duplicate key \"x\" (first defined at line 1)"},
  {"a = {x = 1,}\n", "krait.toml:1:12: trailing comma is not allowed in an inline table"},
  {"a = {x = 1\n}\n", "krait.toml:1:11: expected ',' or '}' in inline table, found end of line (inline tables must be on one line)"},
  {"a = {x = 1 y = 2}\n", "krait.toml:1:12: expected ',' or '}' in inline table, found 'y'"},
  /* keys */
  {"a$b = 1\n", "krait.toml:1:2: invalid character '$' in bare key"},
  {"a b = 1\n", "krait.toml:1:3: expected '=' after key, found 'b'"},
  {"= 1\n", "krait.toml:1:1: expected a key, found '='"},
  {"a = 1 b = 2\n", "krait.toml:1:7: expected end of line after value, found 'b'"},
  {"\xC3\xA9 = 1\n", "krait.toml:1:1: expected a key, found byte 0xC3 (non-ASCII keys must be quoted)"},
  {"a. = 1\n", "krait.toml:1:4: expected a key, found '='"},
  {"\"\"\"a\"\"\" = 1\n", "krait.toml:1:1: multi-line strings cannot be keys"},
  {"a\n", "krait.toml:1:2: expected '=' after key, found end of line"},
  {"a =\n", "krait.toml:1:4: expected a value, found end of line"},
  {"a = ", "krait.toml:1:5: expected a value, found end of input"},
  {"a = # c\n", "krait.toml:1:5: expected a value, found '#'"},
  /* headers */
  {"[]\n", "krait.toml:1:2: expected a key, found ']'"},
  {"[a\n", "krait.toml:1:3: expected ']' to close the table header, found end of line"},
  {"[[a]\n", "krait.toml:1:4: expected ']]' to close the table header, found ']'"},
  {"[ [a]]\n", "krait.toml:1:3: expected a key, found '['"},
  {"[a] b = 1\n", "krait.toml:1:5: expected end of line after table header, found 'b'"},
  {"[a]]\n", "krait.toml:1:4: expected end of line after table header, found ']'"},
  /* strings */
  {"a = \"abc\n", "krait.toml:1:9: newline in a single-line string"},
  {"a = \"abc", "krait.toml:1:5: unterminated string (end of input)"},
  {"a = '''\nabc\n", "krait.toml:1:5: unterminated string (end of input)"},
  {"a = \"\\q\"\n", "krait.toml:1:6: invalid escape sequence \"\\q\" in string"},
  {"a = \"\\e\"\n", "krait.toml:1:6: invalid escape sequence \"\\e\" in string"},
  {"a = \"\\uD800\"\n", "krait.toml:1:6: escape \\uD800 is not a Unicode scalar value"},
  {"a = \"\\U00110000\"\n", "krait.toml:1:6: escape \\U00110000 is not a Unicode scalar value"},
  {"a = \"\\u12G4\"\n", "krait.toml:1:6: \\u escape needs 4 hex digits"},
  {"a = \"\\\n\"\n", "krait.toml:1:6: invalid escape: backslash followed by end of line"},
  {"a = \"\"\"x\\ y\"\"\"\n", "krait.toml:1:9: a backslash followed by spaces must end the line"},
  {"a = \"\"\"x\"\"\"\"\"\"\n", "krait.toml:1:9: too many quotes in a row in a multi-line string"},
  {"a = \"x\x01\"\n", "krait.toml:1:7: control character U+0001 is not allowed in a string"},
  {"a = \"x\x7f\"\n", "krait.toml:1:7: control character U+007F is not allowed in a string"},
  {"a = '''x\x1b'''\n", "krait.toml:1:9: control character U+001B is not allowed in a multi-line string"},
  {"a = 'x\ny'\n", "krait.toml:1:7: newline in a single-line string"},
  {"a = \"\"\"x\ry\"\"\"\n", "krait.toml:1:9: carriage return not followed by a newline"},
  /* comments and whitespace */
  {"# ok\n# bad \x01 char\n", "krait.toml:2:7: control character U+0001 is not allowed in a comment"},
  {"a = 1\r\nb = 2\rc = 3\n", "krait.toml:2:6: carriage return not followed by a newline"},
  {"a = 1 # x\x7f\n", "krait.toml:1:10: control character U+007F is not allowed in a comment"},
  /* UTF-8 */
  {"a = \"\xC3\"\n", "krait.toml:1:6: invalid UTF-8 (byte 0xC3)"},
  {"a = 1\n# \xC0\xAF\n", "krait.toml:2:3: invalid UTF-8 (byte 0xC0)"},
  {"a = \"\xED\xA0\x80\"\n", "krait.toml:1:6: invalid UTF-8 (byte 0xED)"},
  {"a = \"\xF4\x90\x80\x80\"\n", "krait.toml:1:6: invalid UTF-8 (byte 0xF4)"},
  {"a = \"\xE0\x80\xAF\"\n", "krait.toml:1:6: invalid UTF-8 (byte 0xE0)"},
  {"a = \"\xFF\"\n", "krait.toml:1:6: invalid UTF-8 (byte 0xFF)"},
  {"a = \"\xC3\xA9\"\nb = \"\xC3\xA9\" x\n", "krait.toml:2:9: expected end of line after value, found 'x'"},
  /* integers */
  {"a = 01\n", "krait.toml:1:5: leading zeros are not allowed in \"01\""},
  {"a = -01\n", "krait.toml:1:5: leading zeros are not allowed in \"-01\""},
  {"a = 00\n", "krait.toml:1:5: leading zeros are not allowed in \"00\""},
  {"a = 1__0\n", "krait.toml:1:5: invalid value \"1__0\""},
  {"a = _1\n", "krait.toml:1:5: invalid value \"_1\""},
  {"a = 1_\n", "krait.toml:1:5: invalid value \"1_\""},
  {"a = 9223372036854775808\n", "krait.toml:1:5: integer \"9223372036854775808\" does not fit in 64 bits"},
  {"a = -9223372036854775809\n", "krait.toml:1:5: integer \"-9223372036854775809\" does not fit in 64 bits"},
  {"a = 0x8000000000000000\n", "krait.toml:1:5: integer \"0x8000000000000000\" does not fit in 64 bits"},
  {"a = +0x10\n", "krait.toml:1:5: a sign is not allowed on hex, octal or binary integers"},
  {"a = 0x\n", "krait.toml:1:5: invalid number \"0x\""},
  {"a = 0xG\n", "krait.toml:1:5: invalid base-16 integer \"0xG\""},
  {"a = 0o8\n", "krait.toml:1:5: invalid base-8 integer \"0o8\""},
  {"a = 0b102\n", "krait.toml:1:5: invalid base-2 integer \"0b102\""},
  {"a = 0X10\n", "krait.toml:1:5: invalid number \"0X10\""},
  {"a = 1 2\n", "krait.toml:1:7: expected end of line after value, found '2'"},
  /* floats */
  {"a = 1.\n", "krait.toml:1:5: a decimal point needs digits on both sides in \"1.\""},
  {"a = .5\n", "krait.toml:1:5: invalid value \".5\""},
  {"a = 1.e5\n", "krait.toml:1:5: a decimal point needs digits on both sides in \"1.e5\""},
  {"a = 1e\n", "krait.toml:1:5: invalid exponent in \"1e\""},
  {"a = 1e_5\n", "krait.toml:1:5: invalid exponent in \"1e_5\""},
  {"a = 01.5\n", "krait.toml:1:5: leading zeros are not allowed in \"01.5\""},
  {"a = 1.5.5\n", "krait.toml:1:5: invalid number \"1.5.5\""},
  {"a = 1e400\n", "krait.toml:1:5: float \"1e400\" is out of range"},
  {"a = infinity\n", "krait.toml:1:5: invalid value \"infinity\""},
  {"a = Inf\n", "krait.toml:1:5: invalid value \"Inf\""},
  {"a = NaN\n", "krait.toml:1:5: invalid value \"NaN\""},
  {"a = 1.5_\n", "krait.toml:1:5: a decimal point needs digits on both sides in \"1.5_\""},
  /* booleans */
  {"a = True\n", "krait.toml:1:5: invalid value \"True\""},
  {"a = truex\n", "krait.toml:1:5: invalid value \"truex\""},
  /* dates */
  {"a = 1979-02-29\n", "krait.toml:1:5: invalid date or time \"1979-02-29\""},
  {"a = 1979-13-01\n", "krait.toml:1:5: invalid date or time \"1979-13-01\""},
  {"a = 1979-05-27T24:00:00\n", "krait.toml:1:5: invalid date or time \"1979-05-27T24:00:00\""},
  {"a = 1979-05-27T07:32\n", "krait.toml:1:5: invalid date or time \"1979-05-27T07:32\""},
  {"a = 07:32\n", "krait.toml:1:5: invalid date or time \"07:32\""},
  {"a = 1979-05-27T07:32:00.\n", "krait.toml:1:5: invalid date or time \"1979-05-27T07:32:00.\""},
  {"a = 1979-05-27T07:32:00+0700\n", "krait.toml:1:5: invalid date or time \"1979-05-27T07:32:00+0700\""},
  {"a = 1979-5-27\n", "krait.toml:1:5: invalid date or time \"1979-5-27\""},
  {"a = 1979-05-27X07:32:00\n", "krait.toml:1:5: invalid date or time \"1979-05-27X07:32:00\""},
  /* arrays */
  {"a = [1 2]\n", "krait.toml:1:8: expected ',' or ']' in array, found '2'"},
  {"a = [1,,2]\n", "krait.toml:1:8: expected a value, found ','"},
  {"a = [,]\n", "krait.toml:1:6: expected a value, found ','"},
  {"a = [1\n", "krait.toml:2:1: expected ',' or ']' in array, found end of input"},
  {"a = [1,\n2\n", "krait.toml:3:1: expected ',' or ']' in array, found end of input"},
  {"a = [\"x\" # c \x02\n]\n", "krait.toml:1:14: control character U+0002 is not allowed in a comment"},
};

static void test_errors(void) {
  for (size_t i = 0; i < KU_COUNT(t_errors); i++) {
    const char *got = t_fail(t_errors[i].toml);
    if (strcmp(got, t_errors[i].message) != 0)
      printf("case %zu: %s\n", i, t_errors[i].toml);
    CHECK_STR(got, t_errors[i].message);
    CHECK(!t_err.out_of_memory);
    CHECK(t_err.line > 0 && t_err.col > 0);
  }
}

/* The error fields and the default name. */
static void test_error_fields(void) {
  km_toml_error e;
  CHECK(!km_toml_parse("a = 1\n  b = \xC3\xA9\n", 15, NULL, &e));
  CHECK_INT(e.line, 2);
  CHECK_INT(e.col, 7);
  CHECK_STR(e.message, "toml:2:7: expected a value, found byte 0xC3");
  CHECK(!km_toml_parse("a = ", 4, "x", NULL));  /* err may be NULL */
  /* The buffer need not be NUL-terminated; nothing past len is read. */
  char buf[5] = {'a', '=', '1', '2', '3'};
  km_toml_doc *d = km_toml_parse(buf, 4, "x", &e);
  CHECK(d);
  CHECK_INT(t_int(km_toml_root(d), "a"), 12);
  km_toml_free(d);
  d = km_toml_parse(NULL, 0, "x", &e);
  CHECK(d);
  CHECK_INT(km_toml_table_len(km_toml_root(d)), 0);
  km_toml_free(d);
  km_toml_free(NULL);
}

/* ---- API -------------------------------------------------------------------- */

static void test_lookup_api(void) {
  km_toml_doc *d = t_parse("\"a\\u0000b\" = 1\n\"x.y\" = 2\n[t]\ns = 'v'\narr = [10, 20]\n");
  CHECK(d);
  const km_toml_value *r = km_toml_root(d);
  int64_t v;
  CHECK(km_toml_int(km_toml_getn(r, "a\0b", 3), &v) && v == 1);
  CHECK(km_toml_get(r, "a") == NULL);
  CHECK(km_toml_int(km_toml_get(r, "x.y"), &v) && v == 2);
  CHECK(km_toml_path(r, "x.y") == NULL);
  CHECK_INT(t_int(r, "t.arr.1"), 20);
  CHECK(km_toml_path(r, "t.arr.2") == NULL);
  CHECK(km_toml_path(r, "t.arr.x") == NULL);
  CHECK(km_toml_path(r, "t.arr.") == NULL);
  CHECK(km_toml_path(r, "t.arr.99999999999999999999999") == NULL);
  CHECK(km_toml_path(r, "t.s.x") == NULL);
  CHECK(km_toml_path(r, "nope") == NULL);
  CHECK(km_toml_path(NULL, "t") == NULL);
  CHECK(km_toml_path(r, NULL) == NULL);
  CHECK(km_toml_path(r, "t") == km_toml_get(r, "t"));
  /* wrong types and NULLs */
  const km_toml_value *s = km_toml_path(r, "t.s");
  double f;
  bool b;
  const char *str;
  CHECK(!km_toml_int(s, &v) && !km_toml_float(s, &f) && !km_toml_bool(s, &b));
  CHECK(!km_toml_datetime(s, &str, NULL, NULL));
  CHECK(!km_toml_string(NULL, &str, NULL) && !km_toml_int(NULL, &v));
  CHECK(km_toml_string(s, NULL, NULL));
  CHECK(km_toml_get(s, "x") == NULL && km_toml_get(NULL, "x") == NULL);
  CHECK(km_toml_get(r, NULL) == NULL);
  CHECK_INT(km_toml_table_len(s), 0);
  CHECK_INT(km_toml_array_len(s), 0);
  CHECK(km_toml_array_at(s, 0) == NULL && km_toml_table_at(s, 0, NULL, NULL) == NULL);
  CHECK(km_toml_root(NULL) == NULL);
  CHECK_INT(km_toml_line(NULL), 0);
  CHECK_STR(km_toml_type_name(KM_TOML_TABLE), "table");
  CHECK_STR(km_toml_type_name(KM_TOML_BOOL), "boolean");
  CHECK_STR(km_toml_type_name((km_toml_type)99), "?");
  km_toml_free(d);
}

/* ---- a realistic manifest ------------------------------------------------ */

static const char t_manifest[] =
    "# krait.toml -- the shop example\n"
    "name = \"shop\"\n"
    "version = 3\n"
    "\n"
    "[app]\n"
    "module = \"app.py\"\n"
    "entry = \"handle\"\n"
    "env = { LOG_LEVEL = \"info\", DEBUG = false }\n"
    "\n"
    "[app.limits]\n"
    "timeout = 2.5      # seconds\n"
    "memory_mb = 128\n"
    "max_body = 1_048_576\n"
    "\n"
    "[[route]]\n"
    "path = \"/\"\n"
    "method = \"GET\"\n"
    "handler = \"index\"\n"
    "\n"
    "[[route]]\n"
    "path = \"/cart/{id}\"\n"
    "methods = [\"GET\", \"POST\",]\n"
    "handler = \"cart\"\n"
    "kv = \"sessions\"\n"
    "\n"
    "[key_value_stores.sessions]\n"
    "backend = \"sqlite\"\n"
    "path = \"data/sessions.db\"\n"
    "\n"
    "[key_value_stores.cache]\n"
    "backend = \"redis\"\n"
    "url = 'redis://localhost:6379/0'\n"
    "ttl = 0x3c\n";

static void test_manifest(void) {
  km_toml_doc *d = t_parse(t_manifest);
  CHECK(d);
  const km_toml_value *r = km_toml_root(d);
  CHECK_STR(t_str(r, "name"), "shop");
  CHECK_STR(t_str(r, "app.module"), "app.py");
  CHECK_STR(t_str(r, "app.env.LOG_LEVEL"), "info");
  CHECK(t_flt(r, "app.limits.timeout") == 2.5);
  CHECK_INT(t_int(r, "app.limits.max_body"), 1048576);
  const km_toml_value *routes = km_toml_get(r, "route");
  CHECK_INT(km_toml_array_len(routes), 2);
  CHECK_STR(t_str(routes, "1.path"), "/cart/{id}");
  CHECK_STR(t_str(routes, "1.methods.1"), "POST");
  CHECK_INT(km_toml_line(km_toml_path(routes, "1.path")), 21);
  const km_toml_value *kv = km_toml_get(r, "key_value_stores");
  CHECK_INT(km_toml_table_len(kv), 2);
  const char *name;
  const km_toml_value *store = km_toml_table_at(kv, 0, &name, NULL);
  CHECK_STR(name, "sessions");
  CHECK_STR(t_str(store, "backend"), "sqlite");
  store = km_toml_table_at(kv, 1, &name, NULL);
  CHECK_STR(name, "cache");
  CHECK_STR(t_str(store, "backend"), "redis");
  CHECK_INT(t_int(store, "ttl"), 60);
  km_toml_free(d);
  /* A second [[route]] key collides only inside its own table. */
  static const char dup[] = "[[route]]\npath = \"/\"\n[[route]]\npath = \"/a\"\npath = \"/b\"\n";
  CHECK_STR(t_fail(dup), "krait.toml:5:1: duplicate key \"path\" (first defined at line 4)");
}

/* ---- the manifest's names and paths ----------------------------------------- */

static char t_merr[1024];

/* Parses a krait.toml text (as /srv/site/krait.toml; confined: as an
** artifact's); NULL with t_merr. */
static km_manifest *t_manifest_of(const char *text, bool confined) {
  km_source src = { confined ? "its krait.toml" : "/srv/site/krait.toml", "/srv/site", NULL, confined };
  t_merr[0] = '\0';
  return km_manifest_read(text, strlen(text), &src, t_merr, sizeof t_merr);
}

/* The error of a manifest that must be refused ("(parsed)" if it was not). */
static const char *t_manifest_fail(const char *text, bool confined) {
  km_manifest *m = t_manifest_of(text, confined);
  if (m) { km_manifest_free(m); return "(parsed)"; }
  return t_merr;
}

/* App and store names: a safe alphabet, no "..", at most 64 bytes; the
** error names the file, the line and the name (escaped). */
static void test_manifest_names(void) {
  static const char *const good[] = { "hello", "a", "A1", "my-app_2.v3", "0day",
      "x234567890123456789012345678901234567890123456789012345678901234" };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    CHECK(km_name_ok(good[i]));
    char text[256];
    snprintf(text, sizeof text, "[app]\nname = \"%s\"\nstyle = \"spin\"\n", good[i]);
    km_manifest *m = t_manifest_of(text, false);
    CHECK(m);
    CHECK_STR(m->apps[0].name, good[i]);
    km_manifest_free(m);
  }
  static const char *const bad[] = { "", "../../../x", "..", "a..b", "/etc/x", "a/b", ".hidden",
      "-rf", "_x", "sp ace", "tab\\t", "quo\\\"te", "\\u00e9t\\u00e9",
      "x2345678901234567890123456789012345678901234567890123456789012345" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, "# c\n[app]\nstyle = \"spin\"\nname = \"%s\"\n", bad[i]);
    const char *e = t_manifest_fail(text, false);
    CHECK_CONTAINS(e, "/srv/site/krait.toml:4: app name \"");
    CHECK_CONTAINS(e, "\" is not allowed: use 1 to 64 letters, digits");
  }
  CHECK_STR(t_manifest_fail("[app]\nstyle = \"spin\"\nname = \"../../../x\"\n", false),
            "/srv/site/krait.toml:3: app name \"../../../x\" is not allowed: use 1 to 64 letters, "
            "digits, '_', '.' or '-', starting with a letter or digit, without \"..\"");
  CHECK_CONTAINS(t_manifest_fail("[app]\nstyle = \"spin\"\nname = \"a\\nb\\\"c\"\n", false),
                 "app name \"a\\x0ab\\x22c\" is not allowed");
  CHECK(!km_name_ok("../x") && !km_name_ok("x/..") && !km_name_ok(""));
  /* store names become .krait/NAME.db: the same rule */
  CHECK_STR(t_manifest_fail("[app]\nstyle = \"spin\"\nkey_value_stores = [\"../../up\"]\n"
                            "\n[key_value_stores.\"../../up\"]\nbackend = \"sqlite\"\n", false),
            "/srv/site/krait.toml:5: key-value store name \"../../up\" is not allowed: use 1 to 64 "
            "letters, digits, '_', '.' or '-', starting with a letter or digit, without \"..\"");
  km_manifest *m = t_manifest_of("[app]\nstyle = \"spin\"\nkey_value_stores = [\"FOO\", \"default\"]\n"
                                 "[key_value_stores.FOO]\n", false);
  CHECK(m);
  CHECK_INT(m->nstores, 2);
  CHECK_STR(m->stores[0].path, "/srv/site/.krait/FOO.db");
  CHECK_STR(m->stores[1].path, "/srv/site/.krait/default.db");
  km_manifest_free(m);
}

/* An artifact's manifest (confined) names no path outside its files and
** the serve directory; an operator's krait.toml may. */
static void test_manifest_confined(void) {
  static const char app[] = "[app]\nname = \"a\"\nstyle = \"spin\"\ndir = \"app\"\n"
                            "site_packages = [\"site-packages/0\"]\nkey_value_stores = [\"S\"]\n"
                            "[key_value_stores.S]\npath = \"%s\"\n";
  char text[512];
  snprintf(text, sizeof text, app, "data/s.db");
  km_manifest *m = t_manifest_of(text, true);
  CHECK(m);
  CHECK_STR(m->apps[0].dir, "/srv/site/app");
  CHECK_STR(m->apps[0].site_packages[0], "/srv/site/site-packages/0");
  CHECK_STR(m->stores[0].path, "/srv/site/data/s.db");
  km_manifest_free(m);
  static const char *const bad[][2] = {
    { "/tmp/evil.db", "is absolute" }, { "../evil.db", "has a \"..\" part" },
    { "data/../../evil.db", "has a \"..\" part" }, { "./x.db", "has a \".\" part" },
    { "data//x.db", "has an empty part" }, { "data/", "has an empty part" }, { "", "is empty" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(text, sizeof text, app, bad[i][0]);
    const char *e = t_manifest_fail(text, true);
    CHECK_CONTAINS(e, "its krait.toml:8: key_value_stores.S path \"");
    CHECK_CONTAINS(e, bad[i][1]);
    CHECK_CONTAINS(e, "an artifact's paths must stay inside it");
    m = t_manifest_of(text, false);   /* the operator's krait.toml: as written */
    bool parsed = m != NULL;
    km_manifest_free(m);
    CHECK(parsed);
  }
  CHECK_STR(t_manifest_fail("[app]\nstyle = \"spin\"\ndir = \"/etc\"\n", true),
            "its krait.toml:3: dir \"/etc\" is absolute: an artifact's paths must stay inside it and "
            "the directory it is served from (relative, without \"..\")");
  CHECK_CONTAINS(t_manifest_fail("[app]\nstyle = \"spin\"\nsite_packages = [\"ok\",\n \"../../usr/lib\"]\n", true),
                 "its krait.toml:4: site_packages \"../../usr/lib\" has a \"..\" part");
  CHECK_STR(km_path_unconfined("/x"), "is absolute");
  CHECK(km_path_unconfined("a/b.c/..d") == NULL);
  CHECK(km_path_unconfined("...") == NULL);
}

/* A store's durability: "process" (default) or "power", refused with
** file:line otherwise or on a redis store; written back into an
** artifact's manifest; two declarations that differ in it clash. */
/* [app.limits] max_outbound_connections and max_outbound_mb: defaults,
** checked ranges at their line, and krait build's manifest round trip. */
static void test_manifest_outbound_limits(void) {
  static const char base[] = "[app]\nname = \"a\"\nstyle = \"spin\"\n[app.limits]\n%s\n";
  char text[512];
  snprintf(text, sizeof text, base, "");
  km_manifest *m = t_manifest_of(text, false);
  CHECK(m);
  CHECK_INT(m->apps[0].max_outbound_conns, 50);
  CHECK_INT(m->apps[0].max_outbound_mb, 64);
  km_manifest_free(m);
  m = t_manifest_of("[app]\nname = \"a\"\nstyle = \"spin\"\n", false);
  CHECK(m);
  CHECK_INT(m->apps[0].max_outbound_conns, 50);
  CHECK_INT(m->apps[0].max_outbound_mb, 64);
  km_manifest_free(m);
  snprintf(text, sizeof text, base, "max_outbound_connections = 7\nmax_outbound_mb = 3");
  m = t_manifest_of(text, false);
  CHECK(m);
  CHECK_INT(m->apps[0].max_outbound_conns, 7);
  CHECK_INT(m->apps[0].max_outbound_mb, 3);
  char *out = km_app_format(m, &m->apps[0]);
  km_manifest_free(m);
  CHECK(out);
  km_manifest *back = t_manifest_of(out, true);
  free(out);
  CHECK(back);
  CHECK_INT(back->apps[0].max_outbound_conns, 7);
  CHECK_INT(back->apps[0].max_outbound_mb, 3);
  km_manifest_free(back);
  static const char *const bad[][2] = {
    { "max_outbound_connections = 0",
      "/srv/site/krait.toml:5: max_outbound_connections = 0 is out of range: 1..100000" },
    { "max_outbound_connections = 100001",
      "/srv/site/krait.toml:5: max_outbound_connections = 100001 is out of range: 1..100000" },
    { "max_outbound_mb = 0", "/srv/site/krait.toml:5: max_outbound_mb = 0 is out of range: 1..1048576" },
    { "fuel = 1\nmax_outbound_mb = 1048577",
      "/srv/site/krait.toml:6: max_outbound_mb = 1048577 is out of range: 1..1048576" },
    { "max_outbound_mb = -1", "/srv/site/krait.toml:5: max_outbound_mb must be a non-negative integer" },
    { "max_outbound_connections = \"50\"",
      "/srv/site/krait.toml:5: max_outbound_connections must be a non-negative integer" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(text, sizeof text, base, bad[i][0]);
    const char *e = t_manifest_fail(text, false);
    if (strncmp(e, bad[i][1], strlen(bad[i][1])) != 0) printf("  got: %s\n", e);
    CHECK(strncmp(e, bad[i][1], strlen(bad[i][1])) == 0);
  }
}

static void test_manifest_durability(void) {
  static const char base[] = "[app]\nname = \"a\"\nstyle = \"spin\"\nkey_value_stores = [\"S\"]\n"
                             "[key_value_stores.S]\n%s\n";
  char text[512];
  snprintf(text, sizeof text, base, "durability = \"power\"");
  km_manifest *m = t_manifest_of(text, false);
  CHECK(m);
  CHECK(m->stores[0].power);
  char *out = km_app_format(m, &m->apps[0]);
  km_manifest_free(m);
  CHECK(out);
  bool wrote = strstr(out, "durability = \"power\"\n") != NULL;
  km_manifest *back = t_manifest_of(out, true);   /* an artifact's reads it back */
  free(out);
  CHECK(wrote);
  CHECK(back && back->stores[0].power);
  km_manifest_free(back);
  snprintf(text, sizeof text, base, "");
  m = t_manifest_of(text, false);
  CHECK(m);
  CHECK(!m->stores[0].power);
  out = km_app_format(m, &m->apps[0]);
  km_manifest_free(m);
  CHECK(out);
  wrote = strstr(out, "durability = \"process\"\n") != NULL;
  free(out);
  CHECK(wrote);
  static const char *const bad[][2] = {
    { "durability = \"full\"", "/srv/site/krait.toml:6: durability \"full\" is not \"process\"" },
    { "durability = \"Power\"", "/srv/site/krait.toml:6: durability \"Power\" is not \"process\"" },
    { "durability = \"\"", "/srv/site/krait.toml:6: durability \"\" is not \"process\"" },
    { "durability = true", "/srv/site/krait.toml:6: durability must be a string, not " },
    { "durability = 2", "/srv/site/krait.toml:6: durability must be a string, not " },
    { "backend = \"redis\"\nurl = \"redis://h:1/0\"\ndurability = \"power\"",
      "/srv/site/krait.toml:8: durability is for sqlite stores" },
    { "synchronous = \"full\"", "/srv/site/krait.toml:6: unknown key \"synchronous\" in [key_value_stores]" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(text, sizeof text, base, bad[i][0]);
    CHECK_CONTAINS(t_manifest_fail(text, false), bad[i][1]);
  }
  /* one store, two durabilities: refused when manifests merge */
  snprintf(text, sizeof text, base, "durability = \"power\"");
  km_manifest *a = t_manifest_of(text, false);
  snprintf(text, sizeof text, "[app]\nname = \"b\"\nstyle = \"spin\"\nkey_value_stores = [\"S\"]\n"
                              "[key_value_stores.S]\n");
  km_manifest *b = t_manifest_of(text, false);
  CHECK(a && b);
  char err[512] = "";
  int rc = km_manifest_merge(a, b, err, sizeof err);
  km_manifest_free(a);
  if (rc != 0) km_manifest_free(b);   /* merged: a owns it */
  CHECK_INT(rc, -1);
  CHECK_CONTAINS(err, "declare key-value store \"S\" differently");
}

/* ---- variables ---------------------------------------------------------------- */

static const char t_vars_text[] =
  "[variables]\n"
  "color = { default = \"red\" }\n"
  "api_key = { required = true, secret = true }\n"
  "size = { default = \"s\", secret = false }\n"
  "[app]\nstyle = \"spin\"\n[app.variables]\n"
  "c = \"{{ color }}\"\n"
  "dsn = \"pg://u:{{api_key}}@h/{{  size\t}}\"\n"
  "plain = \"lit } {text} }}\"\n";

/* [variables] read with their defaults, flags and lines; templates
** checked, expanded, shaped; Spin's names; the artifact's manifest keeps
** declarations and templates, and reads back. */
static void test_manifest_variables(void) {
  km_manifest *m = t_manifest_of(t_vars_text, false);
  CHECK(m);
  if (!m) { printf("  %s\n", t_merr); return; }
  CHECK_INT(m->nvars, 3);
  CHECK_STR(m->vars[0].name, "color");
  CHECK_STR(m->vars[0].dflt, "red");
  CHECK(!m->vars[0].secret && !m->vars[0].required);
  CHECK(m->vars[1].required && m->vars[1].secret && !m->vars[1].dflt);
  const km_app *a = &m->apps[0];
  CHECK_STR(a->var_values[1], "pg://u:{{api_key}}@h/{{  size\t}}");
  char *vals[] = { "RED", "hunter2", "XL" };
  char *e = km_template_expand(m, a->var_values[1], vals);
  CHECK_STR(e, "pg://u:hunter2@h/XL");
  free(e);
  e = km_template_expand(m, a->var_values[2], vals);
  CHECK_STR(e, "lit } {text} }}");
  free(e);
  e = km_template_shape(m, a->var_values[1]);
  CHECK_STR(e, "pg://u:{{!}}@h/{{?}}");
  free(e);
  CHECK(km_template_dynamic(a->var_values[0]) && !km_template_dynamic(a->var_values[2]));
  CHECK(km_template_uses(m, a->var_values[1], -1) && !km_template_uses(m, a->var_values[0], -1));
  CHECK(km_template_uses(m, a->var_values[1], 2) && !km_template_uses(m, a->var_values[1], 0));
  char *out = km_app_format(m, a);
  CHECK_CONTAINS(out, "\"dsn\" = \"pg://u:{{api_key}}@h/{{  size\\u0009}}\"\n");
  CHECK_CONTAINS(out, "[variables]\ncolor = { default = \"red\", secret = false }\n"
                      "api_key = { required = true, secret = true }\nsize = { default = \"s\", secret = false }\n");
  km_manifest *back = out ? t_manifest_of(out, true) : NULL;
  CHECK(back && back->nvars == 3 && back->vars[1].secret && back->vars[1].required);
  km_manifest_free(back);
  free(out);
  km_manifest_free(m);
  /* an app that uses one variable carries only that declaration */
  m = t_manifest_of("[variables]\na = { default = \"1\" }\nb = { required = true }\n"
                    "[app]\nstyle = \"spin\"\n[app.variables]\nx = \"{{ a }}\"\n", false);
  out = m ? km_app_format(m, &m->apps[0]) : NULL;
  CHECK(out && strstr(out, "a = { default") && !strstr(out, "b = {"));
  free(out);
  km_manifest_free(m);
  static const char *const good[] = { "a", "api_key", "x1_y2", "abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcd" };
  static const char *const bad[] = { "", "A", "1a", "_a", "a_", "a__b", "a-b", "a.b", "\xc3\xa9",
                                     "abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcde" };
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) CHECK(km_var_name_ok(good[i]));
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(!km_var_name_ok(bad[i]));
}

/* Wrong [variables] entries and templates: each error names the file, the
** line and what is wrong. */
static void test_manifest_variable_errors(void) {
  static const char *const cases[][2] = {
    { "[variables]\na = { default = \"1\" }\n[app]\nstyle = \"spin\"\n[app.variables]\nk = \"{{ b }}\"\n",
      "/srv/site/krait.toml:6: app \"app1\" variable \"k\": \"{{ b }}\" refers to variable \"b\", which the "
      "[variables] table does not declare" },
    { "[app]\nstyle = \"spin\"\n[app.variables]\nk = \"x\"\nj = \"{{x}}\"\n",
      "/srv/site/krait.toml:5: app \"app1\" variable \"j\": \"{{x}}\" refers to variable \"x\", which the" },
    { "[variables]\na = { default = \"1\" }\n[app]\nstyle = \"spin\"\n[app.variables]\nk = \"{{ a }\"\n",
      "/srv/site/krait.toml:6: app \"app1\" variable \"k\": \"{{ a }\" has a \"{{\" without its \"}}\"" },
    { "[variables]\na = { default = \"1\" }\n[app]\nstyle = \"spin\"\n[app.variables]\nk = \"{{}}\"\n",
      "/srv/site/krait.toml:6: app \"app1\" variable \"k\": \"{{}}\" refers to \"\", which is not a variable name" },
    { "[variables]\na = { default = \"1\" }\n[app]\nstyle = \"spin\"\n[app.variables]\nk = \"{{ a b }}\"\n",
      "refers to \"a b\", which is not a variable name" },
    { "[variables]\nA = { default = \"1\" }\n[app]\nstyle = \"spin\"\n",
      "/srv/site/krait.toml:2: variable name \"A\" is not allowed" },
    { "[variables]\na = { required = false }\n[app]\nstyle = \"spin\"\n",
      "/srv/site/krait.toml:2: variable \"a\" needs a default = \"...\" or required = true" },
    { "[variables]\na = { required = true, default = \"x\" }\n[app]\nstyle = \"spin\"\n",
      "/srv/site/krait.toml:2: variable \"a\" needs either required = true or a default, not both" },
    { "[variables]\na = { default = 1 }\n[app]\nstyle = \"spin\"\n",
      "/srv/site/krait.toml:2: default must be a string, not integer" },
    { "[variables]\na = { default = \"1\", secret = \"yes\" }\n[app]\nstyle = \"spin\"\n",
      "/srv/site/krait.toml:2: secret must be true or false" },
    { "[variables]\na = { default = \"1\", hidden = true }\n[app]\nstyle = \"spin\"\n",
      "/srv/site/krait.toml:2: unknown key \"hidden\" in a [variables] entry" },
    { "[variables]\na = \"1\"\n[app]\nstyle = \"spin\"\n",
      "/srv/site/krait.toml:2: variable \"a\" must be a table" },
    { "variables = 3\n[app]\nstyle = \"spin\"\n", "/srv/site/krait.toml:1: variables must be a table" },
    { "[variables]\nk = { default = \"hunter2\", secret = true }\n[app]\nstyle = \"spin\"\n",
      "/srv/site/krait.toml:2: variable \"k\" is secret and has a default: a default is kept in the manifest "
      "and in every artifact built from it; make it required = true and set its value in the environment "
      "(KRAIT_VARIABLE_...) or the --variables-file" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) CHECK_CONTAINS(t_manifest_fail(cases[i][0], false), cases[i][1]);
  /* one variable declared differently by two artifacts: refused when merging */
  km_manifest *a = t_manifest_of("[variables]\nv = { default = \"1\" }\n[app]\nname = \"a\"\nstyle = \"spin\"\n"
                                 "[app.variables]\nk = \"{{v}}\"\n", false);
  km_manifest *b = t_manifest_of("[variables]\nv = { default = \"2\" }\n[app]\nname = \"b\"\n"
                                 "style = \"spin\"\nroute = \"/b\"\n", false);
  char err[512] = "";
  int rc = a && b ? km_manifest_merge(a, b, err, sizeof err) : 0;
  if (rc != 0) km_manifest_free(b);
  km_manifest_free(a);
  CHECK_INT(rc, -1);
  CHECK_CONTAINS(err, "declare variable \"v\" differently");
}

/* Writes text to path with mode (a --variables-file). */
static void t_write(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");
  if (f) { fputs(text, f); fclose(f); }
  chmod(path, mode);
}

/* km_vars_resolve: the environment over the file over the default; a
** required variable missing (all named); the file's mode, kind and names. */
static void test_variables_resolve(void) {
  km_manifest *m = t_manifest_of("[variables]\ncolor = { default = \"red\" }\nsize = { default = \"s\" }\n"
                                 "shape = { default = \"o\" }\nkey = { required = true, secret = true }\n"
                                 "pin = { required = true }\n[app]\nstyle = \"spin\"\n", false);
  CHECK(m);
  if (!m) return;
  char err[512], path[] = "/tmp/krait-test-vars-XXXXXX";
  int fd = mkstemp(path);
  if (fd >= 0) close(fd);
  unsetenv("KRAIT_VARIABLE_KEY");
  unsetenv("KRAIT_VARIABLE_PIN");
  unsetenv("KRAIT_VARIABLE_SIZE");
  setenv("KRAIT_VARIABLE_COLOR", "blue", 1);
  char **v = km_vars_resolve(m, NULL, err, sizeof err);
  CHECK(!v);
  CHECK_CONTAINS(err, "required variables \"key\" (KRAIT_VARIABLE_KEY), \"pin\" (KRAIT_VARIABLE_PIN) have no "
                 "value: set them in the environment or in the --variables-file");
  t_write(path, "color = \"green\"\nsize = \"m\"\nkey = \"k\"\npin = \"1\"\n", 0600);
  v = km_vars_resolve(m, path, err, sizeof err);
  CHECK(v && !strcmp(v[0], "blue") && !strcmp(v[1], "m") && !strcmp(v[2], "o") && !strcmp(v[3], "k"));
  km_vars_free(v, m->nvars);
  setenv("KRAIT_VARIABLE_PIN", "", 1);   /* empty is a value */
  t_write(path, "key = \"k\"\n", 0400);
  v = km_vars_resolve(m, path, err, sizeof err);
  CHECK(v && !strcmp(v[4], "") && !strcmp(v[1], "s"));
  km_vars_free(v, m->nvars);
  static const mode_t open_modes[] = { 0644, 0640, 0604, 0601, 0610 };
  for (size_t i = 0; i < sizeof open_modes / sizeof *open_modes; i++) {
    chmod(path, open_modes[i]);
    CHECK(!km_vars_resolve(m, path, err, sizeof err));
    CHECK_CONTAINS(err, "can be read or written by group or others");
    CHECK_CONTAINS(err, path);
  }
  CHECK(!km_vars_resolve(m, "/tmp", err, sizeof err));
  CHECK_CONTAINS(err, "--variables-file /tmp is not a regular file");
  t_write(path, "key = \"k\"\nkye = \"x\"\nPin = \"2\"\n", 0600);
  CHECK(!km_vars_resolve(m, path, err, sizeof err));
  CHECK_CONTAINS(err, "sets \"kye\", \"Pin\", which the manifest's [variables] table does not declare");
  t_write(path, "key = \"k\"\npin = [\"x\"]\n", 0600);
  CHECK(!km_vars_resolve(m, path, err, sizeof err));
  CHECK_CONTAINS(err, ":2: pin must be a string");
  /* a JWT of 300+ characters unquoted: the parser's message, cut short,
  ** held its first 284 characters; "a:b" is read as a bad time */
  char jwt[400];
  snprintf(jwt, sizeof jwt, "key = eyJhbGciOiJIUzI1NiJ9%0300dhunter2xyz\n", 0);
  const char *const leaky[] = { "key = hunter2xyz\n", "key = 123hunter2xyz\n", "key = 'hunter2xyz\n",
                                       "key = \"hunter2xyz\" x\n", "key = \"hunter2xyz\\q\"\n", jwt,
                                       "key = 12:34:hunter2\n", "key = 12:hunter2\n",
                                       "key = 1979-05-27Thunter2\n", "key = eyJhbGciOi" };
  char want[600];
  for (size_t i = 0; i < sizeof leaky / sizeof *leaky; i++) {   /* syntax errors never echo a value */
    t_write(path, leaky[i], 0600);
    CHECK(!km_vars_resolve(m, path, err, sizeof err));
    snprintf(want, sizeof want, "--variables-file %s:1:", path);
    CHECK(strncmp(err, want, strlen(want)) == 0);
    CHECK(!strstr(err, "hunter2") && !strstr(err, "eyJ") && !strstr(err, "0000"));
    if (strstr(err, "hunter2") || strstr(err, "eyJ")) printf("  %s\n", err);
    CHECK_CONTAINS(err, ": not valid TOML (the text is not shown: the file holds secrets); write one "
                   "name = \"value\" line per variable, the value in double quotes");
  }
  char longdir[300], longpath[400];   /* a long path: still named in full */
  snprintf(longdir, sizeof longdir, "/tmp/krait-test-vars-%0200d", 7);
  snprintf(longpath, sizeof longpath, "%s/vars.toml", longdir);
  if (mkdir(longdir, 0700) == 0 || errno == EEXIST) {
    t_write(longpath, "key = hunter2xyz\n", 0600);
    char big[1024];
    CHECK(!km_vars_resolve(m, longpath, big, sizeof big));
    snprintf(want, sizeof want, "--variables-file %s:1:7: not valid TOML", longpath);
    CHECK_CONTAINS(big, want);
    CHECK(!strstr(big, "hunter2"));
    unlink(longpath);
    rmdir(longdir);
  }
  t_write(path, "key = \"k\\u0000\"\n", 0600);
  CHECK(!km_vars_resolve(m, path, err, sizeof err));
  CHECK_CONTAINS(err, ":1: key must be a string without NUL bytes");
  if (geteuid() == 0 && chown(path, 1, 1) == 0) {   /* someone else's file */
    t_write(path, "key = \"k\"\n", 0600);
    CHECK(!km_vars_resolve(m, path, err, sizeof err));
    CHECK_CONTAINS(err, "is not owned by the user krait runs as");
  }
  /* the n-th allocation failing, n = 0, 1, ...: "out of memory", never
  ** a crash or a leak (ASan), until the values resolve */
  unlink(path);   /* a file of the user's again */
  t_write(path, "key = \"k\"\nsize = \"m\"\n", 0600);
  char **ok = NULL;
  long n = 0;
  for (; n < 1000 && !ok; n++) {
    ku_fail_alloc_after(n);
    ok = km_vars_resolve(m, path, err, sizeof err);
    ku_fail_alloc_after(-1);
    if (!ok && !strstr(err, "out of memory")) { printf("  allocation %ld: %s\n", n, err); CHECK(!"not out of memory"); break; }
  }
  CHECK(ok && !strcmp(ok[1], "m") && !strcmp(ok[3], "k") && n > 3);
  km_vars_free(ok, m->nvars);
  unlink(path);
  unsetenv("KRAIT_VARIABLE_COLOR");
  unsetenv("KRAIT_VARIABLE_PIN");
  km_manifest_free(m);
}

/* Limits of the variables: more required ones missing than a message
** can list are all counted ("and N more"); an app with more than
** KM_APP_VARS_MAX [app.variables] entries, or using more secret
** variables, is refused (they were left out of redaction). */
static void test_variables_limits(void) {
  char *text = ku_malloc(1 << 16), err[1024];
  size_t o = (size_t)sprintf(text, "[variables]\n");
  for (int i = 0; i < 30; i++) o += (size_t)sprintf(text + o, "variable_number_%02d_with_a_long_name = { required = true }\n", i);
  sprintf(text + o, "[app]\nstyle = \"spin\"\n");
  km_manifest *m = t_manifest_of(text, false);
  CHECK(m);
  for (int i = 0; m && i < 30; i++) {
    char env[80];
    snprintf(env, sizeof env, "KRAIT_VARIABLE_VARIABLE_NUMBER_%02d_WITH_A_LONG_NAME", i);
    unsetenv(env);
  }
  CHECK(m && !km_vars_resolve(m, NULL, err, sizeof err));
  int listed = 0, more = 0;
  for (const char *p = err; (p = strstr(p, "(KRAIT_VARIABLE_")); p++) listed++;
  const char *and = strstr(err, " and ");
  CHECK(and && sscanf(and, " and %d more have", &more) == 1);
  CHECK_INT(listed + more, 30);
  CHECK(listed > 3 && more > 0);
  CHECK_CONTAINS(err, " more have no value: set them in the environment or in the --variables-file");
  km_manifest_free(m);
  for (int secret = 0; secret < 2; secret++) {   /* 65 entries; 65 secrets in 1 entry */
    o = (size_t)sprintf(text, "[variables]\n");
    for (int i = 0; i < 65; i++) o += (size_t)sprintf(text + o, "v%d = { required = true, secret = true }\n", i);
    o += (size_t)sprintf(text + o, "[app]\nstyle = \"spin\"\n[app.variables]\n");
    if (secret) {
      o += (size_t)sprintf(text + o, "all = \"");
      for (int i = 0; i < 65; i++) o += (size_t)sprintf(text + o, "{{ v%d }}.", i);
      sprintf(text + o, "\"\n");
    } else {
      for (int i = 0; i < 65; i++) o += (size_t)sprintf(text + o, "k%d = \"x\"\n", i);
    }
    CHECK_CONTAINS(t_manifest_fail(text, false), secret
                   ? "/srv/site/krait.toml:69: app \"app1\" uses 65 secret variables in its [app.variables]; at most 64"
                   : "/srv/site/krait.toml:69: app \"app1\" has 65 [app.variables] entries; at most 64");
  }
  ku_free(text);
}

/* allowed_outbound_hosts: stored as written, each entry checked with
** the line of its own element, kept in an artifact's manifest. */
static void test_manifest_outbound(void) {
  km_manifest *m = t_manifest_of("[app]\nstyle = \"spin\"\nallowed_outbound_hosts = [\n"
                                 "  \"https://api.example.com\",\n  \"http://127.0.0.1:8081\",\n"
                                 "  \"https://*.example.org\", \"postgres://db:5432\", \"redis://[::1]:*\"]\n",
                                 false);
  CHECK(m);
  CHECK_INT(m->apps[0].noutbound_hosts, 5);
  CHECK_STR(m->apps[0].outbound_hosts[2], "https://*.example.org");
  char *out = km_app_format(m, &m->apps[0]);
  km_manifest_free(m);
  CHECK(out);
  bool wrote = strstr(out, "allowed_outbound_hosts = [\"https://api.example.com\", \"http://127.0.0.1:8081\", "
                      "\"https://*.example.org\", \"postgres://db:5432\", \"redis://[::1]:*\"]\n") != NULL;
  km_manifest *back = t_manifest_of(out, true);   /* an artifact's reads it back */
  free(out);
  CHECK(wrote);
  CHECK(back && back->apps[0].noutbound_hosts == 5);
  CHECK_STR(back->apps[0].outbound_hosts[4], "redis://[::1]:*");
  km_manifest_free(back);
  m = t_manifest_of("[app]\nstyle = \"spin\"\n", false);   /* absent: none */
  CHECK(m && m->apps[0].noutbound_hosts == 0);
  out = km_app_format(m, &m->apps[0]);
  km_manifest_free(m);
  CHECK(out);
  wrote = strstr(out, "allowed_outbound_hosts = []\n") != NULL;
  free(out);
  CHECK(wrote);
  static const char *const bad[][2] = {
    { "allowed_outbound_hosts = [\n\"https://ok.example\",\n\"api.example.com\"]",
      "/srv/site/krait.toml:5: allowed_outbound_hosts entry \"api.example.com\": no scheme: write "
      "scheme://host[:port]" },
    { "allowed_outbound_hosts = [\"https://a.*.example.org\"]",
      "/srv/site/krait.toml:3: allowed_outbound_hosts entry \"https://a.*.example.org\": a wildcard is "
      "allowed only as a leading \"*.\"" },
    { "allowed_outbound_hosts = [\"*://h\"]", "no port, and scheme \"*\" has no default port" },
    { "allowed_outbound_hosts = [\"http://h:70000\"]", "port \"70000\" is not a number 1-65535" },
    { "allowed_outbound_hosts = [\"insecure:allow-all\"]", "\"insecure:allow-all\" is not supported" },
    { "allowed_outbound_hosts = \"https://x\"", "/srv/site/krait.toml:3: allowed_outbound_hosts must be "
      "an array of strings" },
    { "allowed_outbound_hosts = [1]", "/srv/site/krait.toml:3: allowed_outbound_hosts must be a string, not " },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, "[app]\nstyle = \"spin\"\n%s\n", bad[i][0]);
    const char *e = t_manifest_fail(text, false);
    if (!t_contains(e, bad[i][1])) printf("  got: %s\n", e);
    CHECK(t_contains(e, bad[i][1]));
  }
}

/* sqlite_databases: the grant, the [sqlite_databases.NAME] tables, the
** implied "default", file:line errors, the artifact's manifest read back
** (paths relative, confined) and merges. */
static void test_manifest_sqlite(void) {
  static const char text[] = "[app]\nname = \"a\"\nstyle = \"spin\"\n"
                             "sqlite_databases = [\"default\", \"rep\"]\n"
                             "[sqlite_databases.rep]\npath = \"data/rep.sqlite\"\n";
  km_manifest *m = t_manifest_of(text, false);
  CHECK(m);
  if (!m) return;
  CHECK_INT(m->apps[0].nsqldbs, 2);
  CHECK_INT(m->nsqldbs, 2);
  CHECK_STR(m->sqldbs[0].name, "rep");
  CHECK_STR(m->sqldbs[0].path, "/srv/site/data/rep.sqlite");
  CHECK_STR(m->sqldbs[1].name, "default");
  CHECK_STR(m->sqldbs[1].path, "/srv/site/.krait/default.sqlite");
  char *out = km_app_format(m, &m->apps[0]);
  km_manifest_free(m);
  CHECK(out);
  bool listed = out && strstr(out, "sqlite_databases = [\"default\", \"rep\"]\n") != NULL;
  bool table = out && strstr(out, "[sqlite_databases.\"rep\"]\npath = \"data/rep.sqlite\"\n") != NULL;
  km_manifest *back = out ? t_manifest_of(out, true) : NULL;   /* an artifact's reads it back */
  free(out);
  CHECK(listed);
  CHECK(table);
  CHECK(back && back->nsqldbs == 2 && back->apps[0].nsqldbs == 2);
  km_manifest_free(back);
  static const char *const bad[][2] = {
    { "[app]\nname = \"a\"\nstyle = \"spin\"\nsqlite_databases = [\"default\",\n  \"nope\"]\n",
      "/srv/site/krait.toml:5: app \"a\" is granted SQLite database \"nope\", which no "
      "[sqlite_databases.nope] table declares" },
    { "[app]\nname = \"a\"\nstyle = \"spin\"\n[sqlite_databases.x]\npath = \"x.db\"\nmode = 1\n",
      "/srv/site/krait.toml:6: unknown key \"mode\" in [sqlite_databases]" },
    { "[app]\nname = \"a\"\nstyle = \"spin\"\nsqlite_databases = \"default\"\n",
      "/srv/site/krait.toml:4: sqlite_databases must be an array of strings" },
    { "[app]\nname = \"a\"\nstyle = \"spin\"\n[sqlite_databases.\"../x\"]\n",
      "SQLite database name \"../x\" is not allowed" },
    { "[app]\nname = \"a\"\nstyle = \"spin\"\nsqlite_databases = 3\n",
      "/srv/site/krait.toml:4: sqlite_databases must be an array of strings" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_CONTAINS(t_manifest_fail(bad[i][0], false), bad[i][1]);
  CHECK_CONTAINS(t_manifest_fail("[app]\nname = \"a\"\nstyle = \"spin\"\n[sqlite_databases.x]\n"
                                 "path = \"/etc/x.db\"\n", true), "sqlite_databases.x path \"/etc/x.db\" is absolute");
  /* one database, two files: refused when manifests merge */
  km_manifest *a = t_manifest_of("[app]\nname = \"a\"\nstyle = \"spin\"\nroute = \"/a\"\n"
                                 "sqlite_databases = [\"D\"]\n[sqlite_databases.D]\npath = \"1.db\"\n", false);
  km_manifest *b = t_manifest_of("[app]\nname = \"b\"\nstyle = \"spin\"\nroute = \"/b\"\n"
                                 "sqlite_databases = [\"D\"]\n[sqlite_databases.D]\npath = \"2.db\"\n", false);
  CHECK(a && b);
  char err[512] = "";
  int rc = a && b ? km_manifest_merge(a, b, err, sizeof err) : 0;
  if (rc != 0) km_manifest_free(b);
  km_manifest_free(a);
  CHECK_INT(rc, -1);
  CHECK_CONTAINS(err, "declare SQLite database \"D\" differently");
}

/* ---- limits ------------------------------------------------------------------ */

/* Writes n copies of s into a fresh malloc'd buffer, followed by tail. */
static char *t_repeat(const char *head, const char *s, size_t n, const char *tail) {
  size_t hl = strlen(head), sl = strlen(s), tl = strlen(tail);
  char *b = malloc(hl + sl * n + tl + 1), *o = b;
  memcpy(o, head, hl);
  o += hl;
  for (size_t i = 0; i < n; i++, o += sl) memcpy(o, s, sl);
  memcpy(o, tail, tl + 1);
  return b;
}

static void test_depth_limit(void) {
  char *ok = t_repeat("a = ", "[", KM_TOML_MAX_DEPTH - 1, "");
  char *text = t_repeat(ok, "]", KM_TOML_MAX_DEPTH - 1, "\n");
  km_toml_doc *d = t_parse(text);
  free(ok);
  free(text);
  CHECK(d);
  km_toml_free(d);
  char *bad = t_repeat("a = ", "[", 100000, "");
  CHECK_STR(t_fail(bad), "krait.toml:1:69: nesting too deep (more than 64 levels)");
  free(bad);
  bad = t_repeat("a = ", "{b=", 1000, "");
  CHECK_CONTAINS(t_fail(bad), "nesting too deep");
  free(bad);
  bad = t_repeat("[a", ".a", 70, "]\n");
  CHECK_CONTAINS(t_fail(bad), "key has more than 64 parts");
  free(bad);
  bad = t_repeat("[a", ".a", 63, "]\nb.c = 1\n");
  CHECK_STR(t_fail(bad), "krait.toml:2:1: nesting too deep (more than 64 levels)");
  free(bad);
  bad = t_repeat("[[a", ".a", 63, "]]\n");
  CHECK_CONTAINS(t_fail(bad), "nesting too deep");
  free(bad);
}

/* Large inputs stay linear: many keys in one table, long strings, many
** array-of-table elements, and a long line with an error at its end. */
static void test_large_inputs(void) {
  enum { N = 50000 };
  size_t cap = (size_t)N * 24 + 64, o = 0;
  char *b = malloc(cap);
  for (int i = 0; i < N; i++) o += (size_t)snprintf(b + o, cap - o, "k%d = %d\n", i, i);
  clock_t t0 = clock();
  km_toml_doc *d = t_parse(b);
  CHECK(d);
  const km_toml_value *r = km_toml_root(d);
  CHECK_INT(km_toml_table_len(r), N);
  for (int i = 0; i < N; i += 997) {
    char k[16];
    snprintf(k, sizeof k, "k%d", i);
    CHECK_INT(t_int(r, k), i);
  }
  km_toml_free(d);
  strcpy(b + o, "k7 = 1\n");
  CHECK_STR(t_fail(b), "krait.toml:50001:1: duplicate key \"k7\" (first defined at line 8)");
  free(b);
  b = t_repeat("", "[[r]]\nx = 1\n", N, "");
  d = t_parse(b);
  CHECK(d);
  CHECK_INT(km_toml_array_len(km_toml_get(km_toml_root(d), "r")), N);
  km_toml_free(d);
  free(b);
  b = t_repeat("a = [", "1,", N, "1] x");
  CHECK_CONTAINS(t_fail(b), "krait.toml:1:100009: expected end of line");
  free(b);
  b = t_repeat("a = \"", "\\u00e9", N, "\"\n");
  d = t_parse(b);
  CHECK(d);
  size_t n;
  CHECK(km_toml_string(km_toml_get(km_toml_root(d), "a"), NULL, &n));
  CHECK_INT(n, 2 * N);
  km_toml_free(d);
  free(b);
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  if (secs > 5) printf("large inputs took %.1f s\n", secs);
  CHECK(secs < 5);
}

/* A long key is shortened in messages without splitting a character. */
static void test_long_key_message(void) {
  char *k = t_repeat("\"", "\xC3\xA9", 100, "\" = 1\n");
  char *text = t_repeat(k, k, 1, "");
  const char *m = t_fail(text);
  CHECK_CONTAINS(m, "krait.toml:2:1: duplicate key \"\xC3\xA9");
  CHECK_CONTAINS(m, "\xC3\xA9...\" (first defined at line 1)");
  free(k);
  free(text);
  CHECK_STR(t_fail("\"a\\u0001\" = 1\n\"a\\u0001\" = 1\n"),
            "krait.toml:2:1: duplicate key \"a\\x01\" (first defined at line 1)");
}

/* [llm] and [llm.models.NAME]: local paths (relative to the manifest;
** to the serve directory in an artifact's), servers with their key's
** variable, ai_models checked; one app's artifact manifest carries what it
** is granted and reads back confined; errors at their line; a model two
** manifests declare differently is refused when they merge. */
static void test_manifest_llm(void) {
  static const char text[] = "[variables]\nk = { required = true, secret = true }\n"
                             "[llm]\nthreads = 3\nmax_concurrent = 4\nmax_queued = 0\ncontext = 512\napi_timeout_ms = 2500\n"
                             "[llm.models.chat]\npath = \"models/c.gguf\"\n"
                             "[llm.models.\"@cf/x/y\"]\nurl = \"https://ai.example/v1\"\nmodel = \"y\"\n"
                             "api_key_variable = \"k\"\n[llm.models.unused]\npath = \"/opt/u.gguf\"\n"
                             "[app]\nname = \"a\"\nstyle = \"spin\"\nai_models = [\"chat\", \"@cf/x/y\"]\n";
  km_manifest *m = t_manifest_of(text, false);
  CHECK(m);
  if (!m) return;
  CHECK(m->llm.set && m->llm.threads == 3 && m->llm.max_concurrent == 4 && m->llm.max_queued == 0 &&
        m->llm.context == 512 && m->llm.api_timeout_ms == 2500);
  CHECK_INT(m->nmodels, 3);
  CHECK_STR(km_model_find(m, "chat")->path, "/srv/site/models/c.gguf");
  CHECK_STR(km_model_find(m, "@cf/x/y")->url, "https://ai.example/v1");
  CHECK_STR(km_model_find(m, "@cf/x/y")->api_key_variable, "k");
  CHECK_INT(m->apps[0].nai_models, 2);
  char *out = km_app_format(m, &m->apps[0]);
  km_manifest_free(m);
  CHECK(out);
  bool listed = out && strstr(out, "ai_models = [\"chat\", \"@cf/x/y\"]\n");
  bool local = out && strstr(out, "[llm.models.\"chat\"]\npath = \"models/c.gguf\"\n");
  bool unused = out && strstr(out, "unused");
  bool var = out && strstr(out, "k = { required = true, secret = true }");
  km_manifest *back = out ? t_manifest_of(out, true) : NULL;
  free(out);
  CHECK(listed && local && !unused && var);
  CHECK(back && back->nmodels == 2 && back->llm.max_concurrent == 4 && back->llm.context == 512 && back->llm.api_timeout_ms == 2500 &&
        back->apps[0].nai_models == 2);
  km_manifest_free(back);
  static const char *const bad[][2] = {
    { "[app]\nstyle = \"spin\"\nai_models = [\"x\",\n \"nope\"]\n[llm.models.x]\npath = \"x.gguf\"\n",
      "/srv/site/krait.toml:4: app \"app1\" is granted model \"nope\" (ai_models), which no [llm.models.\"nope\"]" },
    { "[app]\nstyle = \"spin\"\n[llm.models.x]\n", "/srv/site/krait.toml:3: [llm.models.x] needs path = " },
    { "[app]\nstyle = \"spin\"\n[llm.models.x]\nurl = \"ftp://h/v1\"\nmodel = \"m\"\n",
      "/srv/site/krait.toml:4: [llm.models.x] url \"ftp://h/v1\" must start with http:// or https://" },
    { "[app]\nstyle = \"spin\"\n[llm.models.x]\nurl = \"http://h/v1\"\n",
      "[llm.models.x] has url but no model = " },
    { "[app]\nstyle = \"spin\"\n[llm.models.x]\npath = \"x.gguf\"\nmodel = \"m\"\n",
      "/srv/site/krait.toml:5: [llm.models.x] is a local file (path): model and api_key_variable are for a server" },
    { "[app]\nstyle = \"spin\"\n[llm]\nthreads = 1000\n", "/srv/site/krait.toml:4: threads = 1000 is out of range: 0..256" },
    { "[app]\nstyle = \"spin\"\n[llm]\ncontext = 2000000\n",
      "/srv/site/krait.toml:4: context = 2000000 is out of range: 0..1048576" },
    { "[app]\nstyle = \"spin\"\n[llm]\ncontext = \"big\"\n", "/srv/site/krait.toml:4: context" },
    { "[app]\nstyle = \"spin\"\n[llm]\napi_timeout_ms = 0\n",
      "/srv/site/krait.toml:4: api_timeout_ms = 0 is out of range: 1..86400000" },
    { "[app]\nstyle = \"spin\"\n[llm]\ngpu = 1\n", "/srv/site/krait.toml:4: unknown key \"gpu\" in [llm]" },
    { "[app]\nstyle = \"spin\"\n[llm.models.\"a b\"]\npath = \"x\"\n", "model name \"a b\" is not allowed" },
    { "[app]\nstyle = \"spin\"\nai_models = \"x\"\n", "/srv/site/krait.toml:3: ai_models must be an array of strings" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_CONTAINS(t_manifest_fail(bad[i][0], false), bad[i][1]);
  CHECK_CONTAINS(t_manifest_fail("[app]\nstyle = \"spin\"\n[llm.models.x]\npath = \"../x.gguf\"\n", true),
                 "llm.models.x path \"../x.gguf\" has a \"..\" part");
  km_manifest *dflt = t_manifest_of("[app]\nstyle = \"spin\"\n", false);
  CHECK(dflt && dflt->llm.context == KL_CONTEXT_DEFAULT && dflt->llm.api_timeout_ms == KM_LLM_API_TIMEOUT_DEFAULT);
  km_manifest_free(dflt);
  km_manifest *a = t_manifest_of("[app]\nname = \"a\"\nstyle = \"spin\"\nroute = \"/a\"\n"
                                 "[llm.models.x]\npath = \"1.gguf\"\n", false);
  km_manifest *b = t_manifest_of("[app]\nname = \"b\"\nstyle = \"spin\"\nroute = \"/b\"\n"
                                 "[llm.models.x]\npath = \"2.gguf\"\n", false);
  CHECK(a && b);
  char err[512] = "";
  int rc = a && b ? km_manifest_merge(a, b, err, sizeof err) : 0;
  if (rc != 0) km_manifest_free(b);
  km_manifest_free(a);
  CHECK(rc != 0);
  CHECK_CONTAINS(err, "declare model \"x\" differently");
}

/* ---- fault injection ---------------------------------------------------- */

/* Fails the n-th allocation for n = 0, 1, ... until text parses; every
** failure must be a clean out-of-memory error (ASan checks for leaks). */
static void t_fault_loop(const char *text, bool valid) {
  for (long n = 0; n < 100000; n++) {
    km_toml_error e;
    ku_fail_alloc_after(n);
    km_toml_doc *d = km_toml_parse(text, strlen(text), "krait.toml", &e);
    ku_fail_alloc_after(-1);
    if (d) {
      CHECK(valid);
      CHECK_STR(t_str(km_toml_root(d), "route.1.path"), "/cart/{id}");
      km_toml_free(d);
      return;
    }
    if (!e.out_of_memory) {
      CHECK(!valid);
      CHECK_CONTAINS(e.message, "krait.toml:");
      return;
    }
    CHECK_CONTAINS(e.message, "out of memory");
  }
  CHECK(!"parse never succeeded");
}

static void test_fault_injection(void) {
  t_fault_loop(t_manifest, true);
  /* with a long document (many arena chunks and index growths) */
  char *big = t_repeat(t_manifest, "[[route]]\npath = \"/x\"\ntags = ['a', \"b\", {c = 1}]\n", 800, "");
  t_fault_loop(big, true);
  free(big);
  /* an error late in a document: OOM until the real error shows */
  big = t_repeat(t_manifest, "[[route]]\npath = \"\\u00e9\"\n", 50, "x = 1\nx = 2\n");
  t_fault_loop(big, false);
  free(big);
}

/* km_manifest_read with the n-th allocation failing, n = 0, 1, ...: every
** failure is "FILE[:LINE:COL]: out of memory" (never a field left empty, another error
** or a crash; ASan checks for leaks) until the manifest reads whole. */
static void test_manifest_fault_injection(void) {
  static const char text[] =
    "[[app]]\nname = \"shop\"\nstyle = \"spin\"\nroutes = [\"/a\", \"/b/...\"]\n"
    "key_value_stores = [\"default\", \"cache\"]\nsite_packages = [\"lib\"]\n"
    "include = [\"x\"]\nai_models = [\"m\", \"r\"]\nallowed_outbound_hosts = [\"https://a.example\", \"*://*.b:*\"]\n[app.variables]\ngreeting = \"hi\"\nother = \"v\"\nt = \"<{{ a }}>\"\n"
    "[[app]]\nstyle = \"wsgi\"\nwsgi = \"m:app\"\nroute = \"/w\"\n"
    "[key_value_stores.cache]\npath = \"c.db\"\n[key_value_stores.r]\nbackend = \"redis\"\n"
    "url = \"redis://localhost:6379/0\"\n[variables]\na = { required = true, secret = true }\n"
    "[llm]\nmax_queued = 3\n[llm.models.m]\npath = \"m.gguf\"\n[llm.models.r]\nurl = \"http://h/v1\"\n"
    "model = \"x\"\napi_key_variable = \"a\"\n";
  long n = 0;
  km_manifest *m = NULL;
  for (; n < 100000 && !m; n++) {
    ku_fail_alloc_after(n);
    m = t_manifest_of(text, false);
    ku_fail_alloc_after(-1);
    size_t len = strlen(t_merr);
    if (!m && (len < 13 || strcmp(t_merr + len - 13, "out of memory") != 0 ||
               (strncmp(t_merr, "/srv/site/krait.toml:", 21) != 0 && len != 13))) {
      printf("  allocation %ld: %s\n", n, t_merr);
      CHECK(!"a failure other than out of memory");
      return;
    }
  }
  CHECK(m != NULL);
  if (!m) return;
  printf("  %ld allocation failure points exercised\n", n);
  CHECK(n > 40);
  CHECK_INT(m->napps, 2);
  CHECK_STR(m->apps[1].name, "app2");
  CHECK_STR(m->apps[0].var_values[1], "v");
  CHECK_INT(m->nstores, 3);
  CHECK_INT(m->nmodels, 2);
  km_manifest_free(m);
}

int main(void) {
  RUN(test_strings);
  RUN(test_integers);
  RUN(test_floats);
  RUN(test_bools_and_dates);
  RUN(test_arrays);
  RUN(test_inline_tables);
  RUN(test_tables_and_keys);
  RUN(test_table_edges);
  RUN(test_misc_valid);
  RUN(test_lines);
  RUN(test_errors);
  RUN(test_error_fields);
  RUN(test_lookup_api);
  RUN(test_manifest);
  RUN(test_manifest_names);
  RUN(test_manifest_confined);
  RUN(test_manifest_durability);
  RUN(test_manifest_outbound_limits);
  RUN(test_manifest_variables);
  RUN(test_manifest_variable_errors);
  RUN(test_variables_resolve);
  RUN(test_variables_limits);
  RUN(test_manifest_outbound);
  RUN(test_manifest_sqlite);
  RUN(test_manifest_llm);
  RUN(test_depth_limit);
  RUN(test_large_inputs);
  RUN(test_long_key_message);
  RUN(test_fault_injection);
  RUN(test_manifest_fault_injection);
  return t_summary();
}
