// ecdsa.cc - ECDSA over a caller-supplied digest for IKEv1 signature auth.
//
// ecdsaSignDigest(pkcs8: Buffer, digest: Buffer, size: number) -> Buffer (r | s, 2*size bytes)
// ecdsaVerifyDigest(spki: Buffer, digest: Buffer, rs: Buffer) -> boolean
// Both run synchronously on the JS thread: a few per IKE SA, well under a
// millisecond each.
#include "ecdsa.h"

#include <cstdint>

#include "args.h"

extern "C" {
#include "ecdsa_digest.h"
}

namespace {

// r | s for P-521 is 132 bytes; anything bigger is a caller error.
constexpr uint32_t kMaxSize = 66;

Napi::Value Sign(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const uint8_t *key, *digest;
  size_t key_len, digest_len;
  uint32_t size;
  if (!sl_args::Expect(info, 3,
                       sl_args::Bytes(info[0], &key, &key_len) && sl_args::Bytes(info[1], &digest, &digest_len) &&
                           sl_args::U32(info[2], &size),
                       "ecdsaSignDigest(pkcs8: Buffer, digest: Buffer, size: number)"))
    return env.Undefined();
  if (size == 0 || size > kMaxSize) {
    Napi::RangeError::New(env, "ecdsaSignDigest: size out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto out = Napi::Buffer<uint8_t>::New(env, 2 * size);
  if (sl_ecdsa_sign_digest(key, key_len, digest, digest_len, out.Data(), out.Length()) != 0) {
    Napi::Error::New(env, "ecdsaSignDigest: not an EC key of that size, or OpenSSL refused").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return out;
}

Napi::Value Verify(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const uint8_t *key, *digest, *rs;
  size_t key_len, digest_len, rs_len;
  if (!sl_args::Expect(info, 3,
                       sl_args::Bytes(info[0], &key, &key_len) && sl_args::Bytes(info[1], &digest, &digest_len) &&
                           sl_args::Bytes(info[2], &rs, &rs_len),
                       "ecdsaVerifyDigest(spki: Buffer, digest: Buffer, rs: Buffer)"))
    return env.Undefined();
  // -1 (unusable key) is a refusal too: a peer's certificate key cannot make us throw.
  return Napi::Boolean::New(env, sl_ecdsa_verify_digest(key, key_len, digest, digest_len, rs, rs_len) == 1);
}

}  // namespace

void RegisterEcdsa(Napi::Env env, Napi::Object exports) {
  exports.Set("ecdsaSignDigest", Napi::Function::New(env, Sign));
  exports.Set("ecdsaVerifyDigest", Napi::Function::New(env, Verify));
}
