// OpenSSL's libcrypto (Debian's libssl-dev) for SHA-256 of input files in
// report provenance: its EVP digest uses the CPU's SHA extensions where present.
#ifndef SPARROW_CCRYPTO_SHIM_H
#define SPARROW_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/crypto.h>

// OPENSSL_VERSION is a macro of the version-string selector.
static inline const char *sparrow_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION); }
#endif
