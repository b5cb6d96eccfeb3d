// OpenSSL's libcrypto, for SHA-256 only: the checksums of shards, catalogs and model files in
// manifests and provenance attributes. Its SHA-256 uses the CPU's SHA extensions (SHA-NI) where
// they exist, about 5× faster than portable code, which matters because ingest hashes every
// byte it writes.
#ifndef PHOTOZ_CCRYPTO_SHIM_H
#define PHOTOZ_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#endif
