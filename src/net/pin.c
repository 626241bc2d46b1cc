/*
** pin.c -- the names the command line answers itself (--resolve NAME:ADDR,
** like curl's): the host's resolver returns ADDR for NAME. Set at startup,
** read-only once requests run. Not the policy on the addresses (policy.c).
*/
#include <stdio.h>
#include <string.h>

#include "net/net.h"
#include "util/util.h"

/* The pinned names, lower case, with their addresses in the order given. */
static struct { char name[KO_HOST_MAX + 1]; ko_addr addr; } ko_pins[KO_PINS_MAX];
static size_t ko_npins;

int ko_pin_add(const char *value, char *err, size_t errlen) {
  const char *colon = strchr(value, ':');
  char shown[KO_SHOW_SIZE], name[KO_HOST_MAX + 1];
  ko_addr ip, addr;
  bool is_ip;
  const char *why;
  if (!colon || colon == value || !colon[1]) {
    snprintf(err, errlen, "--resolve %s: expected NAME:ADDR (e.g. api.test:127.0.0.1)",
             ko_show(value, strlen(value), shown));
    return -1;
  }
  size_t n = (size_t)(colon - value);
  if (n > 1 && value[n - 1] == '.') n--;   /* "a.test." is "a.test", as in URLs */
  if (n > KO_HOST_MAX || (why = ko_name_check(value, n, &ip, &is_ip))) {
    snprintf(err, errlen, "--resolve %s: the name %s", ko_show(value, strlen(value), shown),
             n > KO_HOST_MAX ? "is over 253 bytes" : why);
    return -1;
  }
  if (!ko_addr_parse(colon + 1, strlen(colon + 1), &addr)) {
    snprintf(err, errlen, "--resolve %s: %s is not an IPv4 or IPv6 address (no brackets)",
             ko_show(value, strlen(value), shown), ko_show(colon + 1, strlen(colon + 1), name));
    return -1;
  }
  if (ko_npins == KO_PINS_MAX) {
    snprintf(err, errlen, "--resolve: at most %d", KO_PINS_MAX);
    return -1;
  }
  for (size_t i = 0; i < n; i++) name[i] = (char)((value[i] >= 'A' && value[i] <= 'Z') ? value[i] + 32 : value[i]);
  name[n] = '\0';
  ko_addr_unmap(&addr);
  memcpy(ko_pins[ko_npins].name, name, n + 1);
  ko_pins[ko_npins++].addr = addr;
  return 0;
}

size_t ko_pin_find(const char *name, ko_addr *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < ko_npins && n < cap; i++)
    if (!strcmp(ko_pins[i].name, name)) out[n++] = ko_pins[i].addr;
  return n;
}

void ko_pin_clear(void) { ko_npins = 0; }
