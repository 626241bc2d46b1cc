/*
** netopt.c -- the outbound network options krait serve and krait python
** share: --ca-file FILE (the CA bundle TLS verifies against instead of the
** system store) and --resolve NAME:ADDR (pinned names). Not --allow-net.
*/
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int kc_net_opt(const char *cmd, const char *usage, const char *name, const char *value) {
  char err[KO_ERR_SIZE];
  if (!strcmp(name, "--resolve")) {
    if (ko_pin_add(value, err, sizeof err) == 0) return -1;
    return kc_usage_error(cmd, usage, "%s", err);
  }
  if (ko_tls_setup(value, err, sizeof err) == 0) return -1;
  fprintf(stderr, "Error: %s\n", err);
  return KC_EXIT_ERROR;
}
