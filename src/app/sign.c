/*
** sign.c -- Ed25519 keys for app artifacts (OpenSSL's libcrypto): reading
** PEM key files, signing, verifying, and making a key pair. Not what is
** signed, nor where the signature sits in an artifact (artifact.c).
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "app/sign.h"
#include "util/util.h"

#define KS_KEY_FILE_MAX 65536

struct ka_key {
  EVP_PKEY *pkey;
  bool secret;                   /* holds the private half */
  uint8_t pub[KA_KEY_PUBLIC];
  char name[600];                /* "PATH (ed25519:FINGERPRINT)" */
};

/* A PEM password callback that refuses: an encrypted key is an error,
** never a prompt on the terminal. */
static int ka_no_password(char *buf, int size, int rwflag, void *u) {
  (void)buf; (void)size; (void)rwflag; (void)u;
  return -1;
}

void ka_key_fingerprint(const uint8_t pub[KA_KEY_PUBLIC], char out[KA_KEY_FINGERPRINT]) {
  uint8_t h[32];
  unsigned hn = 32;
  EVP_Digest(pub, KA_KEY_PUBLIC, h, &hn, EVP_sha256(), NULL);
  strcpy(out, "ed25519:");
  for (int i = 0; i < 8; i++) snprintf(out + 8 + 2 * i, 3, "%02x", h[i]);
}

/* The PEM text of path (at most 64 KiB), malloc'ed, or NULL with err. */
static char *ka_key_text(const char *path, size_t *n, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  char *buf = f ? ku_malloc(KS_KEY_FILE_MAX + 1) : NULL;
  *n = buf ? fread(buf, 1, KS_KEY_FILE_MAX + 1, f) : 0;
  int e = errno;
  if (f) fclose(f);
  if (!buf || *n > KS_KEY_FILE_MAX) {
    snprintf(err, errlen, "%s: %s", path, !f ? strerror(e) : buf ? "too large for a key file" : "out of memory");
    ku_free(buf);
    return NULL;
  }
  return buf;
}

/* Reads a PEM key of the wanted half from text; NULL if there is none. */
static EVP_PKEY *ka_key_pem(const char *text, size_t n, bool secret) {
  BIO *bio = BIO_new_mem_buf(text, (int)n);
  EVP_PKEY *k = !bio ? NULL : secret ? PEM_read_bio_PrivateKey(bio, NULL, ka_no_password, NULL)
                                     : PEM_read_bio_PUBKEY(bio, NULL, ka_no_password, NULL);
  BIO_free(bio);
  ERR_clear_error();
  return k;
}

/* Why text holds no usable key of the wanted half (secret or public). */
static const char *ka_key_why(const char *text, size_t n, bool secret) {
  EVP_PKEY *other = ka_key_pem(text, n, !secret);
  const char *why = other && secret ? "is a public key: --sign needs the private key (NAME.key)"
                  : other ? "is a private key: give --trust the public key (NAME.pub), and keep "
                            "the private one where artifacts are built"
                  : strstr(text, "ENCRYPTED") ? "is an encrypted private key; krait reads only "
                                                "unencrypted PEM keys"
                  : "is not a PEM key file (make a key pair with: krait keygen NAME)";
  EVP_PKEY_free(other);
  return why;
}

ka_key *ka_key_load(const char *path, bool secret, char *err, size_t errlen) {
  size_t n;
  char *text = ka_key_text(path, &n, err, errlen);
  if (!text) return NULL;
  text[n] = '\0';
  EVP_PKEY *pk = ka_key_pem(text, n, secret);
  ka_key *k = pk ? ku_calloc(1, sizeof *k) : NULL;
  size_t pn = KA_KEY_PUBLIC;
  if (!pk) {
    snprintf(err, errlen, "%s %s", path, ka_key_why(text, n, secret));
  } else if (!EVP_PKEY_is_a(pk, "ED25519")) {
    snprintf(err, errlen, "%s is a %s key, not Ed25519 (make one with: krait keygen NAME)", path,
             EVP_PKEY_get0_type_name(pk) ? EVP_PKEY_get0_type_name(pk) : "another kind of");
  } else if (!k || EVP_PKEY_get_raw_public_key(pk, k->pub, &pn) != 1 || pn != KA_KEY_PUBLIC) {
    snprintf(err, errlen, "%s: %s", path, k ? "cannot read its public key" : "out of memory");
  } else {
    char fp[KA_KEY_FINGERPRINT];
    ka_key_fingerprint(k->pub, fp);
    snprintf(k->name, sizeof k->name, "%.500s (%s)", path, fp);
    k->pkey = pk;
    k->secret = secret;
    ku_free(text);
    return k;
  }
  ERR_clear_error();
  EVP_PKEY_free(pk);
  ku_free(k);
  ku_free(text);
  return NULL;
}

void ka_key_free(ka_key *k) {
  if (!k) return;
  EVP_PKEY_free(k->pkey);
  ku_free(k);
}

const char *ka_key_name(const ka_key *k) { return k->name; }

const uint8_t *ka_key_public(const ka_key *k) { return k->pub; }

bool ka_key_sign(const ka_key *k, const uint8_t *msg, size_t n, uint8_t sig[KA_KEY_SIGNATURE]) {
  EVP_MD_CTX *ctx = k->secret ? EVP_MD_CTX_new() : NULL;
  size_t sn = KA_KEY_SIGNATURE;
  bool ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
            EVP_DigestSign(ctx, sig, &sn, msg, n) == 1 && sn == KA_KEY_SIGNATURE;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

bool ka_key_verify(const ka_key *k, const uint8_t *msg, size_t n, const uint8_t sig[KA_KEY_SIGNATURE]) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
            EVP_DigestVerify(ctx, sig, KA_KEY_SIGNATURE, msg, n) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

/* Creates path (which must not exist) with mode and writes k into it as
** PEM: the private key (PKCS#8) or the public one. */
static bool ka_key_write(const char *path, mode_t mode, EVP_PKEY *k, bool secret, char *err, size_t errlen) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  bool ok = f && (secret ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL)
                         : PEM_write_PUBKEY(f, k)) == 1;
  int e = errno;
  if (f) ok = fclose(f) == 0 && ok;
  else if (fd >= 0) close(fd);
  ERR_clear_error();
  if (!ok) snprintf(err, errlen, "cannot write %s: %s", path, fd < 0 || !f ? strerror(e) : "write failed");
  if (!ok && fd >= 0) unlink(path);
  return ok;
}

int ka_keygen(const char *name, char *err, size_t errlen) {
  size_t n = strlen(name) + 8;
  char *priv = ku_malloc(n), *pub = ku_malloc(n);
  struct stat sb;
  EVP_PKEY *k = NULL;
  int rc = -1;
  if (!priv || !pub) {
    snprintf(err, errlen, "out of memory");
  } else {
    snprintf(priv, n, "%s.key", name);
    snprintf(pub, n, "%s.pub", name);
    if (lstat(priv, &sb) == 0 || lstat(pub, &sb) == 0)
      snprintf(err, errlen, "%s already exists: krait keygen never overwrites a key",
               lstat(priv, &sb) == 0 ? priv : pub);
    else if (!(k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")))
      snprintf(err, errlen, "cannot make an Ed25519 key (OpenSSL)");
    else if (ka_key_write(priv, 0600, k, true, err, errlen)) {
      if (ka_key_write(pub, 0644, k, false, err, errlen)) rc = 0;
      else unlink(priv);
    }
  }
  ERR_clear_error();
  EVP_PKEY_free(k);
  ku_free(priv);
  ku_free(pub);
  return rc;
}
