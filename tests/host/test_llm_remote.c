/*
** tests/host/test_llm_remote.c -- the remote LLM backend (src/llm/remote.c,
** rhttp.c, reply.c, rjson.c): the reply parser on whole and split input,
** the request bodies, and kl_remote_* against tests/llm/fake_openai.py
** over HTTP and HTTPS (a test CA made with the openssl CLI): answers,
** error mapping, the API key, deadlines and size caps.
*/
#include "test.h"
#include "llm/remote_internal.h"
#include "serve/openai.h"
#include <jansson.h>
#include <math.h>
#include "platform/platform.h"
#include "util/util.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static char t_err[KL_ERR_SIZE];
static char t_dir[] = "/tmp/krait-llm-remote-XXXXXX";
static pid_t t_srv;
static int t_http, t_https;
static char t_url[128], t_surl[160], t_ca[256];

/* ---- the reply parser ---------------------------------------------------- */

/* Parses text fed in pieces of step bytes (0: whole), then the end; the
** outcome, with the body in body (NUL-terminated) and the status. */
static kl_reply_rc t_parse(const char *text, size_t step, int *status, char *body, size_t cap) {
  size_t n = strlen(text), fed = 0, len = 0;
  uint8_t *buf = ku_malloc(n + 1);
  kl_reply r;
  kl_reply_rc rc = KL_REPLY_MORE;
  kl_reply_init(&r, 1000);
  t_err[0] = '\0';
  while (rc == KL_REPLY_MORE) {
    size_t k = step && n - fed > step ? step : n - fed;
    memcpy(buf + len, text + fed, k);
    fed += k;
    rc = kl_reply_feed(&r, buf, len + k, fed == n && (k == 0 || !step), t_err, sizeof t_err);
    len = r.used;
    if (rc == KL_REPLY_MORE && fed == n && step) rc = kl_reply_feed(&r, buf, len, true, t_err, sizeof t_err);
  }
  *status = r.status;
  body[0] = '\0';
  if (rc == KL_REPLY_DONE) snprintf(body, cap, "%.*s", (int)r.body_len, (const char *)buf + r.body_at);
  ku_free(buf);
  return rc;
}

/* Good replies parse the same whole and split at every size. */
static void test_reply_good(void) {
  static const struct { const char *text, *body; int status; } good[] = {
    { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello", 200 },
    { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, and more", "hello", 200 },
    { "HTTP/1.1 201\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n", "abcde", 201 },
    { "HTTP/1.0 500 Oops\r\nServer: x\r\n\r\nuntil close", "until close", 500 },
    { "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nA: b\r\n\r\nHTTP/1.1 429 Slow down\r\n"
      "content-length:2\r\n\r\nno", "no", 429 },
    { "HTTP/1.1 204 No Content\r\nX:  y  \r\n\r\n", "", 204 },
    { "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", "", 200 },
  };
  char body[256];
  int status;
  for (size_t i = 0; i < KU_COUNT(good); i++)
    for (size_t step = 0; step < 9; step++) {
      kl_reply_rc rc = t_parse(good[i].text, step, &status, body, sizeof body);
      if (rc != KL_REPLY_DONE) printf("  reply %zu step %zu: %s\n", i, step, t_err);
      CHECK_INT(rc, KL_REPLY_DONE);
      CHECK_INT(status, good[i].status);
      CHECK_STR(body, good[i].body);
    }
}

/* Bad replies are refused with a message naming what is wrong. */
static void test_reply_bad(void) {
  static const struct { const char *text, *msg; } bad[] = {
    { "", "closed the connection without a reply" },
    { "HTTP/1.1 200 OK\r\nContent", "within the reply's head" },
    { "SSH-2.0-OpenSSH\r\n\r\n", "\"HTTP/1.\"" },
    { "HTTP/2.0 200 OK\r\n\r\n", "\"HTTP/1.\"" },
    { "HTTP/1.1 20 OK\r\n\r\n", "three digits" },
    { "HTTP/1.1 099 OK\r\n\r\n", "below 100" },
    { "HTTP/1.1 101 Switching\r\n\r\n", "101 Switching Protocols" },
    { "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "not a token" },
    { "HTTP/1.1 200 OK\r\n: x\r\n\r\n", "empty name" },
    { "HTTP/1.1 200 OK\r\nA: x\x01y\r\n\r\n", "control byte" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n", "not a digit" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "disagree" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n", "1001 bytes; krait reads at most 1000" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "1 to 19 digits" },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "not supported" },
    { "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n", "Content-Encoding \"gzip\"" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", "after 5 of the body's 9 bytes" },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc", "within the chunked body" },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunked body" },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n", "chunked body" },
  };
  char body[256];
  int status;
  for (size_t i = 0; i < KU_COUNT(bad); i++)
    for (size_t step = 0; step < 4; step++) {
      CHECK_INT(t_parse(bad[i].text, step, &status, body, sizeof body), KL_REPLY_BAD);
      CHECK_CONTAINS(t_err, bad[i].msg);
    }
  /* Past the caps: a head without its end, a body until close. */
  char *big = ku_malloc(KL_REPLY_HEAD_MAX + 100);
  memset(big, 'a', KL_REPLY_HEAD_MAX + 99);
  memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
  big[KL_REPLY_HEAD_MAX + 99] = '\0';
  CHECK_INT(t_parse(big, 0, &status, body, sizeof body), KL_REPLY_BAD);
  CHECK_CONTAINS(t_err, "head is longer than");
  memcpy(big, "HTTP/1.1 200 OK\r\n\r\n", 19);
  kl_reply_rc rc = t_parse(big, 0, &status, body, sizeof body);
  ku_free(big);
  CHECK_INT(rc, KL_REPLY_BAD);
  CHECK_CONTAINS(t_err, "longer than 1000 bytes");
}

/* At most KL_REPLY_INTERIM_MAX interim heads: more make the reply too
** large (they would pile up to the buffer's cap). */
static void test_reply_interim(void) {
  char text[1024] = "", body[64];
  int status;
  for (int i = 0; i < KL_REPLY_INTERIM_MAX; i++) strcat(text, "HTTP/1.1 100 Continue\r\n\r\n");
  strcat(text, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  CHECK_INT(t_parse(text, 0, &status, body, sizeof body), KL_REPLY_DONE);
  CHECK_STR(body, "ok");
  memmove(text + 25, text, strlen(text) + 1);
  memcpy(text, "HTTP/1.1 100 Continue\r\n\r\n", 25);
  for (size_t step = 0; step < 3; step++) {
    CHECK_INT(t_parse(text, step * 7, &status, body, sizeof body), KL_REPLY_BAD);
    CHECK_CONTAINS(t_err, "the reply is too large: more than 10 interim (1xx) heads");
  }
}

/* ---- the JSON ------------------------------------------------------------- */

/* Request bodies: OpenAI's fields, llama.cpp's only when they matter. */
static void test_request_json(void) {
  kl_remote r = { "http://h/v1", "m1", NULL, NULL, 0, 0 };
  kl_infer_params p = KL_PARAMS_DEFAULT;
  size_t n;
  int rc;
  char *s = kl_rjson_completion(&r, "hi \"you\"", 8, &p, &n, &rc, t_err, sizeof t_err);
  CHECK(s);
  CHECK_STR(s, "{\"model\":\"m1\",\"prompt\":\"hi \\\"you\\\"\",\"max_tokens\":100,\"temperature\":0.8,"
               "\"top_p\":0.9,\"stream\":false,\"top_k\":40,\"repeat_penalty\":1.1,\"repeat_last_n\":64}");
  ku_free(s);
  p.top_k = 0;
  p.repeat_penalty = 1.0f;
  p.temperature = 0;
  p.has_seed = true;
  p.seed = 42;
  s = kl_rjson_completion(&r, "x", 1, &p, &n, &rc, t_err, sizeof t_err);
  CHECK_STR(s, "{\"model\":\"m1\",\"prompt\":\"x\",\"max_tokens\":100,\"temperature\":0.0,\"top_p\":0.9,"
               "\"stream\":false,\"seed\":42}");
  ku_free(s);
  CHECK(!kl_rjson_completion(&r, "\xff", 1, &p, &n, &rc, t_err, sizeof t_err));
  CHECK_INT(rc, KL_E_INPUT);
  CHECK_CONTAINS(t_err, "the prompt is not valid UTF-8");
  kl_chat_msg m[2] = { { "system", "be brief", 8 }, { "user", "hi", 2 } };
  s = kl_rjson_chat(&r, m, 2, &p, &n, &rc, t_err, sizeof t_err);
  CHECK_CONTAINS(s, "\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"hi\"}]");
  ku_free(s);
  const char *texts[2] = { "a", "bc" };
  size_t lens[2] = { 1, 2 };
  s = kl_rjson_embeddings(&r, texts, lens, 2, &n, &rc, t_err, sizeof t_err);
  CHECK_STR(s, "{\"model\":\"m1\",\"input\":[\"a\",\"bc\"],\"encoding_format\":\"float\"}");
  ku_free(s);
}

/* Replies decoded; malformed ones and server errors named. */
static void test_reply_json(void) {
  kl_infer_result out;
  static const char ok[] = "{\"choices\":[{\"text\":\"h\\u00e9\",\"finish_reason\":\"length\"}],"
                           "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}";
  CHECK_INT(kl_rjson_infer(KL_RJ_COMPLETION, (const uint8_t *)ok, strlen(ok), &out, t_err, sizeof t_err), KL_OK);
  CHECK_STR(out.text, "h\xc3\xa9");
  CHECK_INT(out.text_len, 3);
  CHECK_STR(out.finish, "length");
  CHECK(out.prompt_tokens == 3 && out.generated_tokens == 2);
  ku_free(out.text);
  static const char chat[] = "{\"choices\":[{\"message\":{\"content\":null}}]}";
  CHECK_INT(kl_rjson_infer(KL_RJ_CHAT, (const uint8_t *)chat, strlen(chat), &out, t_err, sizeof t_err), KL_OK);
  CHECK_STR(out.text, "");
  CHECK_STR(out.finish, "stop");
  ku_free(out.text);
  static const struct { int kind; const char *s, *msg; } bad[] = {
    { KL_RJ_COMPLETION, "nope", "not JSON" },
    { KL_RJ_COMPLETION, "[1]", "not a JSON object" },
    { KL_RJ_COMPLETION, "{\"choices\":[]}", "no choices[0]" },
    { KL_RJ_COMPLETION, "{\"choices\":[{\"text\":1}]}", "choices[0].text is not a string" },
    { KL_RJ_CHAT, "{\"choices\":[{\"text\":\"x\"}]}", "choices[0].message.content" },
  };
  for (size_t i = 0; i < KU_COUNT(bad); i++) {
    CHECK_INT(kl_rjson_infer(bad[i].kind, (const uint8_t *)bad[i].s, strlen(bad[i].s), &out, t_err, sizeof t_err),
              KL_E_MODEL);
    CHECK_CONTAINS(t_err, bad[i].msg);
  }
  float *v;
  uint32_t dim, pt;
  static const char emb[] = "{\"data\":[{\"index\":1,\"embedding\":[3,4]},{\"index\":0,\"embedding\":[1,2.5]}],"
                            "\"usage\":{\"prompt_tokens\":9}}";
  CHECK_INT(kl_rjson_embed((const uint8_t *)emb, strlen(emb), 2, &v, &dim, &pt, t_err, sizeof t_err), KL_OK);
  CHECK(dim == 2 && pt == 9 && v[0] == 1 && v[1] == 2.5f && v[2] == 3 && v[3] == 4);
  ku_free(v);
  static const char short_[] = "{\"data\":[{\"embedding\":[1,2]},{\"embedding\":[3]}]}";
  CHECK_INT(kl_rjson_embed((const uint8_t *)short_, strlen(short_), 2, &v, &dim, &pt, t_err, sizeof t_err), KL_E_MODEL);
  CHECK_CONTAINS(t_err, "embedding 1 is not an array of 2 numbers");
  CHECK_INT(kl_rjson_embed((const uint8_t *)short_, strlen(short_), 3, &v, &dim, &pt, t_err, sizeof t_err), KL_E_MODEL);
  CHECK_CONTAINS(t_err, "not an array of 3 embeddings");
  static const char inf[] = "{\"data\":[{\"embedding\":[1,1e300]}]}";
  CHECK_INT(kl_rjson_embed((const uint8_t *)inf, strlen(inf), 1, &v, &dim, &pt, t_err, sizeof t_err), KL_E_MODEL);
  CHECK_CONTAINS(t_err, "embedding 0 holds 1e+300 at 1, which a float cannot hold");
  CHECK(v == NULL);
  static const char e[] = "{\"error\":{\"message\":\"too\\nlong\"}}";
  CHECK_INT(kl_rjson_error(400, (const uint8_t *)e, strlen(e), t_err, sizeof t_err), KL_E_INPUT);
  CHECK_STR(t_err, "the server answered 400: toolong");
  CHECK_INT(kl_rjson_error(429, (const uint8_t *)"x", 1, t_err, sizeof t_err), KL_E_BUSY);
  CHECK_STR(t_err, "the server answered 429 Too Many Requests");
  CHECK_INT(kl_rjson_error(503, (const uint8_t *)"{\"error\":\"s\"}", 13, t_err, sizeof t_err), KL_E_BUSY);
  CHECK_STR(t_err, "the server answered 503: s");
  CHECK_INT(kl_rjson_error(500, (const uint8_t *)"{\"detail\":\"d\"}", 14, t_err, sizeof t_err), KL_E_MODEL);
  CHECK_STR(t_err, "the server answered 500: d");
}

/* A reply's JSON shape is checked before jansson parses it: too many
** values or objects, too deep, each named; a server's long message is cut
** at a character boundary. */
static void test_reply_shape(void) {
  kl_infer_result out;
  size_t n = 3 * (KL_REPLY_VALUES_MAX + 1) + 64;
  char *s = ku_malloc(n + 64), *p = s;
  p += sprintf(p, "{\"choices\":[{\"text\":\"x\"}],\"junk\":[");
  for (uint32_t i = 0; i <= KL_REPLY_VALUES_MAX; i++) p += sprintf(p, i ? ",{}" : "{}");
  strcpy(p, "]}");
  CHECK_INT(kl_rjson_infer(KL_RJ_COMPLETION, (const uint8_t *)s, strlen(s), &out, t_err, sizeof t_err), KL_E_MODEL);
  CHECK_CONTAINS(t_err, "the reply holds more than 65536 JSON values");
  p = s;
  p += sprintf(p, "{\"choices\":[{\"text\":\"x\"}],\"junk\":");
  for (uint32_t i = 0; i < KL_REPLY_DEPTH_MAX; i++) *p++ = '[';
  for (uint32_t i = 0; i < KL_REPLY_DEPTH_MAX; i++) *p++ = ']';
  strcpy(p, "}");
  CHECK_INT(kl_rjson_infer(KL_RJ_COMPLETION, (const uint8_t *)s, strlen(s), &out, t_err, sizeof t_err), KL_E_MODEL);
  CHECK_CONTAINS(t_err, "nests deeper than 64 levels");
  p = s;
  p += sprintf(p, "{\"choices\":[{\"text\":\"x\"}],\"junk\":");
  for (uint32_t i = 0; i < KL_REPLY_DEPTH_MAX - 2; i++) *p++ = '[';
  for (uint32_t i = 0; i < KL_REPLY_DEPTH_MAX - 2; i++) *p++ = ']';
  strcpy(p, "}");
  CHECK_INT(kl_rjson_infer(KL_RJ_COMPLETION, (const uint8_t *)s, strlen(s), &out, t_err, sizeof t_err), KL_OK);
  ku_free(out.text);
  p = s + sprintf(s, "{\"error\":{\"message\":\"");
  memset(p, 'a', 299);
  strcpy(p + 299, "\u00e9 and more\"}}");
  kl_rjson_error(400, (const uint8_t *)s, strlen(s), t_err, sizeof t_err);
  CHECK(ku_utf8_valid((const uint8_t *)t_err, strlen(t_err)));
  CHECK_CONTAINS(t_err, "aaaa");
  ku_free(s);
}

/* /v1/embeddings' rows: a value that is not finite fails the answer
** (jansson has no NaN: the row came out one number short, with a 200). */
static void test_oai_embed_rows(void) {
  float v[4] = { 1, 2, NAN, 4 };
  json_t *a = ks_oai_embed_rows("m", v, 2, 2, t_err, sizeof t_err);
  CHECK(a == NULL);
  CHECK_CONTAINS(t_err, "model \"m\" made an embedding value that is not a finite number (text 1, dimension 0)");
  v[2] = 3;
  v[3] = INFINITY;
  CHECK(ks_oai_embed_rows("m", v, 2, 2, t_err, sizeof t_err) == NULL);
  CHECK_CONTAINS(t_err, "(text 1, dimension 1)");
  v[3] = 4;
  a = ks_oai_embed_rows("m", v, 2, 2, t_err, sizeof t_err);
  CHECK(a && json_array_size(a) == 2);
  json_t *row = json_object_get(json_array_get(a, 1), "embedding");
  CHECK(json_array_size(row) == 2 && json_real_value(json_array_get(row, 1)) == 4.0);
  json_decref(a);
}

/* ---- against the fake server --------------------------------------------- */

/* Makes the test CA and a certificate for 127.0.0.1 / localhost in t_dir
** with the openssl CLI; false when it cannot. */
static bool t_make_ca(void) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
           "-out ca.pem -days 30 -subj '/CN=krait llm CA' -addext basicConstraints=critical,CA:TRUE "
           "-addext keyUsage=critical,keyCertSign,cRLSign && openssl req -newkey ec -pkeyopt "
           "ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=localhost && "
           "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n"
           "extendedKeyUsage=serverAuth\\n' >ext && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
           "-CAcreateserial -out server.pem -days 30 -extfile ext",
           t_dir);
  char quiet[2200];
  snprintf(quiet, sizeof quiet, "(%s) >%s/openssl.log 2>&1", cmd, t_dir);
  return system(quiet) == 0;
}

/* Starts the fake server; false when it does not come up. */
static bool t_start(void) {
  char ports[300], cert[300], key[300];
  if (!mkdtemp(t_dir) || !t_make_ca()) { printf("cannot make the test CA in %s\n", t_dir); return false; }
  snprintf(ports, sizeof ports, "%s/ports", t_dir);
  snprintf(cert, sizeof cert, "%s/server.pem", t_dir);
  snprintf(key, sizeof key, "%s/server.key", t_dir);
  snprintf(t_ca, sizeof t_ca, "%s/ca.pem", t_dir);
  t_srv = fork();
  if (t_srv == 0) {
    execl("/usr/bin/python3", "python3", "tests/llm/fake_openai.py", t_dir, cert, key, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 100; i++) {
    FILE *f = fopen(ports, "r");
    if (f && fscanf(f, "%d %d", &t_http, &t_https) == 2) { fclose(f); break; }
    if (f) fclose(f);
    usleep(100000);
  }
  snprintf(t_url, sizeof t_url, "http://127.0.0.1:%d/v1", t_http);
  snprintf(t_surl, sizeof t_surl, "https://localhost:%d/v1/", t_https);
  return t_http > 0 && t_https > 0;
}

/* Stops the fake server and removes its directory. */
static void t_stop(void) {
  char cmd[300];
  if (t_srv > 0) { kill(t_srv, SIGTERM); waitpid(t_srv, NULL, 0); }
  snprintf(cmd, sizeof cmd, "rm -rf %s", t_dir);
  if (system(cmd) != 0) printf("cannot remove %s\n", t_dir);
}

/* A completion of prompt from model at url with the key; its KL_* and
** the text in *out (freed by the caller). */
static int t_infer(const char *url, const char *model, const char *key, const char *ca, const char *prompt,
                   uint64_t ms, kl_infer_result *out) {
  kl_remote r = { url, model, key, ca, 0, 0 };
  kl_infer_params p = KL_PARAMS_DEFAULT;
  uint64_t deadline = ms ? kp_monotonic_ns() + ms * 1000000ull : 0;
  t_err[0] = '\0';
  return kl_remote_infer(&r, prompt, strlen(prompt), &p, deadline, out, t_err, sizeof t_err);
}

/* Completions over HTTP: the request as the server saw it, usage, framings. */
static void test_remote_infer(void) {
  kl_infer_result out;
  CHECK_INT(t_infer(t_url, "echo", NULL, NULL, "one two three", 5000, &out), KL_OK);
  CHECK_CONTAINS(out.text, "\"model\":\"echo\"");
  CHECK_CONTAINS(out.text, "\"prompt\":\"one two three\"");
  CHECK_CONTAINS(out.text, "\"top_k\":40");
  CHECK(out.prompt_tokens == 3 && out.generated_tokens == 7);
  CHECK_STR(out.finish, "length");
  ku_free(out.text);
  static const char *const framings[] = { "chunked", "close", "interim" };
  for (size_t i = 0; i < KU_COUNT(framings); i++) {
    int rc = t_infer(t_url, framings[i], NULL, NULL, "a b", 5000, &out);
    if (rc) printf("  %s: %s\n", framings[i], t_err);
    CHECK_INT(rc, KL_OK);
    CHECK_CONTAINS(out.text, "\"prompt\":\"a b\"");
    ku_free(out.text);
  }
}

/* The API key goes only in the Authorization header, never a message. */
static void test_remote_key(void) {
  kl_infer_result out;
  CHECK_INT(t_infer(t_url, "auth", "sk-test-123", NULL, "x", 5000, &out), KL_OK);
  CHECK_STR(out.text, "auth=Bearer sk-test-123");
  ku_free(out.text);
  CHECK_INT(t_infer(t_url, "auth", NULL, NULL, "x", 5000, &out), KL_OK);
  CHECK_STR(out.text, "auth=-");
  ku_free(out.text);
  CHECK_INT(t_infer(t_url, "e400", "sk-test-123", NULL, "x", 5000, &out), KL_E_INPUT);
  CHECK(!strstr(t_err, "sk-test"));
  CHECK_INT(t_infer(t_url, "auth", "sk\r\nX-Evil: 1", NULL, "x", 5000, &out), KL_E_MODEL);
  CHECK_CONTAINS(t_err, "the API key holds a byte that cannot go in a header");
  CHECK(!strstr(t_err, "Evil"));
}

/* Server errors map to distinct KL_E_* with the server's message. */
static void test_remote_errors(void) {
  static const struct { const char *model; int rc; const char *msg; } cases[] = {
    { "e400", KL_E_INPUT, "/v1/completions: the server answered 400: fake error 400 for e400" },
    { "e404", KL_E_MODEL, "the server answered 404: fake error 404" },
    { "e429", KL_E_BUSY, "the server answered 429: fake error 429" },
    { "e503", KL_E_BUSY, "the server answered 503: fake error 503" },
    { "e500", KL_E_MODEL, "the server answered 500: fake error 500" },
    { "errstr", KL_E_MODEL, "the server answered 500: a plain string" },
    { "nojson", KL_E_MODEL, "the server answered 502 Bad Gateway" },
    { "garbage", KL_E_MODEL, "the reply is not JSON" },
    { "nochoice", KL_E_MODEL, "no choices[0]" },
    { "badhttp", KL_E_MODEL, "\"HTTP/1.\"" },
    { "huge", KL_E_MODEL, "the reply's body is 17825792 bytes; krait reads at most 65536" },
    { "hugechunk", KL_E_MODEL, "chunked body" },
  };
  kl_infer_result out;
  for (size_t i = 0; i < KU_COUNT(cases); i++) {
    int rc = t_infer(t_url, cases[i].model, NULL, NULL, "x", 10000, &out);
    if (rc != cases[i].rc) printf("  %s: %s\n", cases[i].model, t_err);
    CHECK_INT(rc, cases[i].rc);
    CHECK_CONTAINS(t_err, cases[i].msg);
    CHECK_CONTAINS(t_err, "http://127.0.0.1:");
    CHECK(out.text == NULL);
  }
}

/* A reply's body is bounded per call by what it asked for: a ~200 KB
** completion is refused for max_tokens 100 (64 KiB) and read for 4000. */
static void test_remote_body_bound(void) {
  kl_remote r = { t_url, "big", NULL, NULL, 0, 0 };
  kl_infer_params p = KL_PARAMS_DEFAULT;
  kl_infer_result out;
  CHECK_INT(kl_remote_infer(&r, "x", 1, &p, 0, &out, t_err, sizeof t_err), KL_E_MODEL);
  CHECK_CONTAINS(t_err, "krait reads at most 65536");
  p.max_tokens = 4000;
  CHECK_INT(kl_remote_infer(&r, "x", 1, &p, 0, &out, t_err, sizeof t_err), KL_OK);
  CHECK_INT(out.text_len, 200000);
  ku_free(out.text);
}

/* A call on a slow server, for test_remote_admission's thread. */
static void *t_slow_call(void *arg) {
  const kl_remote *r = arg;
  kl_infer_params p = KL_PARAMS_DEFAULT;
  kl_infer_result out;
  char err[KL_ERR_SIZE];
  static int rc;
  rc = kl_remote_infer(r, "x", 1, &p, kp_monotonic_ns() + 1500 * 1000000ull, &out, err, sizeof err);
  return &rc;
}

/* Remote calls are admitted per url and model: with max_concurrent 1 and
** max_queued 0, a second call while one runs is refused at once (busy);
** another model of the same server is not held up. */
static void test_remote_admission(void) {
  kl_remote r = { t_url, "slow", NULL, NULL, 1, 0 };
  kl_infer_result out;
  pthread_t th;
  CHECK(pthread_create(&th, NULL, t_slow_call, &r) == 0);
  usleep(300000);
  uint64_t t0 = kp_monotonic_ns();
  kl_infer_params p = KL_PARAMS_DEFAULT;
  CHECK_INT(kl_remote_infer(&r, "x", 1, &p, kp_monotonic_ns() + 5000 * 1000000ull, &out, t_err, sizeof t_err),
            KL_E_BUSY);
  CHECK_CONTAINS(t_err, "busy");
  CHECK(kp_monotonic_ns() - t0 < 200 * 1000000ull);
  kl_remote other = { t_url, "echo", NULL, NULL, 1, 0 };
  CHECK_INT(kl_remote_infer(&other, "x", 1, &p, kp_monotonic_ns() + 5000 * 1000000ull, &out, t_err, sizeof t_err),
            KL_OK);
  ku_free(out.text);
  void *rc;
  pthread_join(th, &rc);
  CHECK_INT(*(int *)rc, KL_E_TIMEOUT);
}

/* A slow server is left at the deadline; an unreachable one is named. */
static void test_remote_deadline(void) {
  kl_infer_result out;
  uint64_t t0 = kp_monotonic_ns();
  CHECK_INT(t_infer(t_url, "slow", NULL, NULL, "x", 300, &out), KL_E_TIMEOUT);
  uint64_t ms = (kp_monotonic_ns() - t0) / 1000000;
  CHECK_CONTAINS(t_err, "no complete reply within the deadline");
  CHECK(ms >= 290 && ms < 2000);
  CHECK_INT(t_infer("http://127.0.0.1:1/v1", "echo", NULL, NULL, "x", 2000, &out), KL_E_MODEL);
  CHECK_CONTAINS(t_err, "http://127.0.0.1:1/v1/completions: cannot connect to 127.0.0.1 port 1");
  CHECK_INT(t_infer("ftp://h:21/v1", "echo", NULL, NULL, "x", 2000, &out), KL_E_MODEL);
  CHECK_CONTAINS(t_err, "scheme \"ftp\" is not http or https");
  CHECK_INT(t_infer("http://u:p@h/v1", "echo", NULL, NULL, "x", 2000, &out), KL_E_MODEL);
  CHECK_CONTAINS(t_err, "holds credentials");
  CHECK(!strstr(t_err, "u:p"));
}

/* HTTPS: trusted through the test CA, refused without it. */
static void test_remote_tls(void) {
  kl_infer_result out;
  int rc = t_infer(t_surl, "auth", "k", t_ca, "x", 5000, &out);
  if (rc) printf("  %s\n", t_err);
  CHECK_INT(rc, KL_OK);
  CHECK_STR(out.text, "auth=Bearer k");
  ku_free(out.text);
  CHECK_INT(t_infer(t_surl, "echo", NULL, NULL, "x", 5000, &out), KL_E_MODEL);
  CHECK_CONTAINS(t_err, "/v1/completions: TLS: certificate verify failed");
  char ip[160];
  snprintf(ip, sizeof ip, "https://127.0.0.1:%d/v1", t_https);
  CHECK_INT(t_infer(ip, "echo", NULL, t_ca, "x", 5000, &out), KL_OK);
  ku_free(out.text);
  CHECK_INT(t_infer(t_surl, "echo", NULL, "/nonexistent/ca.pem", "x", 5000, &out), KL_E_MODEL);
  CHECK_CONTAINS(t_err, "CA file /nonexistent/ca.pem");
}

/* Chat and embeddings end to end. */
static void test_remote_chat_embed(void) {
  kl_remote r = { t_url, "chat", NULL, NULL, 0, 0 };
  kl_infer_params p = KL_PARAMS_DEFAULT;
  kl_chat_msg m[2] = { { "system", "be brief", 8 }, { "user", "hi", 2 } };
  kl_infer_result out;
  CHECK_INT(kl_remote_chat(&r, m, 2, &p, 0, &out, t_err, sizeof t_err), KL_OK);
  CHECK_STR(out.text, "chat:system:be brief|user:hi");
  CHECK(out.prompt_tokens == 3);
  ku_free(out.text);
  r.model = "emb";
  const char *texts[3] = { "a", "bcd", "" };
  size_t lens[3] = { 1, 3, 0 };
  float *v;
  uint32_t dim, pt;
  CHECK_INT(kl_remote_embed(&r, texts, lens, 3, 0, &v, &dim, &pt, t_err, sizeof t_err), KL_OK);
  CHECK(dim == 3 && pt == 9);
  CHECK(v[0] == 1 && v[1] == 0 && v[3] == 3 && v[4] == 1 && v[6] == 0 && v[7] == 2 && v[8] == 0.5f);
  ku_free(v);
  r.model = "e429";
  CHECK_INT(kl_remote_embed(&r, texts, lens, 3, 0, &v, &dim, &pt, t_err, sizeof t_err), KL_E_BUSY);
  CHECK_CONTAINS(t_err, "/v1/embeddings: the server answered 429");
  CHECK(v == NULL);
}

int main(void) {
  RUN(test_reply_good);
  RUN(test_reply_bad);
  RUN(test_reply_interim);
  RUN(test_reply_shape);
  RUN(test_oai_embed_rows);
  RUN(test_request_json);
  RUN(test_reply_json);
  if (!t_start()) {
    printf("FAIL fake_openai: the fake server did not start\n");
    t_stop();
    t_failed++;
    return t_summary();
  }
  int fds = t_open_fds();
  RUN(test_remote_infer);
  RUN(test_remote_key);
  RUN(test_remote_errors);
  RUN(test_remote_deadline);
  RUN(test_remote_body_bound);
  RUN(test_remote_admission);
  RUN(test_remote_tls);
  RUN(test_remote_chat_embed);
  if (t_open_fds() != fds) { printf("FAIL fds: %d open before, %d after\n", fds, t_open_fds()); t_failed++; }
  t_stop();
  return t_summary();
}
