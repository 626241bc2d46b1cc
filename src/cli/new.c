/*
** new.c -- `krait new TEMPLATE NAME`: a new app directory from a template.
** Owns the templates (krait.toml + app.py as C strings) and writing them;
** not what the files mean (src/manifest/, python/sdk/) nor serving them.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "manifest/manifest.h"

const char kc_new_usage[] =
  "Usage: krait new TEMPLATE NAME\n"
  "\n"
  "Creates the directory NAME with a krait.toml and an app.py that work at\n"
  "once: 'cd NAME && krait serve', then open http://127.0.0.1:8080/.\n"
  "The app is named after the last part of NAME, made a valid app name\n"
  "(letters, digits, '_', '.', '-': 'my app' becomes my-app, './-x' x).\n"
  "\n"
  "Templates:\n"
  "  spin-http   A Spin HTTP handler (IncomingHandler) that greets and\n"
  "              counts visits in the key-value store \"default\"\n"
  "              (.krait/default.db)\n"
  "  cloudflare  A Cloudflare Python Worker, async on_fetch(request, env):\n"
  "              a small key-value API over the KV namespace env.KV\n"
  "              (SQLite, .krait/kv.db)\n"
  "  wsgi        A Flask app with two routes (Flask from the system's\n"
  "              /usr/lib/python3/dist-packages: apt install python3-flask)\n"
  "\n"
  "NAME must not exist yet: nothing is ever overwritten.\n"
  "\n"
  "Options:\n"
  "  -h, --help  Show this help\n";

/* The placeholder the templates use for the app's name. */
#define KC_NEW_NAME "@NAME@"

static const char kc_spin_toml[] =
  "# krait.toml -- the manifest of @NAME@ (made by `krait new spin-http`).\n"
  "# Serve it with `krait serve` in this directory; `krait help serve`.\n"
  "[app]\n"
  "name = \"@NAME@\"\n"
  "style = \"spin\"\n"
  "module = \"app\"\n"
  "route = \"/...\"\n"
  "# \"default\" needs no [key_value_stores] table: it is .krait/default.db.\n"
  "key_value_stores = [\"default\"]\n"
  "\n"
  "[app.limits]\n"
  "timeout_ms = 5000\n";

static const char kc_spin_app[] =
  "# app.py -- a Spin HTTP handler served by `krait serve`: greets and counts\n"
  "# visits in the key-value store \"default\" (SQLite, .krait/default.db).\n"
  "from spin_sdk import http, key_value\n"
  "from spin_sdk.http import Request, Response\n"
  "\n"
  "# Every request runs in a fresh sandbox started from a snapshot taken\n"
  "# after this module was imported, so module globals start over each time:\n"
  "# this counter is always 1. What must last goes in the key-value store.\n"
  "requests_in_this_sandbox = 0\n"
  "\n"
  "\n"
  "class IncomingHandler(http.IncomingHandler):\n"
  "    def handle_request(self, request: Request) -> Response:\n"
  "        global requests_in_this_sandbox\n"
  "        requests_in_this_sandbox += 1\n"
  "        store = key_value.Store.open_default()\n"
  "        visits = int(store.get(\"visits\") or b\"0\") + 1\n"
  "        store.set(\"visits\", str(visits).encode())\n"
  "        body = (f\"Hello from @NAME@! This is visit {visits}.\\n\"\n"
  "                f\"(module global counter: {requests_in_this_sandbox})\\n\")\n"
  "        return Response(200, {\"content-type\": \"text/plain; charset=utf-8\"},\n"
  "                        body.encode())\n";

static const char kc_cf_toml[] =
  "# krait.toml -- the manifest of @NAME@ (made by `krait new cloudflare`).\n"
  "# Serve it with `krait serve` in this directory; `krait help serve`.\n"
  "[app]\n"
  "name = \"@NAME@\"\n"
  "style = \"cloudflare\"\n"
  "module = \"app\"\n"
  "route = \"/...\"\n"
  "key_value_stores = [\"KV\"]   # env.KV in on_fetch\n"
  "\n"
  "[app.limits]\n"
  "timeout_ms = 5000\n"
  "\n"
  "[key_value_stores.KV]\n"
  "backend = \"sqlite\"\n"
  "path = \".krait/kv.db\"\n";

static const char kc_cf_app[] =
  "# app.py -- a Cloudflare Python Worker served by `krait serve`: a small\n"
  "# key-value API over the KV namespace env.KV (declared in krait.toml).\n"
  "from urllib.parse import unquote, urlparse\n"
  "\n"
  "from js import Response\n"
  "\n"
  "\n"
  "async def on_fetch(request, env):\n"
  "    \"\"\"GET / greets; PUT or POST /KEY stores the request body under KEY;\n"
  "    GET /KEY reads it back (404 if absent); DELETE /KEY removes it.\"\"\"\n"
  "    url = urlparse(request.url)\n"
  "    key = unquote(url.path).strip(\"/\")\n"
  "    if not key:\n"
  "        here = f\"{url.scheme}://{url.netloc}\"\n"
  "        return Response.new(f\"Hello from @NAME@! Try:\\n\"\n"
  "                            f\"  curl -X PUT -d 'some text' {here}/greeting\\n\"\n"
  "                            f\"  curl {here}/greeting\\n\")\n"
  "    if request.method in (\"PUT\", \"POST\"):\n"
  "        await env.KV.put(key, await request.text())\n"
  "        return Response.new(\"stored\\n\", status=201)\n"
  "    if request.method == \"DELETE\":\n"
  "        await env.KV.delete(key)\n"
  "        return Response.new(None, status=204)\n"
  "    value = await env.KV.get(key)\n"
  "    if value is None:\n"
  "        return Response.new(f\"no key {key!r}\\n\", status=404)\n"
  "    return Response.new(value)\n";

static const char kc_wsgi_toml[] =
  "# krait.toml -- the manifest of @NAME@ (made by `krait new wsgi`).\n"
  "# Serve it with `krait serve` in this directory; `krait help serve`.\n"
  "[app]\n"
  "name = \"@NAME@\"\n"
  "style = \"wsgi\"\n"
  "wsgi = \"app:app\"\n"
  "route = \"/...\"\n"
  "# Flask and its dependencies, pure Python (apt install python3-flask).\n"
  "site_packages = [\"/usr/lib/python3/dist-packages\"]\n"
  "\n"
  "[app.limits]\n"
  "timeout_ms = 5000\n";

static const char kc_wsgi_app[] =
  "# app.py -- a Flask app served by `krait serve` through its WSGI adapter\n"
  "# (style \"wsgi\", wsgi = \"app:app\" in krait.toml).\n"
  "from flask import Flask, jsonify, request\n"
  "\n"
  "app = Flask(__name__)\n"
  "\n"
  "\n"
  "@app.get(\"/\")\n"
  "def index():\n"
  "    \"\"\"A plain-text greeting.\"\"\"\n"
  "    return \"Hello from @NAME@ (Flask on krait)!\\n\"\n"
  "\n"
  "\n"
  "@app.route(\"/api/hello/<name>\", methods=[\"GET\", \"POST\"])\n"
  "def hello(name):\n"
  "    \"\"\"A JSON route with a path parameter; a POSTed body is echoed.\"\"\"\n"
  "    return jsonify(hello=name, method=request.method,\n"
  "                   body=request.get_data(as_text=True))\n";

/* One template: its name and the two files it writes. */
typedef struct kc_template {
  const char *name, *toml, *app;
} kc_template;

static const kc_template kc_templates[] = {
  { "spin-http", kc_spin_toml, kc_spin_app },
  { "cloudflare", kc_cf_toml, kc_cf_app },
  { "wsgi", kc_wsgi_toml, kc_wsgi_app },
};
#define KC_NTEMPLATES (sizeof kc_templates / sizeof kc_templates[0])

/* Whether c may be in an app name (km_name_ok: letters, digits, '_',
** '.', '-'; ASCII only). */
static int kc_new_name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* The app name for directory path dir: its last component made a name
** km_name_ok accepts (1 to 64 of [A-Za-z0-9_.-], starting with a letter or
** digit, no ".."): each run of other bytes (a space, a UTF-8 character)
** becomes one '-', "..." one '.', and what cannot start or end a name is
** dropped there; "app" when nothing is left. Written to out (cap >= 65). */
static void kc_new_app_name(const char *dir, char *out, size_t cap) {
  size_t n = strlen(dir), i = 0;
  while (n > 1 && dir[n - 1] == '/')
    n--;
  size_t start = n;
  while (start > 0 && dir[start - 1] != '/')
    start--;
  for (; start < n && i < 64 && i + 1 < cap; start++) {
    unsigned char c = (unsigned char)dir[start];
    char put = kc_new_name_char(c) ? (char)c : '-';
    int alnum = put != '-' && put != '.' && put != '_';
    if (i == 0 && !alnum)
      continue;                       /* a name starts with a letter or digit */
    if ((put == '-' || put == '.') && out[i - 1] == put)
      continue;                       /* one '-' per run, no ".." */
    out[i++] = put;
  }
  while (i > 0 && !(out[i - 1] >= '0' && out[i - 1] <= '9') &&
         !((out[i - 1] | 32) >= 'a' && (out[i - 1] | 32) <= 'z'))
    i--;                              /* nor ends with '-', '.' or '_' */
  out[i] = '\0';
  if (i == 0)
    snprintf(out, cap, "app");
}

/* Writes text to the new file dir/file, every KC_NEW_NAME in it replaced by
** name. The file must not exist (O_EXCL). Returns 0, or -1 after a message
** naming the file and the reason. */
static int kc_new_write(const char *dir, const char *file, const char *text,
                        const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    fprintf(stderr, "Error: cannot create '%s': %s\n", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  const char *at;
  while ((at = strstr(text, KC_NEW_NAME))) {
    fwrite(text, 1, (size_t)(at - text), f);
    fputs(name, f);
    text = at + strlen(KC_NEW_NAME);
  }
  fputs(text, f);
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    fprintf(stderr, "Error: cannot write '%s': %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* Makes directory dir and writes template t's files into it. On a failure
** after the directory was made, removes what it created. Returns an exit
** status. */
static int kc_new_create(const kc_template *t, const char *dir) {
  char name[128], path[4096];
  if (mkdir(dir, 0755) != 0) {
    if (errno == EEXIST)
      fprintf(stderr, "Error: '%s' already exists; krait new does not "
              "overwrite anything (choose another NAME)\n", dir);
    else
      fprintf(stderr, "Error: cannot create directory '%s': %s\n", dir,
              strerror(errno));
    return KC_EXIT_ERROR;
  }
  kc_new_app_name(dir, name, sizeof name);
  if (!km_name_ok(name)) {   /* kc_new_app_name makes none such: a guard */
    fprintf(stderr, "Error: cannot derive an app name from '%s' (got \"%s\")\n", dir, name);
    rmdir(dir);
    return KC_EXIT_ERROR;
  }
  if (kc_new_write(dir, "krait.toml", t->toml, name) != 0 ||
      kc_new_write(dir, "app.py", t->app, name) != 0) {
    snprintf(path, sizeof path, "%s/krait.toml", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/app.py", dir);
    unlink(path);
    rmdir(dir);
    return KC_EXIT_ERROR;
  }
  printf("Created %s/ from the %s template: krait.toml, app.py\n"
         "Serve it with:\n"
         "  cd %s && krait serve\n"
         "  curl http://127.0.0.1:8080/\n", dir, t->name, dir);
  return KC_EXIT_OK;
}

/* `krait new TEMPLATE NAME`: checks the command line, finds the template
** and creates NAME from it. */
int kc_new_main(int argc, char **argv) {
  const char *args[2];
  int nargs = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(kc_new_usage, stdout);
      return KC_EXIT_OK;
    }
    if (a[0] == '-' && a[1] != '\0')
      return kc_usage_error("new", kc_new_usage, "unknown option '%s'", a);
    if (nargs == 2)
      return kc_usage_error("new", kc_new_usage, "too many arguments");
    args[nargs++] = a;
  }
  if (nargs == 0)
    return kc_usage_error("new", kc_new_usage, "no template given");
  const kc_template *t = NULL;
  for (size_t i = 0; i < KC_NTEMPLATES; i++)
    if (!strcmp(args[0], kc_templates[i].name))
      t = &kc_templates[i];
  if (!t)
    return kc_usage_error("new", kc_new_usage, "unknown template '%s' "
                          "(the templates are spin-http, cloudflare, wsgi)",
                          args[0]);
  if (nargs == 1)
    return kc_usage_error("new", kc_new_usage, "no NAME given (the directory "
                          "to create)");
  if (args[1][0] == '\0')
    return kc_usage_error("new", kc_new_usage, "NAME is empty");
  return kc_new_create(t, args[1]);
}
