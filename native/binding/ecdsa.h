// ecdsa.h - the addon's ECDSA-over-a-digest calls (see src/crypto/ecdsa_digest.h).
#pragma once
#include <napi.h>

// Adds ecdsaSignDigest(pkcs8, digest, size) and ecdsaVerifyDigest(spki, digest, rs) to exports.
void RegisterEcdsa(Napi::Env env, Napi::Object exports);
