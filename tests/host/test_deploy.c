/*
** tests/host/test_deploy.c -- tests of src/deploy/ without python.wasm: the
** server of a deployment made (routes, metrics, listeners) with every
** allocation failing in turn. Does not own booting apps (tests/serve/).
*/
#include "test.h"
#include "deploy/deploy.h"
#include "util/util.h"

#include <string.h>

/* A manifest of two apps with three routes, built by hand. */
static char *t_routes_a[] = { "/a/...", "/a" }, *t_routes_b[] = { "/b/..." };
static km_app t_apps[] = {
  { .name = "a", .style = "spin", .routes = t_routes_a, .nroutes = 2 },
  { .name = "b", .style = "spin", .routes = t_routes_b, .nroutes = 1 },
};
static km_manifest t_manifest = { "/nowhere/krait.toml", t_apps, 2, NULL, 0 };

/* The options of `krait serve --listen 127.0.0.1:0 --quiet`. */
static kx_serve_opts t_opts(void) {
  kx_serve_opts o = { .listen = "127.0.0.1:0" };
  ks_config_default(&o.server);
  o.server.host = "127.0.0.1";
  o.server.port = 0;
  o.server.workers = 1;
  return o;
}

/* kx_server_new with the n-th allocation (n = 0, 1, ...) failing until it
** succeeds: each failure is NULL with an error that names the address and
** says out of memory (it used to be an unset buffer, or an abort on the
** metrics registry). The apps are never called: any non-NULL pointer. */
static void test_server_new_faults(void) {
  kx_serve_opts o = t_opts();
  ka_app *apps[2] = { (ka_app *)&t_apps[0], (ka_app *)&t_apps[1] };
  long n = 0;
  for (; n < 10000; n++) {
    char err[256];
    memset(err, 'x', sizeof err - 1);
    err[sizeof err - 1] = '\0';
    ku_fail_alloc_after(n);
    kx_server *s = kx_server_new(&o, &t_manifest, apps, err, sizeof err);
    ku_fail_alloc_after(-1);
    if (s) {
      kx_server_free(s);
      break;
    }
    CHECK_STR(err, "cannot serve on 127.0.0.1:0: out of memory");
  }
  CHECK(n > 10);        /* the routes, metrics and server each allocate */
  CHECK(n < 10000);
}

/* A listen address already taken: the error names it and the reason. */
static void test_server_new_address_taken(void) {
  kx_serve_opts o = t_opts();
  ka_app *apps[2] = { (ka_app *)&t_apps[0], (ka_app *)&t_apps[1] };
  char err[512] = "";
  kx_server *s = kx_server_new(&o, &t_manifest, apps, err, sizeof err);
  CHECK(s != NULL);
  kx_server_free(s);
  o.server.host = "192.0.2.1";   /* TEST-NET-1: not an address of this host */
  o.server.port = 80;
  o.listen = "192.0.2.1:80";
  s = kx_server_new(&o, &t_manifest, apps, err, sizeof err);
  CHECK(s == NULL);
  CHECK_CONTAINS(err, "cannot serve on 192.0.2.1:80: listen on 192.0.2.1 port 80: ");
}

/* kx_app_config with the n-th allocation failing in turn: each failure
** is -1 (it printed "out of memory"), never a config whose variable has
** no value (it failed later with a misleading error) or no shape; until it
** makes the config. */
static void test_app_config_faults(void) {
  static const char text[] = "[variables]\nuser = { default = \"app\" }\npw = { required = true, secret = true }\n"
                             "[app]\nstyle = \"spin\"\n[app.variables]\ndsn = \"{{ user }}:{{ pw }}@db\"\n"
                             "who = \"{{ user }}\"\nplain = \"x\"\n";
  km_source src = { "/srv/site/krait.toml", "/srv/site", NULL, false };
  char err[512];
  km_manifest *m = km_manifest_read(text, strlen(text), &src, err, sizeof err);
  CHECK(m);
  if (!m) return;
  char *values[] = { "app", "hunter2", NULL };
  kx_env env = { .home = "/h", .sdk = "/s", .values = values };
  static kx_app_cfg c;
  int rc = -1;
  long n = 0;
  for (; n < 100 && rc != 0; n++) {
    memset(&c, 0, sizeof c);
    ku_fail_alloc_after(n);
    rc = kx_app_config(m, &m->apps[0], &env, &c);
    ku_fail_alloc_after(-1);
    if (rc == 0) {
      CHECK_INT(c.cfg.nvars, 3);
      CHECK_STR(c.cfg.vars[0].value, "app:hunter2@db");
      CHECK_STR(c.cfg.vars[0].shape, "{{?}}:{{!}}@db");
      CHECK_STR(c.cfg.vars[1].value, "app");
      CHECK_INT(c.cfg.nsecrets, 1);
    }
    kx_app_config_release(&c);
  }
  CHECK(rc == 0 && n > 2);
  km_manifest_free(m);
}

int main(void) {
  RUN(test_server_new_faults);
  RUN(test_server_new_address_taken);
  RUN(test_app_config_faults);
  return t_summary();
}
