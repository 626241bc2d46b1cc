/*
** deny.c -- the message of a refused outbound call: what was denied and the
** key (allowed_outbound_hosts) or flag (--allow-net) that would allow it; a
** serve guest is not told the address a name resolves to. Not the decision.
*/
#include <stdio.h>

#include "net/net.h"
#include "util/util.h"

/* What grants d's destination: an entry for the manifest ("https://host",
** the port only when not the scheme's default) or a --allow-net value
** ("host:port"); the address itself for DENIED_ADDR. */
static const char *ko_grant(const ko_allow *a, const ko_denial *d, char *out, size_t cap) {
  char addr[KO_ADDR_TEXT];
  const char *h = d->why == KO_DENIED_ADDR ? ko_addr_text(&d->addr, addr) : d->host;
  bool v6 = d->why == KO_DENIED_ADDR ? d->addr.family == 6 : strchr(h, ':') != NULL;
  const char *l = v6 ? "[" : "", *r = v6 ? "]" : "";
  if (a->source == KO_FROM_CLI) snprintf(out, cap, "%s%s%s:%u", l, h, r, (unsigned)d->port);
  else if (ko_default_port(d->scheme) == d->port) snprintf(out, cap, "\"%s://%s%s%s\"", d->scheme, l, h, r);
  else snprintf(out, cap, "\"%s://%s%s%s:%u\"", d->scheme, l, h, r, (unsigned)d->port);
  return out;
}

void ko_deny_format(const ko_allow *a, const ko_denial *d, char *buf, size_t cap) {
  char dest[KO_HOST_MAX + 64], grant[KO_HOST_MAX + 64], addr[KO_ADDR_TEXT];
  bool cli = a->source == KO_FROM_CLI, v6 = strchr(d->host, ':') != NULL;
  snprintf(dest, sizeof dest, "%s://%s%s%s:%u", d->scheme, v6 ? "[" : "", d->host, v6 ? "]" : "",
           (unsigned)d->port);
  ko_grant(a, d, grant, sizeof grant);
  const char *how = cli ? "add " KO_CLI_FLAG " " : "add ", *where = cli ? "" : " to the app's "
                    KO_MANIFEST_KEY " in krait.toml";
  switch (d->why) {
  case KO_ALLOWED:
    ku_fmt(buf, cap, "outbound connection to %s is allowed", dest);
    break;
  case KO_DENIED_EMPTY:
    ku_fmt(buf, cap, "outbound connection to %s denied: %s; %s%s%s", dest,
           cli ? "krait python has no network access unless granted with " KO_CLI_FLAG " HOST[:PORT]"
               : "the app has no " KO_MANIFEST_KEY, how, grant, where);
    break;
  case KO_DENIED_HOST:
    ku_fmt(buf, cap, "outbound connection to %s denied: no %s allows it; %s%s%s", dest,
           cli ? KO_CLI_FLAG : "entry of " KO_MANIFEST_KEY, how, grant, where);
    break;
  case KO_DENIED_ADDR:
    ko_addr_text(&d->addr, addr);
    if (d->host_is_ip)
      ku_fmt(buf, cap, "outbound connection to %s denied: %s is a %s address, reached only when %s "
             "names it; %s%s%s", dest, addr, ko_class_name(ko_addr_class(&d->addr)),
             cli ? KO_CLI_FLAG : KO_MANIFEST_KEY, how, grant, where);
    else if (cli)
      ku_fmt(buf, cap, "outbound connection to %s denied: %s resolves to %s, a %s address, reached "
             "only when " KO_CLI_FLAG " names that address; %s%s%s", dest, d->host, addr,
             ko_class_name(ko_addr_class(&d->addr)), how, grant, where);
    else   /* the guest learns the class only; the app's log names the address */
      ku_fmt(buf, cap, "outbound connection to %s denied: %s resolves to a %s address, reached only "
             "when " KO_MANIFEST_KEY " names that address (the app's log names it)", dest, d->host,
             ko_class_name(ko_addr_class(&d->addr)));
    break;
  case KO_TIMED_OUT:
    ku_fmt(buf, cap, "outbound connection to %s failed: resolving %s timed out", dest, d->host);
    break;
  case KO_NO_ADDRESS:
    ku_fmt(buf, cap, "outbound connection to %s failed: cannot resolve %s: %s", dest, d->host,
           d->detail[0] ? d->detail : "no address");
    break;
  }
}
