/*
** sign.h -- Ed25519 artifact keys inside src/app (sign.c): the raw public
** key, its fingerprint, signing and verifying bytes. The key files and
** krait keygen are declared in app.h; what is signed is artifact.c's.
*/
#ifndef KA_SIGN_H
#define KA_SIGN_H

#include "app/app.h"

#define KA_KEY_PUBLIC 32        /* an Ed25519 public key */
#define KA_KEY_SIGNATURE 64     /* an Ed25519 signature */
#define KA_KEY_FINGERPRINT 32   /* "ed25519:" and 16 hex digits, NUL */

/* The key's raw public key (KA_KEY_PUBLIC bytes). */
const uint8_t *ka_key_public(const ka_key *k);

/* "ed25519:" and the first 8 bytes of the SHA-256 of pub, in hex. */
void ka_key_fingerprint(const uint8_t pub[KA_KEY_PUBLIC], char out[KA_KEY_FINGERPRINT]);

/* Signs n bytes of msg (pure Ed25519) with a private key. */
bool ka_key_sign(const ka_key *k, const uint8_t *msg, size_t n, uint8_t sig[KA_KEY_SIGNATURE]);

/* Whether sig is k's signature of the n bytes of msg. */
bool ka_key_verify(const ka_key *k, const uint8_t *msg, size_t n, const uint8_t sig[KA_KEY_SIGNATURE]);

#endif
