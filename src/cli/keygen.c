/*
** keygen.c -- `krait keygen NAME`: an Ed25519 key pair for signing app
** artifacts (NAME.key, private, 0600; NAME.pub, public). Owns only the
** command line; the keys themselves are src/app/sign.c's.
*/
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "app/app.h"

const char kc_keygen_usage[] =
  "Usage: krait keygen NAME\n"
  "\n"
  "Makes an Ed25519 key pair for signing app artifacts: NAME.key, the\n"
  "private key (PEM, PKCS#8, mode 0600: keep it where artifacts are built)\n"
  "and NAME.pub, the public key (PEM: give it to the servers). Neither file\n"
  "may exist. Then:\n"
  "  krait build --sign NAME.key          signs .krait/APP.krait\n"
  "  krait serve --trust NAME.pub APP.krait  serves it only if so signed\n"
  "The same keys from OpenSSL:\n"
  "  openssl genpkey -algorithm ed25519 -out NAME.key\n"
  "  openssl pkey -in NAME.key -pubout -out NAME.pub\n";

int kc_keygen_main(int argc, char **argv) {
  if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    fputs(kc_keygen_usage, stdout);
    return KC_EXIT_OK;
  }
  if (argc != 2 || !argv[1][0] || argv[1][0] == '-')
    return kc_usage_error("keygen", kc_keygen_usage, argc < 2 ? "no NAME given" : "expected one NAME");
  char err[1024];
  if (ka_keygen(argv[1], err, sizeof err) != 0) {
    fprintf(stderr, "Error: %s\n", err);
    return KC_EXIT_ERROR;
  }
  fprintf(stderr, "krait keygen: wrote %s.key (private, keep it secret) and %s.pub (public)\n", argv[1], argv[1]);
  return KC_EXIT_OK;
}
