// args.h - how every binding (addon.cc, ecdsa.cc) unpacks its JS arguments:
// each call checks them with these and, when they do not fit, throws one
// TypeError carrying its usage line and returns undefined.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace sl_args {

// A Buffer argument's bytes, borrowed for the duration of the call.
inline bool Bytes(const Napi::Value &v, const uint8_t **p, size_t *n) {
  if (!v.IsBuffer()) return false;
  auto b = v.As<Napi::Buffer<uint8_t>>();
  *p = b.Data();
  *n = b.Length();
  return true;
}

// A number argument as an unsigned 32-bit integer (JS ToUint32).
inline bool U32(const Napi::Value &v, uint32_t *out) {
  if (!v.IsNumber()) return false;
  *out = v.As<Napi::Number>().Uint32Value();
  return true;
}

// At least `count` arguments and `ok`; otherwise throws TypeError(usage) and returns false.
inline bool Expect(const Napi::CallbackInfo &info, size_t count, bool ok, const std::string &usage) {
  if (info.Length() >= count && ok) return true;
  Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
  return false;
}

}  // namespace sl_args
