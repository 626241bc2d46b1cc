/*
** tests/host/test_net.c -- the outbound network policy (src/net): URL
** parsing, allow-list entries and --allow-net values, matching, the
** address policy (literals, names via /etc/hosts, simulated rebinding)
** and the denial messages. No external DNS: names resolve locally.
*/
#include "test.h"
#include "net/net.h"
#include <netdb.h>
#include <stdbool.h>
#include "util/util.h"

static char t_err[KO_ERR_SIZE];

/* A message compared whole (printed when it differs). */
#define CHECK_MSG(got, want)                                             \
  do {                                                                   \
    const char *t_g = (got);                                             \
    if (strcmp(t_g, want) != 0) printf("  got: %s\n", t_g);              \
    CHECK(strcmp(t_g, want) == 0);                                       \
  } while (0)
static ko_url t_u;

/* Parses a URL (NUL-terminated); 0 or -1 with t_err. */
static int t_url(const char *s) {
  t_err[0] = '\0';
  return ko_url_parse(s, strlen(s), &t_u, t_err, sizeof t_err);
}

/* The error of a URL that must be refused ("(parsed)" if it was not). */
static const char *t_url_fail(const char *s) {
  return t_url(s) == 0 ? "(parsed)" : t_err;
}

/* Good URLs: scheme, host, port and the views. */
static void test_url_good(void) {
  static const char s1[] = "HTTPS://User:p%41ss@API.Example.COM.:8443/a/b%20c?q=1&r=%7e#frag";
  CHECK_INT(t_url(s1), 0);
  CHECK_STR(t_u.scheme, "https");
  CHECK_STR(t_u.host, "api.example.com");
  CHECK_INT(t_u.port, 8443);
  CHECK(t_u.port_given && !t_u.is_ip);
  CHECK_INT(t_u.user_len, 11);
  CHECK(!memcmp(s1 + t_u.user_at, "User:p%41ss", 11));
  CHECK_INT(t_u.path_len, 8);
  CHECK(!memcmp(s1 + t_u.path_at, "/a/b%20c", 8));
  CHECK(!memcmp(s1 + t_u.query_at, "q=1&r=%7e", t_u.query_len));
  CHECK_INT(t_url("http://example.com"), 0);
  CHECK_INT(t_u.port, 80);
  CHECK(!t_u.port_given && t_u.path_len == 0 && t_u.query_len == 0);
  static const struct { const char *url; uint16_t port; } dflt[] = {
    { "https://h", 443 }, { "postgres://db/x", 5432 }, { "redis://cache", 6379 },
    { "mysql://m", 3306 }, { "mqtt://b", 1883 }, { "foo://h:7", 7 },
  };
  for (size_t i = 0; i < KU_COUNT(dflt); i++) {
    CHECK_INT(t_url(dflt[i].url), 0);
    CHECK_INT(t_u.port, dflt[i].port);
  }
  char origin[300];
  CHECK_INT(t_url("http://127.0.0.1:8081/x"), 0);
  CHECK(t_u.is_ip && t_u.ip.family == 4 && t_u.ip.b[0] == 127 && t_u.ip.b[3] == 1);
  CHECK_STR(ko_url_origin(&t_u, origin, sizeof origin), "http://127.0.0.1:8081");
  CHECK_INT(t_url("http://[::FFFF:7f00:1]:81?x"), 0);
  CHECK(t_u.is_ip && t_u.ip.family == 6);
  CHECK_STR(t_u.host, "::ffff:127.0.0.1");
  CHECK_STR(ko_url_origin(&t_u, origin, sizeof origin), "http://[::ffff:127.0.0.1]:81");
  CHECK_INT(t_url("https://[2001:DB8::1]"), 0);
  CHECK_STR(t_u.host, "2001:db8::1");
  CHECK_INT(t_u.port, 443);
  CHECK_INT(t_url("http://a_b-c.d9.example:65535/"), 0);
  CHECK_INT(t_u.port, 65535);
  CHECK_INT(t_url("http://host#only-fragment"), 0);
  CHECK_INT(t_u.path_len, 0);
}

/* Bad URLs: each refused with a message naming what and where. */
static void test_url_bad(void) {
  static const struct { const char *url, *msg; } bad[] = {
    { "", "no scheme: a URL starts with scheme:// (as in https://) at byte 0" },
    { "example.com/x", "no scheme" },
    { "1http://x", "no scheme" },
    { "http:/x", "no \"//\" after \"http:\": the URL needs a host at byte 5" },
    { "http://", "an empty host at byte 7" },
    { "http:///path", "an empty host at byte 7" },
    { "http://:80", "an empty host" },
    { "http://a b/", "a space in the authority (percent-encode it as %20) at byte 8" },
    { "http://ab/c d", "a space in the path" },
    { "http://ab/?q=\r\nX: y", "control byte 0x0d in the query at byte 13" },
    { "http://ab\n", "control byte 0x0a in the authority" },
    { "http://caf\xc3\xa9.com/", "non-ASCII byte 0xc3 in the host (IDNA is not supported: pass the xn-- form" },
    { "http://x/\xc3\xa9", "non-ASCII byte 0xc3 in the path (percent-encode it)" },
    { "http://good.com\\@evil.com/", "a backslash in the authority at byte 15" },
    { "http://a@b@c/", "more than one '@' in the authority" },
    { "http://u%zz@h/", "'%' not followed by two hex digits in the userinfo" },
    { "http://h/%4", "'%' not followed by two hex digits in the path" },
    { "http://h%41/", "a percent-encoded host (not supported)" },
    { "http://h:0/", "port 0 at byte 9" },
    { "http://h:65536/", "port 65536 is over 65535" },
    { "http://h:99999999999999999999/", "is over 65535" },
    { "http://h:8a/", "a port that is not a number at byte 10" },
    { "http://h:/", "an empty port after ':'" },
    { "http://a..b/", "an empty label in the host name" },
    { "http://.a/", "an empty label" },
    { "http://a!b/", "a character that is not a letter, digit, '-', '_' or '.'" },
    { "http://127.1/", "a numeric host that is not a dotted-quad IPv4 address" },
    { "http://2130706433/", "not a dotted-quad" },
    { "http://0x7f.0.0.1/", "not a dotted-quad" },
    { "http://127.0.0.01/", "not a dotted-quad" },
    { "http://1.2.3.0x4/", "not a dotted-quad" },
    { "http://256.0.0.1/", "not a dotted-quad" },
    { "http://[::1/", "'[' without ']' around an IPv6 address" },
    { "http://[fe80::1%25eth0]/", "an IPv6 zone identifier (not supported)" },
    { "http://[v1.x]/", "an IPvFuture address (not supported)" },
    { "http://[1.2.3.4]/", "is not an IPv6 address" },
    { "http://[::1]x/", "'x' after ']'" },
    { "http://::1/", "an empty host" },
    { "foo://h/", "no port, and scheme \"foo\" has no default port" },
    { "http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com/",
      "a host name label longer than 63 bytes" },
  };
  for (size_t i = 0; i < KU_COUNT(bad); i++) {
    const char *e = t_url_fail(bad[i].url);
    if (!t_contains(e, bad[i].msg)) printf("  %s -> %s\n", bad[i].url, e);
    CHECK_CONTAINS(e, bad[i].msg);
    CHECK_CONTAINS(e, "URL \"");
  }
  /* the message names the URL, escaped */
  CHECK_MSG(t_url_fail("http://a b"), "URL \"http://a b\": a space in the authority (percent-encode "
            "it as %20) at byte 8");
  CHECK_CONTAINS(t_url_fail("http://x/\x01"), "URL \"http://x/\\x01\": control byte 0x01");
  /* explicit lengths: nothing past n is read (the NUL is not the end) */
  CHECK_INT(ko_url_parse("http://ab:80GARBAGE", 12, &t_u, t_err, sizeof t_err), 0);
  CHECK_INT(t_u.port, 80);
  CHECK(ko_url_parse("http://a\0b", 10, &t_u, t_err, sizeof t_err) != 0);
  CHECK_CONTAINS(t_err, "control byte 0x00");
  /* a host of 253 bytes is fine; 254 is not */
  char big[400];
  strcpy(big, "http://");
  for (int i = 0; i < 4; i++) strcat(big, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
  strcat(big, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");   /* 4*63 + 1... */
  big[7 + 253] = '\0';
  CHECK_INT(t_url(big), 0);
  strcat(big, "a");
  CHECK_CONTAINS(t_url_fail(big), "a host name longer than 253 bytes");
  /* the length limit */
  size_t n = KO_URL_MAX + 1;
  char *huge = ku_malloc(n);
  CHECK(huge);
  memset(huge, 'a', n);
  memcpy(huge, "http://h/", 9);
  int rc = ko_url_parse(huge, n, &t_u, t_err, sizeof t_err);
  ku_free(huge);
  CHECK(rc != 0);
  CHECK_CONTAINS(t_err, "(8193 bytes) is longer than 8192 bytes");
}

/* Adds entry s to a; the error (or "") in t_err. */
static int t_add(ko_allow *a, const char *s) {
  t_err[0] = '\0';
  return ko_allow_add(a, s, strlen(s), t_err, sizeof t_err);
}

/* Entries in Spin's syntax: what each grants. */
static void test_allow_parse(void) {
  ko_allow a;
  ko_allow_init(&a, KO_FROM_MANIFEST);
  CHECK_INT(t_add(&a, "https://API.example.com"), 0);
  CHECK_INT(a.v[0].kind, KO_HOST_NAME);
  CHECK_STR(a.v[0].host, "api.example.com");
  CHECK_STR(a.v[0].scheme, "https");
  CHECK(!a.v[0].any_port && a.v[0].lo == 443 && a.v[0].hi == 443);
  CHECK_STR(a.v[0].text, "https://API.example.com");
  CHECK_INT(t_add(&a, "  *://*.example.org:*  "), 0);
  CHECK_INT(a.v[1].kind, KO_HOST_SUFFIX);
  CHECK_STR(a.v[1].host, ".example.org");
  CHECK(a.v[1].scheme[0] == '\0' && a.v[1].any_port);
  CHECK_STR(a.v[1].text, "*://*.example.org:*");
  CHECK_INT(t_add(&a, "http://127.0.0.1:8081/"), 0);
  CHECK(a.v[2].kind == KO_HOST_NET && a.v[2].bits == 32 && a.v[2].lo == 8081);
  CHECK_INT(t_add(&a, "postgres://10.1.2.3/8:5432"), 0);   /* host bits cleared, as Spin */
  CHECK(a.v[3].kind == KO_HOST_NET && a.v[3].bits == 8 && a.v[3].net.b[0] == 10 && a.v[3].net.b[1] == 0);
  CHECK_INT(t_add(&a, "http://[::1]:8000..8010"), 0);
  CHECK(a.v[4].net.family == 6 && a.v[4].bits == 128 && a.v[4].lo == 8000 && a.v[4].hi == 8009);
  CHECK_INT(t_add(&a, "*://[fd00::]/8:*"), 0);
  CHECK(a.v[5].any_port);
  CHECK(a.v[5].bits == 8 && a.v[5].net.b[0] == 0xfd);
  CHECK_INT(t_add(&a, "*://*:*"), 0);
  CHECK_INT(a.v[6].kind, KO_HOST_ANY);
  CHECK_INT(t_add(&a, "redis://[::ffff:10.0.0.1]"), 0);   /* a mapped address is its IPv4 one */
  CHECK(a.v[7].net.family == 4 && a.v[7].bits == 32 && a.v[7].lo == 6379);
  CHECK_INT(t_add(&a, "mysql://db.local."), 0);
  CHECK_STR(a.v[8].host, "db.local");
  CHECK_INT(t_add(&a, "http://h:0..2"), 0);   /* a range from 0 starts at 1 */
  CHECK(a.v[9].lo == 1 && a.v[9].hi == 1);
  CHECK_INT(a.n, 10);
  ko_allow_free(&a);
  CHECK_INT(a.n, 0);
}

/* Entries that are refused, each message naming the entry and what. */
static void test_allow_errors(void) {
  static const struct { const char *entry, *msg; } bad[] = {
    { "", "entry \"\": it is empty: write scheme://host[:port]" },
    { "api.example.com", "entry \"api.example.com\": no scheme: write scheme://host[:port] (as in "
      "\"https://api.example.com\", or \"*://api.example.com:*\" for any scheme and port)" },
    { "api.example.com:80", "entry \"api.example.com:80\": no scheme: write scheme://host[:port] (as in "
      "\"https://api.example.com:80\", or \"*://api.example.com:80\" for any scheme)" },
    { "*", "entry \"*\": not an entry: write scheme://host[:port], with * for any scheme" },
    { "insecure:allow-all", "\"insecure:allow-all\" is not supported: \"*://*:*\" allows every host" },
    { "ht1p://h", "scheme \"ht1p\" must be letters only, or *" },
    { "://h", "the scheme must be 1 to 31 letters, or *" },
    { "{http,https}://h", "scheme lists ({...}) are not supported" },
    { "https://{a,b}", "host lists ({...}) are not supported" },
    { "http://self", "host \"self\" (requests to the app itself) is not supported by krait" },
    { "http://self.alt", "is not supported by krait" },
    { "https://a.*.example.org", "a wildcard is allowed only as a leading \"*.\"" },
    { "https://*example.org", "a wildcard is allowed only as a leading \"*.\"" },
    { "https://*.*.example.org", "a wildcard is allowed only as a leading" },
    { "https://*.1.2.3.4", "\"*.\" must be followed by a domain name, not an address" },
    { "*://h", "no port, and scheme \"*\" has no default port: add \":PORT\" or \":*\"" },
    { "foo://h", "no port, and scheme \"foo\" has no default port" },
    { "http://h:0", "port \"0\" is not a number 1-65535" },
    { "http://h:65536", "port \"65536\" is not a number 1-65535" },
    { "http://h:http", "port \"http\" is not a number" },
    { "http://h:{80,443}", "port lists ({...}) are not supported" },
    { "http://h:90..80", "port range \"90..80\" holds no port 1-65535 (its end is excluded, as in Spin)" },
    { "http://h:80..80", "holds no port" },
    { "http://h:0..1", "port range \"0..1\" holds no port" },   /* found by fuzz-net */
    { "http://h:000..1", "holds no port" },
    { "http://h:1..x", "port range \"1..x\" is not two numbers 0-65535" },
    { "http://h/path", "a path (\"/path\"): an entry names a scheme, a host and a port only" },
    { "http://h:80/p", "a path (\"/p\")" },
    { "http://::1:80", "an IPv6 address is written in brackets, as in \"http://[::1]:8080\"" },
    { "http://[::1", "'[' without ']' around an IPv6 address" },
    { "http://[1.2.3.4]", "\"[1.2.3.4]\" is not an IPv6 address" },
    { "http://[::1]x", "'x' after the host" },
    { "http://10.0.0.0/33", "prefix length \"/33\" is not a number 0-32" },
    { "http://[::]/129", "prefix length \"/129\" is not a number 0-128" },
    { "http://example.com/8", "\"example.com\" is not an IP address" },
    { "http://127.1", "a numeric host that is not a dotted-quad IPv4 address" },
    { "http://a..b", "an empty label" },
    { "http://a b", "byte 8 (0x20) is a space, a control byte or not ASCII" },
    { "http://caf\xc3\xa9", "byte 10 (0xc3) is a space, a control byte or not ASCII" },
    { "http://", "an empty host" },
  };
  ko_allow a;
  ko_allow_init(&a, KO_FROM_MANIFEST);
  for (size_t i = 0; i < KU_COUNT(bad); i++) {
    int rc = t_add(&a, bad[i].entry);
    if (rc == 0 || !t_contains(t_err, bad[i].msg)) printf("  %s -> %s\n", bad[i].entry, t_err);
    CHECK(rc != 0);
    CHECK_CONTAINS(t_err, bad[i].msg);
    CHECK_CONTAINS(t_err, "entry \"");
  }
  CHECK_INT(a.n, 0);
  char long_entry[400];
  memset(long_entry, 'a', sizeof long_entry - 1);
  long_entry[sizeof long_entry - 1] = '\0';
  CHECK(t_add(&a, long_entry) != 0);
  CHECK_CONTAINS(t_err, "it is longer than 300 bytes");
  ko_allow_free(&a);
}

/* --allow-net HOST[:PORT]: any scheme; HOST alone any port; Spin entries too. */
static void test_allow_flag(void) {
  ko_allow a;
  ko_allow_init(&a, KO_FROM_CLI);
  CHECK_INT(ko_allow_flag(&a, "api.example.com", t_err, sizeof t_err), 0);
  CHECK(a.v[0].kind == KO_HOST_NAME && a.v[0].any_port && !a.v[0].scheme[0]);
  CHECK_STR(a.v[0].text, "api.example.com");
  CHECK_INT(ko_allow_flag(&a, "127.0.0.1:8081", t_err, sizeof t_err), 0);
  CHECK(a.v[1].kind == KO_HOST_NET && !a.v[1].any_port && a.v[1].lo == 8081);
  CHECK_INT(ko_allow_flag(&a, "[::1]:9000", t_err, sizeof t_err), 0);
  CHECK(a.v[2].net.family == 6 && a.v[2].lo == 9000);
  CHECK_INT(ko_allow_flag(&a, "[::1]", t_err, sizeof t_err), 0);
  CHECK(a.v[3].any_port);
  CHECK_INT(ko_allow_flag(&a, "https://*.example.org", t_err, sizeof t_err), 0);
  CHECK(a.v[4].kind == KO_HOST_SUFFIX && a.v[4].lo == 443 && !strcmp(a.v[4].scheme, "https"));
  CHECK_INT(ko_allow_flag(&a, "*.example.net:443", t_err, sizeof t_err), 0);
  static const struct { const char *v, *msg; } bad[] = {
    { "", "--allow-net \"\": no host: write HOST[:PORT] (as in api.example.com:443)" },
    { "::1", "--allow-net \"::1\": an IPv6 address is written in brackets" },
    { "h:0", "--allow-net \"h:0\": port \"0\" is not a number 1-65535" },
    { "h:x", "--allow-net \"h:x\": port \"x\" is not a number" },
    { "a..b", "--allow-net \"a..b\": an empty label" },
    { "ftp://h", "--allow-net \"ftp://h\": no port, and scheme \"ftp\" has no default port" },
  };
  size_t before = a.n;
  for (size_t i = 0; i < KU_COUNT(bad); i++) {
    CHECK(ko_allow_flag(&a, bad[i].v, t_err, sizeof t_err) != 0);
    if (!t_contains(t_err, bad[i].msg)) printf("  %s -> %s\n", bad[i].v, t_err);
    CHECK_CONTAINS(t_err, bad[i].msg);
  }
  CHECK_INT(a.n, before);
  ko_allow_free(&a);
}

/* Whether URL s is allowed by a (its host, scheme and port). */
static bool t_allows(const ko_allow *a, const char *s) {
  if (t_url(s) != 0) { printf("  bad test URL %s: %s\n", s, t_err); return false; }
  return ko_allow_match(a, &t_u) != NULL;
}

/* Matching (scheme, host, port): exact names, wildcards, ports, networks. */
static void test_allow_match(void) {
  ko_allow a;
  ko_allow_init(&a, KO_FROM_MANIFEST);
  static const char *const entries[] = {
    "https://api.example.com", "http://127.0.0.1:8081", "https://*.example.org",
    "postgres://db.internal:5432", "redis://10.0.0.0/8:6379", "*://[::1]:7000..7003",
    "http://svc.local:*",
  };
  for (size_t i = 0; i < KU_COUNT(entries); i++) CHECK_INT(t_add(&a, entries[i]), 0);
  static const struct { const char *url; bool ok; } cases[] = {
    { "https://api.example.com/v1", true },
    { "https://API.EXAMPLE.COM.:443/", true },
    { "https://api.example.com:8443/", false },   /* another port */
    { "http://api.example.com/", false },         /* another scheme */
    { "https://x.api.example.com/", false },      /* not a wildcard */
    { "https://example.com/", false },
    { "http://127.0.0.1:8081/", true },
    { "http://127.0.0.1/", false },
    { "http://127.0.0.2:8081/", false },
    { "https://127.0.0.1:8081/", false },
    { "https://a.example.org/", true },
    { "https://a.b.example.org/", true },
    { "https://example.org/", false },            /* the domain itself is not a subdomain */
    { "https://badexample.org/", false },
    { "https://example.org.evil.com/", false },
    { "http://a.example.org/", false },
    { "postgres://db.internal/x", true },
    { "postgres://db.internal:5433/x", false },
    { "redis://10.20.30.40", true },
    { "redis://11.0.0.1", false },
    { "redis://[::ffff:10.1.1.1]", true },        /* the mapped form of an allowed address */
    { "redis://cache", false },                   /* a network matches addresses, not names */
    { "http://[::1]:7000", true },
    { "redis://[::1]:7002", true },
    { "http://[::1]:7003", false },               /* a range's end is excluded */
    { "http://[::2]:7000", false },
    { "http://svc.local:1", true },
    { "http://svc.local:65535/", true },
    { "https://svc.local/", false },
  };
  for (size_t i = 0; i < KU_COUNT(cases); i++) {
    if (t_allows(&a, cases[i].url) != cases[i].ok) printf("  %s: want %d\n", cases[i].url, cases[i].ok);
    CHECK(t_allows(&a, cases[i].url) == cases[i].ok);
  }
  ko_allow_free(&a);
  ko_allow_init(&a, KO_FROM_MANIFEST);
  CHECK_INT(t_add(&a, "*://*:*"), 0);
  CHECK(t_allows(&a, "foo://anything:1/"));
  CHECK(t_allows(&a, "http://[fe80::1]/"));
  ko_allow_free(&a);
  CHECK(!t_allows(&a, "http://h/"));
}

/* Address classes, with IPv4-mapped, NAT64 and 6to4 forms of IPv4 ones. */
static void test_addr_class(void) {
  static const struct { const char *addr; ko_class c; } cases[] = {
    { "8.8.8.8", KO_PUBLIC }, { "1.1.1.1", KO_PUBLIC }, { "2606:4700::1111", KO_PUBLIC },
    { "127.0.0.1", KO_LOOPBACK }, { "127.255.255.254", KO_LOOPBACK }, { "::1", KO_LOOPBACK },
    { "10.1.2.3", KO_PRIVATE }, { "172.16.0.1", KO_PRIVATE }, { "172.31.255.255", KO_PRIVATE },
    { "172.32.0.1", KO_PUBLIC }, { "192.168.1.1", KO_PRIVATE }, { "fc00::1", KO_PRIVATE },
    { "fd12:3456::1", KO_PRIVATE }, { "fec0::1", KO_PRIVATE }, { "64:ff9b:1::1", KO_PRIVATE },
    { "100.64.0.1", KO_SHARED }, { "100.127.255.255", KO_SHARED }, { "100.128.0.1", KO_PUBLIC },
    { "169.254.169.254", KO_LINK_LOCAL }, { "169.254.0.1", KO_LINK_LOCAL },
    { "fe80::1", KO_LINK_LOCAL }, { "febf::1", KO_LINK_LOCAL },
    { "0.0.0.0", KO_UNSPECIFIED }, { "0.1.2.3", KO_UNSPECIFIED }, { "::", KO_UNSPECIFIED },
    { "224.0.0.1", KO_MULTICAST }, { "239.255.255.250", KO_MULTICAST }, { "ff02::1", KO_MULTICAST },
    { "255.255.255.255", KO_BROADCAST }, { "240.0.0.1", KO_RESERVED }, { "192.0.2.1", KO_RESERVED },
    { "198.51.100.1", KO_RESERVED }, { "203.0.113.9", KO_RESERVED }, { "198.18.0.1", KO_RESERVED },
    { "192.0.0.8", KO_RESERVED }, { "2001:db8::1", KO_RESERVED }, { "2001::1", KO_RESERVED },
    { "::1.2.3.4", KO_RESERVED }, { "100::1", KO_RESERVED },
    /* IPv6 forms that carry an IPv4 address are classified by it */
    { "::ffff:127.0.0.1", KO_LOOPBACK }, { "::ffff:169.254.169.254", KO_LINK_LOCAL },
    { "::ffff:10.0.0.1", KO_PRIVATE }, { "::ffff:8.8.8.8", KO_PUBLIC },
    { "64:ff9b::a9fe:a9fe", KO_LINK_LOCAL }, { "64:ff9b::808:808", KO_PUBLIC },
    { "2002:7f00:1::", KO_LOOPBACK }, { "2002:c0a8:101::1", KO_PRIVATE }, { "2002:808:808::", KO_PUBLIC },
  };
  for (size_t i = 0; i < KU_COUNT(cases); i++) {
    ko_addr a;
    CHECK(ko_addr_parse(cases[i].addr, strlen(cases[i].addr), &a));
    if (ko_addr_class(&a) != cases[i].c)
      printf("  %s: %s, want %s\n", cases[i].addr, ko_class_name(ko_addr_class(&a)), ko_class_name(cases[i].c));
    CHECK_INT(ko_addr_class(&a), cases[i].c);
  }
  ko_addr a;
  CHECK(ko_addr_parse("::ffff:169.254.169.254", 22, &a));
  ko_addr_unmap(&a);
  char text[KO_ADDR_TEXT];
  CHECK_STR(ko_addr_text(&a, text), "169.254.169.254");
  CHECK(!ko_addr_parse("1.2.3", 5, &a) && !ko_addr_parse("01.2.3.4", 8, &a) && !ko_addr_parse("fe80::1%1", 9, &a));
  CHECK(!ko_addr_parse("1.2.3.4.5", 9, &a) && !ko_addr_parse("", 0, &a) && !ko_addr_parse("1.2.3.4", 6, &a));
  CHECK_STR(ko_class_name(KO_LINK_LOCAL), "link-local");
}

/* Runs the policy on URL s with the given resolved addresses (text). */
static ko_verdict t_check(const ko_allow *a, const char *s, const char *const *addrs, size_t n,
                          ko_dest *out, ko_denial *d) {
  ko_addr found[8];
  if (t_url(s) != 0) { printf("  bad URL %s: %s\n", s, t_err); return KO_NO_ADDRESS; }
  for (size_t i = 0; i < n; i++)
    if (!ko_addr_parse(addrs[i], strlen(addrs[i]), &found[i])) return KO_NO_ADDRESS;
  return ko_policy_check(a, &t_u, found, n, out, d);
}

/* The address policy: literals, rebinding (a name resolving to a special
** address), localhost, filtering mixed answers, and the messages. */
static void test_policy(void) {
  ko_allow a;
  ko_dest out;
  ko_denial d;
  char msg[KO_ERR_SIZE], text[KO_ADDR_TEXT];
  ko_allow_init(&a, KO_FROM_MANIFEST);
  static const char *const entries[] = {
    "https://api.example.com", "http://127.0.0.1:8081", "https://*.example.org", "*://*.cdn.net:*",
    "http://169.254.169.254", "postgres://db.internal:5432", "postgres://10.0.0.0/8:5432",
    "http://localhost:9000",
  };
  for (size_t i = 0; i < KU_COUNT(entries); i++) CHECK_INT(t_add(&a, entries[i]), 0);
  const char *pub[] = { "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946" };
  CHECK_INT(t_check(&a, "https://api.example.com/x", pub, 2, &out, &d), KO_ALLOWED);
  CHECK_INT(out.n, 2);
  CHECK_INT(out.port, 443);
  CHECK_STR(ko_addr_text(&out.addr[1], text), "2606:2800:220:1:248:1893:25c8:1946");
  /* DNS rebinding: an allowed name resolving to a special address */
  const char *meta[] = { "169.254.169.254" }, *lo[] = { "127.0.0.1" }, *mapped[] = { "::ffff:10.0.0.7" };
  CHECK_INT(t_check(&a, "https://evil.example.org/", meta, 1, &out, &d), KO_DENIED_ADDR);
  CHECK_INT(out.n, 0);
  ko_deny_format(&a, &d, msg, sizeof msg);
  CHECK_MSG(msg, "outbound connection to https://evil.example.org:443 denied: evil.example.org "
            "resolves to a link-local address, reached only when allowed_outbound_hosts names that "
            "address (the app's log names it)");   /* the guest is not told internal DNS */
  CHECK_INT(t_check(&a, "https://evil.example.org/", lo, 1, &out, &d), KO_DENIED_ADDR);
  CHECK_INT(t_check(&a, "https://api.example.com/", mapped, 1, &out, &d), KO_DENIED_ADDR);
  ko_deny_format(&a, &d, msg, sizeof msg);
  CHECK_CONTAINS(msg, "api.example.com resolves to a private address");
  CHECK(!strstr(msg, "10.0.0.7"));
  /* the literal grants exactly that address, at its entry's scheme and port */
  CHECK_INT(t_check(&a, "http://127.0.0.1:8081/", lo, 1, &out, &d), KO_ALLOWED);
  CHECK_INT(t_check(&a, "http://169.254.169.254/latest", meta, 1, &out, &d), KO_ALLOWED);
  /* ... also when the name resolving to it is allowed by another entry */
  CHECK_INT(t_check(&a, "http://x.cdn.net:8081/", lo, 1, &out, &d), KO_ALLOWED);
  CHECK_INT(t_check(&a, "http://x.cdn.net:8082/", lo, 1, &out, &d), KO_DENIED_ADDR);
  /* a network entry grants the private addresses of a name (compose services) */
  const char *db[] = { "10.0.3.4" }, *db2[] = { "172.18.0.2" };
  CHECK_INT(t_check(&a, "postgres://db.internal/app", db, 1, &out, &d), KO_ALLOWED);
  CHECK_INT(t_check(&a, "postgres://db.internal/app", db2, 1, &out, &d), KO_DENIED_ADDR);
  /* localhost: the entry naming it grants its loopback addresses, to that name only */
  const char *los[] = { "127.0.0.1", "::1" };
  CHECK_INT(t_check(&a, "http://localhost:9000/", los, 2, &out, &d), KO_ALLOWED);
  CHECK_INT(out.n, 2);
  CHECK_INT(t_check(&a, "http://localhost:9001/", los, 2, &out, &d), KO_DENIED_HOST);
  const char *lan[] = { "192.168.0.10" };
  CHECK_INT(t_check(&a, "http://localhost:9000/", lan, 1, &out, &d), KO_DENIED_ADDR);
  /* mixed answers: refused addresses are dropped, duplicates too */
  const char *mix[] = { "10.9.9.9", "93.184.216.34", "169.254.169.254", "93.184.216.34", "::ffff:93.184.216.34" };
  CHECK_INT(t_check(&a, "https://api.example.com/", mix, 5, &out, &d), KO_ALLOWED);
  CHECK_INT(out.n, 1);
  CHECK_STR(ko_addr_text(&out.addr[0], text), "93.184.216.34");
  /* a literal URL address that only "*" allows */
  ko_allow star;
  ko_allow_init(&star, KO_FROM_CLI);
  CHECK_INT(ko_allow_flag(&star, "*", t_err, sizeof t_err), 0);
  CHECK_INT(t_url("http://[::ffff:169.254.169.254]/"), 0);
  CHECK_INT(ko_resolve(&star, &t_u, 0, &out, &d), KO_DENIED_ADDR);
  ko_deny_format(&star, &d, msg, sizeof msg);
  CHECK_MSG(msg, "outbound connection to http://[::ffff:169.254.169.254]:80 denied: 169.254.169.254 "
            "is a link-local address, reached only when --allow-net names it; add --allow-net "
            "169.254.169.254:80");
  CHECK_INT(t_url("http://8.8.8.8:53/"), 0);
  CHECK_INT(ko_resolve(&star, &t_u, 0, &out, &d), KO_ALLOWED);
  CHECK_INT(out.port, 53);
  ko_allow_free(&star);
  /* no answer at all */
  CHECK_INT(t_check(&a, "https://api.example.com/", NULL, 0, &out, &d), KO_NO_ADDRESS);
  ko_allow_free(&a);
}

/* Whether this machine resolves "localhost" (its /etc/hosts names it, as
** an installed Debian's does; a bare chroot may have none). */
static bool t_localhost_resolves(void) {
  struct addrinfo *res = NULL, hints = {.ai_socktype = SOCK_STREAM};
  bool ok = getaddrinfo("localhost", "80", &hints, &res) == 0;
  if (res) freeaddrinfo(res);
  return ok;
}

/* ko_resolve through the system resolver: numeric hosts and "localhost"
** (from /etc/hosts); nothing here asks a DNS server. Without a localhost
** entry the name's checks cannot run: says so, and the name must then
** be reported as not resolving. */
static void test_resolve_local(void) {
  ko_allow a;
  ko_dest out;
  ko_denial d;
  char msg[KO_ERR_SIZE], text[KO_ADDR_TEXT];
  if (!t_localhost_resolves()) {
    printf("  localhost does not resolve on this machine (no /etc/hosts entry): its checks skipped\n");
    ko_allow_init(&a, KO_FROM_CLI);
    CHECK_INT(ko_allow_flag(&a, "localhost:8080", t_err, sizeof t_err), 0);
    CHECK_INT(t_url("http://localhost:8080/"), 0);
    CHECK_INT(ko_resolve(&a, &t_u, 0, &out, &d), KO_NO_ADDRESS);
    ko_allow_free(&a);
    return;
  }
  ko_allow_init(&a, KO_FROM_CLI);
  CHECK_INT(t_url("http://localhost:8080/"), 0);
  CHECK_INT(ko_resolve(&a, &t_u, 0, &out, &d), KO_DENIED_EMPTY);
  ko_deny_format(&a, &d, msg, sizeof msg);
  CHECK_MSG(msg, "outbound connection to http://localhost:8080 denied: krait python has no network "
            "access unless granted with --allow-net HOST[:PORT]; add --allow-net localhost:8080");
  CHECK_INT(ko_allow_flag(&a, "localhost:8080", t_err, sizeof t_err), 0);
  CHECK_INT(ko_resolve(&a, &t_u, 0, &out, &d), KO_ALLOWED);
  CHECK(out.n >= 1);
  bool v4 = false;
  for (size_t i = 0; i < out.n; i++) {
    CHECK_INT(ko_addr_class(&out.addr[i]), KO_LOOPBACK);
    v4 |= !strcmp(ko_addr_text(&out.addr[i], text), "127.0.0.1");
  }
  CHECK(v4);
  /* an entry for the address does not grant the name, and the reverse */
  ko_allow_free(&a);
  CHECK_INT(ko_allow_flag(&a, "127.0.0.1:8080", t_err, sizeof t_err), 0);
  CHECK_INT(ko_resolve(&a, &t_u, 0, &out, &d), KO_DENIED_HOST);
  ko_deny_format(&a, &d, msg, sizeof msg);
  CHECK_MSG(msg, "outbound connection to http://localhost:8080 denied: no --allow-net allows it; add "
            "--allow-net localhost:8080");
  CHECK_INT(t_url("http://127.0.0.1:8080/"), 0);
  CHECK_INT(ko_resolve(&a, &t_u, 0, &out, &d), KO_ALLOWED);
  CHECK_INT(out.n, 1);
  /* a name allowed by a wildcard resolving to loopback: refused */
  ko_allow_free(&a);
  CHECK_INT(ko_allow_flag(&a, "*", t_err, sizeof t_err), 0);
  CHECK_INT(t_url("http://localhost:8080/"), 0);
  CHECK_INT(ko_resolve(&a, &t_u, 0, &out, &d), KO_DENIED_ADDR);
  ko_deny_format(&a, &d, msg, sizeof msg);
  CHECK_CONTAINS(msg, "localhost resolves to ");
  CHECK_CONTAINS(msg, "a loopback address, reached only when --allow-net names that address");
  CHECK_INT(t_url("http://0.0.0.0:8080/"), 0);
  CHECK_INT(ko_resolve(&a, &t_u, 0, &out, &d), KO_DENIED_ADDR);
  ko_allow_free(&a);
  /* a name the resolver does not know (.invalid is never resolved: RFC 6761) */
  ko_allow_init(&a, KO_FROM_MANIFEST);
  CHECK_INT(t_add(&a, "https://*.invalid"), 0);
  CHECK_INT(t_url("https://krait-test.invalid/"), 0);
  ko_verdict v = ko_resolve(&a, &t_u, 0, &out, &d);
  CHECK(v == KO_NO_ADDRESS);
  ko_deny_format(&a, &d, msg, sizeof msg);
  CHECK_CONTAINS(msg, "outbound connection to https://krait-test.invalid:443 failed: cannot resolve "
                 "krait-test.invalid: ");
  ko_allow_free(&a);
}

/* The manifest's messages: the key, and the port only when not the default. */
static void test_deny_messages(void) {
  ko_allow a;
  ko_dest out;
  ko_denial d;
  char msg[KO_ERR_SIZE];
  ko_allow_init(&a, KO_FROM_MANIFEST);
  CHECK_INT(t_url("https://api.example.com/"), 0);
  CHECK_INT(ko_resolve(&a, &t_u, 0, &out, &d), KO_DENIED_EMPTY);
  ko_deny_format(&a, &d, msg, sizeof msg);
  CHECK_MSG(msg, "outbound connection to https://api.example.com:443 denied: the app has no "
            "allowed_outbound_hosts; add \"https://api.example.com\" to the app's allowed_outbound_hosts "
            "in krait.toml");
  CHECK_INT(t_add(&a, "https://other.example.com"), 0);
  CHECK_INT(t_url("http://api.example.com:8080/x"), 0);
  CHECK_INT(ko_resolve(&a, &t_u, 0, &out, &d), KO_DENIED_HOST);
  ko_deny_format(&a, &d, msg, sizeof msg);
  CHECK_MSG(msg, "outbound connection to http://api.example.com:8080 denied: no entry of "
            "allowed_outbound_hosts allows it; add \"http://api.example.com:8080\" to the app's "
            "allowed_outbound_hosts in krait.toml");
  CHECK_INT(t_url("redis://[fd00::5]/"), 0);
  CHECK_INT(ko_resolve(&a, &t_u, 0, &out, &d), KO_DENIED_HOST);
  ko_deny_format(&a, &d, msg, sizeof msg);
  CHECK_CONTAINS(msg, "outbound connection to redis://[fd00::5]:6379 denied");
  CHECK_CONTAINS(msg, "add \"redis://[fd00::5]\" to the app's");
  ko_allow_free(&a);
}

/* Running out of memory while adding entries is an error, never a leak. */
static void test_allow_faults(void) {
  ko_allow a;
  ko_allow_init(&a, KO_FROM_MANIFEST);
  int fails = 0;
  for (long n = 0; n < 20; n++) {
    ku_fail_alloc_after(n);
    int rc = 0;
    for (int i = 0; i < 6 && rc == 0; i++) rc = t_add(&a, "https://*.example.org");
    ku_fail_alloc_after(-1);
    if (rc) { fails++; CHECK_MSG(t_err, "out of memory"); }
    ko_allow_free(&a);
  }
  CHECK(fails > 0);
}

int main(void) {
  RUN(test_url_good);
  RUN(test_url_bad);
  RUN(test_allow_parse);
  RUN(test_allow_errors);
  RUN(test_allow_flag);
  RUN(test_allow_match);
  RUN(test_addr_class);
  RUN(test_policy);
  RUN(test_resolve_local);
  RUN(test_deny_messages);
  RUN(test_allow_faults);
  return t_summary();
}
