// addon.cc - Node binding of the ESP engine (node-addon-api, N-API 8).
//
// JS gets control calls only: SAs, IKE send, keepalives, counters, status.
// Workers report events and inbound IKE through one threadsafe function in
// non-blocking mode, so a slow JS thread costs dropped notifications, never
// a stalled data plane.
#include <napi.h>
#include <v8.h>

#include "args.h"
#include "ecdsa.h"

#include <atomic>
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "engine.h"
#include "selector.h"
}

namespace {

const char *DirName(uint8_t d) { return d == SL_DIR_OUT ? "out" : "in"; }

// IKE messages waiting in the threadsafe-function queue (4096 slots shared with
// SA events): at most this many and this many bytes, so a flood of junk on UDP
// 4500 can neither take the slots the SA lifetime events need nor pile up
// memory while the JS thread is busy. Beyond it they are dropped and counted
// (ikeDropped); IKE peers retransmit.
constexpr uint32_t kIkeQueueMax = 1024;
constexpr size_t kIkeQueueBytesMax = 2u << 20;

// What one queued IKE message holds of the budget above.
struct IkeBudget {
  std::atomic<uint32_t> count{0};
  std::atomic<size_t> bytes{0};
};

// One queued notification from a worker thread.
struct Note {
  bool ike = false;
  sl_event_t ev{};
  std::vector<uint8_t> msg;
  sl_endpoint_t from{};
  // IKE notes: returned when delivered or dropped. Shared, since queued notes
  // may be finalized after the Engine object is gone.
  std::shared_ptr<IkeBudget> budget;
  ~Note() {
    if (budget) {
      budget->count.fetch_sub(1, std::memory_order_relaxed);
      budget->bytes.fetch_sub(msg.size(), std::memory_order_relaxed);
    }
  }
};

Napi::Object EndpointObj(Napi::Env env, const sl_endpoint_t &ep) {
  char buf[64];
  sl_endpoint_format(&ep, buf, sizeof(buf));
  Napi::Object o = Napi::Object::New(env);
  o.Set("address", buf);
  o.Set("port", ep.port);
  return o;
}

const char *ReasonName(sl_event_reason_t r) {
  return r == SL_REASON_BYTES ? "bytes" : "packets";
}

void CallJs(Napi::Env env, Napi::Function cb, void * /*ctx*/, Note *n) {
  if (env != nullptr && cb != nullptr) {
    if (n->ike) {
      cb.Call({Napi::String::New(env, "ike"),
               Napi::Buffer<uint8_t>::Copy(env, n->msg.data(), n->msg.size()),
               EndpointObj(env, n->from)});
    } else {
      Napi::Object o = Napi::Object::New(env);
      o.Set("spi", n->ev.spi);
      switch (n->ev.type) {
        case SL_EV_SOFT:
        case SL_EV_HARD:
          o.Set("type", n->ev.type == SL_EV_SOFT ? "soft" : "hard");
          o.Set("direction", DirName(n->ev.dir));
          o.Set("reason", ReasonName(n->ev.reason));
          break;
        case SL_EV_SEQ_OVERFLOW:
          o.Set("type", "seq-overflow");
          o.Set("direction", "out");
          break;
        case SL_EV_PEER_MOVED:
          o.Set("type", "peer-moved");
          o.Set("reqid", n->ev.reqid);
          o.Set("from", EndpointObj(env, n->ev.from));
          break;
        case SL_EV_NO_SA:
          o.Set("type", "no-sa");
          o.Set("src", EndpointObj(env, n->ev.src));
          o.Set("dst", EndpointObj(env, n->ev.dst));
          o.Set("protocol", n->ev.proto);
          break;
      }
      cb.Call({Napi::String::New(env, "sa-event"), o});
    }
  }
  delete n;
}

using Tsfn = Napi::TypedThreadSafeFunction<void, Note, CallJs>;

bool GetEndpoint(const Napi::Object &o, const char *addrKey, const char *portKey,
                 sl_endpoint_t *ep, std::string *err) {
  Napi::Value a = o.Get(addrKey), p = o.Get(portKey);
  if (!a.IsString()) {
    *err = std::string(addrKey) + " must be a string";
    return false;
  }
  uint32_t port = p.IsNumber() ? p.As<Napi::Number>().Uint32Value() : 0;
  if (port > 65535 || sl_endpoint_parse(ep, a.As<Napi::String>().Utf8Value().c_str(),
                                        static_cast<uint16_t>(port)) != 0) {
    *err = std::string(addrKey) + " is not an IP address";
    return false;
  }
  return true;
}

// Optional options: the value when it has the right type, else the default.
std::string GetString(const Napi::Object &o, const char *key, const char *def) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : def;
}

int32_t GetI32(const Napi::Object &o, const char *key, int32_t def) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : def;
}

uint32_t GetU32(const Napi::Object &o, const char *key, uint32_t def) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : def;
}

uint64_t GetU64(const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  if (v.IsBigInt()) {
    bool lossless = true;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  if (v.IsNumber()) return static_cast<uint64_t>(v.As<Napi::Number>().Int64Value());
  return 0;
}

// The engine's counters as (name, value), in the order counters() returns them.
// The same walk, over zeros, is exported as counterFields: the TypeScript
// contract (firmware/src/dataplane/sa-contract.ts ENGINE_COUNTER_FIELDS) is
// tested against it, so a counter added here and not there fails a unit test.
template <typename F>
void EachCounter(const sl_counter_totals_t &t, uint64_t events_dropped, uint64_t ike_dropped, F f) {
  f("rxPackets", t.rx_packets);
  f("txPackets", t.tx_packets);
  f("rxBytes", t.rx_bytes);
  f("txBytes", t.tx_bytes);
  f("tunRxPackets", t.tun_rx_packets);
  f("tunTxPackets", t.tun_tx_packets);
  f("ikeRx", t.ike_rx);
  f("ikeTx", t.ike_tx);
  f("keepalivesRx", t.keepalives_rx);
  f("keepalivesTx", t.keepalives_tx);
  f("dropsReplay", t.drops[SL_DROP_REPLAY]);
  f("dropsIcv", t.drops[SL_DROP_ICV]);
  f("dropsBadSpi", t.drops[SL_DROP_BADSPI]);
  f("dropsMalformed", t.drops[SL_DROP_MALFORMED]);
  f("dropsNoSa", t.drops[SL_DROP_NOSA]);
  f("dropsPadding", t.drops[SL_DROP_PADDING]);
  f("dropsDead", t.drops[SL_DROP_DEAD]);
  f("dropsTxError", t.drops[SL_DROP_TXERR]);
  f("sysTunRead", t.sys_tun_read);
  f("sysTunWrite", t.sys_tun_write);
  f("sysRecv", t.sys_recv);
  f("sysSend", t.sys_send);
  f("recvMsgs", t.recv_msgs);
  f("sendMsgs", t.send_msgs);
  f("recvBatchMax", t.recv_batch_max);
  f("sendBatchMax", t.send_batch_max);
  f("afalgRequests", t.afalg_requests);
  f("afalgSyscalls", t.afalg_syscalls);
  f("eventsDropped", events_dropped);
  f("ikeDropped", ike_dropped);
}

Napi::Array CounterFields(Napi::Env env) {
  Napi::Array a = Napi::Array::New(env);
  sl_counter_totals_t zero{};
  uint32_t i = 0;
  EachCounter(zero, 0, 0, [&](const char *k, uint64_t) { a.Set(i++, k); });
  return a;
}

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {InstanceMethod("addSa", &Engine::IfOpen<&Engine::AddSa>),
                        InstanceMethod("updateRemote", &Engine::IfOpen<&Engine::UpdateRemote>),
                        InstanceMethod("deleteSa", &Engine::IfOpen<&Engine::DeleteSa>),
                        InstanceMethod("saStatus", &Engine::IfOpen<&Engine::SaStatus>),
                        InstanceMethod("listSas", &Engine::IfOpen<&Engine::ListSas>),
                        InstanceMethod("counters", &Engine::IfOpen<&Engine::Counters>),
                        InstanceMethod("sendIke", &Engine::IfOpen<&Engine::SendIke>),
                        InstanceMethod("setKeepalive", &Engine::IfOpen<&Engine::SetKeepalive>),
                        InstanceMethod("setBypass", &Engine::IfOpen<&Engine::SetBypass>),
                        InstanceMethod("workers", &Engine::IfOpen<&Engine::Workers>),
                        InstanceMethod("close", &Engine::Close)});
  }

  // new Engine({tun, listenAddress, listenPort, rawEsp, workers, mtu, socketBuffer}, cb)
  explicit Engine(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Engine>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "Engine(options, callback)").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    sl_engine_cfg_t cfg{};
    std::string tun = GetString(o, "tun", "");
    if (tun.empty() || tun.size() >= sizeof(cfg.tun)) {
      Napi::TypeError::New(env, "tun: 1..15 characters").ThrowAsJavaScriptException();
      return;
    }
    std::memcpy(cfg.tun, tun.c_str(), tun.size() + 1);
    std::string err;
    if (!GetEndpoint(o, "listenAddress", "listenPort", &cfg.listen, &err)) {
      Napi::TypeError::New(env, err).ThrowAsJavaScriptException();
      return;
    }
    cfg.raw_esp = o.Get("rawEsp").ToBoolean().Value();
    cfg.workers = GetI32(o, "workers", 1);
    cfg.mtu = GetI32(o, "mtu", 1400);
    cfg.sockbuf = GetI32(o, "socketBuffer", 8 << 20);
    tsfn_ = Tsfn::New(env, info[1].As<Napi::Function>(), "sitelink-engine", 4096, 1);
    sl_sink_t sink{};
    sink.event = &Engine::OnEvent;
    sink.ike = &Engine::OnIke;
    sink.ctx = this;
    char ebuf[256] = "";
    if (sl_engine_open(&engine_, &cfg, &sink, ebuf, sizeof(ebuf)) != 0) {
      engine_ = nullptr;
      tsfn_.Release();
      Napi::Error::New(env, std::string("engine: ") + ebuf).ThrowAsJavaScriptException();
    }
  }

  ~Engine() override { Shutdown(); }

 private:
  sl_engine_t *engine_ = nullptr;
  Tsfn tsfn_;
  // Notifications lost because the threadsafe-function queue was full (JS
  // thread busy) or memory ran out: written by any worker, read by JS.
  std::atomic<uint64_t> events_dropped_{0}, ike_dropped_{0};
  std::shared_ptr<IkeBudget> ike_budget_ = std::make_shared<IkeBudget>();

  void Shutdown() {
    if (engine_) {
      sl_engine_close(engine_);  // joins workers: nothing calls the sink after this
      engine_ = nullptr;
      tsfn_.Release();
    }
  }

  static void OnEvent(void *ctx, const sl_event_t *ev) {
    auto *self = static_cast<Engine *>(ctx);
    Note *n = new (std::nothrow) Note();
    if (!n) {
      self->events_dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    n->ev = *ev;
    if (self->tsfn_.NonBlockingCall(n) != napi_ok) {
      delete n;
      self->events_dropped_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  static void OnIke(void *ctx, const uint8_t *msg, size_t len, const sl_endpoint_t *from) {
    auto *self = static_cast<Engine *>(ctx);
    IkeBudget &b = *self->ike_budget_;
    // Dropped before the note holds the budget: give back the slot and the
    // bytes taken so far, and count the message.
    auto drop = [&](size_t bytes_taken) {
      b.bytes.fetch_sub(bytes_taken, std::memory_order_relaxed);
      b.count.fetch_sub(1, std::memory_order_relaxed);
      self->ike_dropped_.fetch_add(1, std::memory_order_relaxed);
    };
    if (b.count.fetch_add(1, std::memory_order_relaxed) >= kIkeQueueMax) return drop(0);
    if (b.bytes.fetch_add(len, std::memory_order_relaxed) + len > kIkeQueueBytesMax) return drop(len);
    Note *n = new (std::nothrow) Note();
    if (!n) return drop(len);
    n->ike = true;
    // The IKE path may allocate: it is not the per-packet ESP path, and a
    // failure only costs this message (IKE retransmits, RFC 7296 §2.1).
    try {
      n->msg.assign(msg, msg + len);
    } catch (...) {
      delete n;
      return drop(len);
    }
    n->budget = self->ike_budget_;
    n->from = *from;
    if (self->tsfn_.NonBlockingCall(n) != napi_ok) {
      delete n;
      self->ike_dropped_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Every call but close() needs the engine open: checked here, once, before
  // the method runs (after close() it throws "engine is closed").
  using Method = Napi::Value (Engine::*)(const Napi::CallbackInfo &);
  template <Method M>
  Napi::Value IfOpen(const Napi::CallbackInfo &info) {
    if (engine_) return (this->*M)(info);
    Napi::Error::New(info.Env(), "engine is closed").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }

  static bool Dir(const Napi::Value &v, uint8_t *d) {
    if (!v.IsString()) return false;
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s == "in") *d = SL_DIR_IN;
    else if (s == "out") *d = SL_DIR_OUT;
    else return false;
    return true;
  }

  /* An array of {local, remote, protocol, localPorts, remotePorts}; err set on a bad one. */
  static void Selectors(const Napi::Value &sv, std::vector<sl_selector_t> *sels, std::string *err) {
    if (!sv.IsArray()) return;
    Napi::Array a = sv.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length() && err->empty(); i++) {
      if (!a.Get(i).IsObject()) {
        *err = "selectors[" + std::to_string(i) + "]: not an object";
        return;
      }
      Napi::Object s = a.Get(i).As<Napi::Object>();
      sl_selector_t sel{};
      std::string l = GetString(s, "local", ""), r = GetString(s, "remote", "");
      if (sl_prefix_parse(&sel.local, l.c_str()) != 0 || sl_prefix_parse(&sel.remote, r.c_str()) != 0)
        *err = "selectors[" + std::to_string(i) + "]: bad prefix";
      sel.proto = static_cast<uint8_t>(GetU32(s, "protocol", 0));
      if (!Ports(s.Get("localPorts"), &sel.lport_lo, &sel.lport_hi) ||
          !Ports(s.Get("remotePorts"), &sel.rport_lo, &sel.rport_hi))
        *err = "selectors[" + std::to_string(i) + "]: bad port range";
      sels->push_back(sel);
    }
  }

  Napi::Value SetBypass(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::vector<sl_selector_t> sels;
    std::string err;
    if (!info[0].IsArray()) err = "setBypass(selectors[])";
    else Selectors(info[0], &sels, &err);
    if (!err.empty()) {
      Napi::TypeError::New(env, "setBypass: " + err).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (sl_engine_set_bypass(engine_, sels.data(), sels.size()) != 0)
      Napi::Error::New(env, "setBypass: too many selectors or out of memory").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  static bool Ports(const Napi::Value &v, uint16_t *lo, uint16_t *hi) {
    *lo = 0;
    *hi = 65535;
    if (v.IsUndefined() || v.IsNull()) return true;
    if (!v.IsArray()) return false;
    Napi::Array a = v.As<Napi::Array>();
    if (a.Length() != 2) return false;
    uint32_t l = a.Get(0u).As<Napi::Number>().Uint32Value(), h = a.Get(1u).As<Napi::Number>().Uint32Value();
    if (l > h || h > 65535) return false;
    *lo = static_cast<uint16_t>(l);
    *hi = static_cast<uint16_t>(h);
    return true;
  }

  Napi::Value AddSa(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) {
      Napi::TypeError::New(env, "addSa(spec)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object o = info[0].As<Napi::Object>();
    sl_sa_spec_t sp{};
    std::string err, alg, backend;
    sp.spi = o.Get("spi").As<Napi::Number>().Uint32Value();
    if (!Dir(o.Get("direction"), &sp.dir)) err = "direction must be 'in' or 'out'";
    alg = GetString(o, "algorithm", "");
    sp.algorithm = alg.c_str();
    if (err.empty() && !o.Get("encKey").IsBuffer()) err = "encKey must be a Buffer";
    if (err.empty()) GetEndpoint(o, "localAddress", "localPort", &sp.local, &err);
    if (err.empty()) GetEndpoint(o, "remoteAddress", "remotePort", &sp.remote, &err);
    std::string encap = GetString(o, "encap", "udp");
    sp.encap = encap == "none" ? SL_ENCAP_NONE : SL_ENCAP_UDP;
    sp.esn = o.Get("esn").ToBoolean().Value();
    sp.replay_window = GetU32(o, "replayWindow", 1024);
    backend = GetString(o, "backend", "auto");
    sp.backend = backend == "afalg" ? SL_BACKEND_AFALG
                 : backend == "openssl" ? SL_BACKEND_OPENSSL : SL_BACKEND_AUTO;
    sp.soft_bytes = GetU64(o, "softBytes");
    sp.hard_bytes = GetU64(o, "hardBytes");
    sp.soft_packets = GetU64(o, "softPackets");
    sp.hard_packets = GetU64(o, "hardPackets");
    sp.reqid = GetU32(o, "reqid", 0);
    std::vector<sl_selector_t> sels;
    if (err.empty()) Selectors(o.Get("selectors"), &sels, &err);
    if (!err.empty()) {
      Napi::TypeError::New(env, err).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    sp.selectors = sels.data();
    sp.nselectors = sels.size();
    // Keys: copied out of the JS heap only for the call, then wiped.
    Napi::Buffer<uint8_t> ek = o.Get("encKey").As<Napi::Buffer<uint8_t>>();
    std::vector<uint8_t> enc(ek.Data(), ek.Data() + ek.Length()), auth;
    if (o.Get("authKey").IsBuffer()) {
      Napi::Buffer<uint8_t> ak = o.Get("authKey").As<Napi::Buffer<uint8_t>>();
      auth.assign(ak.Data(), ak.Data() + ak.Length());
    }
    sp.enc_key = enc.data();
    sp.enc_key_len = enc.size();
    sp.auth_key = auth.empty() ? nullptr : auth.data();
    sp.auth_key_len = auth.size();
    char ebuf[256] = "";
    int rc = sl_engine_add_sa(engine_, &sp, ebuf, sizeof(ebuf));
    if (!enc.empty()) sl_wipe(enc.data(), enc.size());
    if (!auth.empty()) sl_wipe(auth.data(), auth.size());
    if (rc != 0) {
      Napi::Error::New(env, std::string("addSa: ") + ebuf).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return StatusObj(env, sp.spi, sp.dir);
  }

  Napi::Value StatusObj(Napi::Env env, uint32_t spi, uint8_t dir) {
    sl_sa_status_t st;
    if (sl_engine_sa_status(engine_, spi, dir, &st) != 0) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    o.Set("spi", st.spi);
    o.Set("direction", DirName(st.dir));
    o.Set("algorithm", st.algorithm);
    o.Set("backend", st.backend);
    o.Set("driver", st.driver);
    if (st.probe.done) {
      Napi::Object pr = Napi::Object::New(env);
      // The figures of the SA's direction (seals out, opens in), per packet.
      pr.Set("op", st.probe.open ? "open" : "seal");
      pr.Set("choice", st.probe.choice == SL_BACKEND_AFALG ? "afalg" : "openssl");
      pr.Set("afalgSmallNs", st.probe.afalg.small_ns);
      pr.Set("afalgMtuNs", st.probe.afalg.mtu_ns);
      pr.Set("afalgBatched", st.probe.afalg.batched);
      pr.Set("afalgSyscallsPerPacket", st.probe.afalg.sys_milli / 1000.0);
      pr.Set("opensslSmallNs", st.probe.openssl.small_ns);
      pr.Set("opensslMtuNs", st.probe.openssl.mtu_ns);
      pr.Set("opensslSyscallsPerPacket", st.probe.openssl.sys_milli / 1000.0);
      pr.Set("reason", st.probe_reason);
      o.Set("probe", pr);
    }
    o.Set("seq", Napi::BigInt::New(env, st.seq));
    o.Set("packets", Napi::BigInt::New(env, st.packets));
    o.Set("bytes", Napi::BigInt::New(env, st.bytes));
    o.Set("dropsReplay", Napi::BigInt::New(env, st.drops_replay));
    o.Set("dropsIcv", Napi::BigInt::New(env, st.drops_icv));
    o.Set("dropsMalformed", Napi::BigInt::New(env, st.drops_malformed));
    o.Set("dropsPadding", Napi::BigInt::New(env, st.drops_padding));
    o.Set("local", EndpointObj(env, st.local));
    o.Set("remote", EndpointObj(env, st.remote));
    o.Set("encap", st.encap == SL_ENCAP_NONE ? "none" : "udp");
    o.Set("esn", st.esn);
    o.Set("dead", st.dead);
    o.Set("keysWiped", st.keys_wiped);
    o.Set("reqid", st.reqid);
    return o;
  }

  Napi::Value UpdateRemote(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint8_t dir;
    uint32_t spi;
    sl_endpoint_t ep;
    std::string err;
    bool ok = sl_args::U32(info[0], &spi) && Dir(info[1], &dir) && info[2].IsObject() &&
              GetEndpoint(info[2].As<Napi::Object>(), "address", "port", &ep, &err);
    if (!sl_args::Expect(info, 3, ok, "updateRemote(spi, dir, {address, port}) " + err)) return env.Undefined();
    int rc = sl_engine_update_remote(engine_, spi, dir, &ep);
    if (rc == -2) {
      Napi::Error::New(env, "updateRemote: address family does not fit the socket").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Boolean::New(env, rc == 0);
  }

  // The (spi, dir) arguments deleteSa and saStatus take.
  static bool SpiDir(const Napi::CallbackInfo &info, const char *usage, uint32_t *spi, uint8_t *dir) {
    return sl_args::Expect(info, 2, sl_args::U32(info[0], spi) && Dir(info[1], dir), usage);
  }

  Napi::Value DeleteSa(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint8_t dir;
    uint32_t spi;
    if (!SpiDir(info, "deleteSa(spi, dir)", &spi, &dir)) return env.Undefined();
    return Napi::Boolean::New(env, sl_engine_del_sa(engine_, spi, dir) == 0);
  }

  Napi::Value SaStatus(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint8_t dir;
    uint32_t spi;
    if (!SpiDir(info, "saStatus(spi, dir)", &spi, &dir)) return env.Undefined();
    return StatusObj(env, spi, dir);
  }

  Napi::Value ListSas(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    size_t n = sl_engine_list(engine_, nullptr, nullptr, 0);
    std::vector<uint32_t> spis(n + 16);
    std::vector<uint8_t> dirs(n + 16);
    n = sl_engine_list(engine_, spis.data(), dirs.data(), spis.size());
    if (n > spis.size()) n = spis.size();
    Napi::Array a = Napi::Array::New(env);
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++) {
      Napi::Value st = StatusObj(env, spis[i], dirs[i]);
      if (!st.IsNull()) a.Set(k++, st);
    }
    return a;
  }

  Napi::Value Counters(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    sl_counter_totals_t t;
    sl_engine_counters(engine_, &t);
    Napi::Object o = Napi::Object::New(env);
    EachCounter(t, events_dropped_.load(std::memory_order_relaxed), ike_dropped_.load(std::memory_order_relaxed),
                [&](const char *k, uint64_t v) { o.Set(k, Napi::BigInt::New(env, v)); });
    return o;
  }

  Napi::Value SendIke(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    sl_endpoint_t ep;
    std::string err;
    const uint8_t *msg;
    size_t len;
    // ok first: GetEndpoint fills err, which the usage line then carries.
    bool ok = sl_args::Bytes(info[0], &msg, &len) && info[1].IsObject() &&
              GetEndpoint(info[1].As<Napi::Object>(), "address", "port", &ep, &err);
    if (!sl_args::Expect(info, 2, ok, "sendIke(buffer, {address, port}) " + err)) return env.Undefined();
    if (sl_engine_send_ike(engine_, msg, len, &ep) != 0) {
      Napi::Error::New(env, "sendIke failed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return env.Undefined();
  }

  Napi::Value SetKeepalive(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    sl_endpoint_t ep;
    std::string err;
    uint32_t seconds;
    bool ok = info[0].IsObject() && sl_args::U32(info[1], &seconds) &&
              GetEndpoint(info[0].As<Napi::Object>(), "address", "port", &ep, &err);
    if (!sl_args::Expect(info, 2, ok, "setKeepalive({address, port}, seconds) " + err)) return env.Undefined();
    if (sl_engine_set_keepalive(engine_, &ep, seconds) != 0) {
      Napi::Error::New(env, "setKeepalive: too many keepalive peers").ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  Napi::Value Workers(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    return Napi::Number::New(env, sl_engine_workers(engine_));
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Shutdown();
    return info.Env().Undefined();
  }
};

Napi::Value AfalgAvailable(const Napi::CallbackInfo &info) {
  return Napi::Boolean::New(info.Env(), sl_afalg_available());
}

// espKeyLengths(name) -> {enc, auth} as the engine checks them (salt included for
// AEADs), or null: the unit test compares them with sa-contract.ts KEY_LENGTHS.
Napi::Value EspKeyLengths(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!sl_args::Expect(info, 1, info[0].IsString(), "espKeyLengths(name: string)")) return env.Undefined();
  size_t enc = 0, auth = 0;
  if (sl_alg_parse(info[0].As<Napi::String>().Utf8Value().c_str(), nullptr, &enc, &auth) != 0) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("enc", static_cast<double>(enc));
  o.Set("auth", static_cast<double>(auth));
  return o;
}

// trimHeap() -> whether glibc gave memory back. Memory freed by start-up (config
// parsing, the bundle's compilation, V8's optimizing compiler zones) stays in
// malloc's arenas until something asks: malloc_trim(0) returns the free pages
// of every arena, not only the top of the main heap (glibc >= 2.8). Called by
// the daemon's idle tick (daemon/heap-trim.ts); no-op without glibc.
Napi::Value TrimHeap(const Napi::CallbackInfo &info) {
#if defined(__GLIBC__)
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// releaseMemory() -> whether glibc gave memory back. Once, when the daemon's start
// is over (daemon/heap-trim.ts releaseStartMemory): V8's low-memory collection
// (v8::Isolate::LowMemoryNotification, V8's embedder API: full collections with V8's
// reduce-memory flags until nothing more is freed, which also compacts the old
// space, shrinks the young generation and unmaps V8's pooled free pages; a plain
// gc() leaves all three), then malloc_trim(0) for what those collections and the
// start freed through malloc. Several collections of event-loop time (~30 ms here
// with a 5 MB live heap), so never on a path that packets or negotiations wait on.
//
// Those collections also drop the bytecode of every function not running at the
// time: the start's (the config's parser and checks, the policy's rules, the CLI
// arguments) ran once and never runs again, yet V8 flushes bytecode only after it
// has aged through five full collections (--bytecode-old-age), which an idle
// gateway may never reach. V8 reads --stress-flush-code when each full collection
// starts (Heap::GetCodeFlushMode), so setting it for these collections only flushes
// now; a function that runs again later is compiled again from the bundle's source,
// once. bench:ike, one spoke: VmRSS 46.2 -> 45.9 MiB (issue 10).
Napi::Value ReleaseMemory(const Napi::CallbackInfo &info) {
  // The addon's functions run on the isolate's own thread, so it is the current one.
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) {
    v8::V8::SetFlagsFromString("--stress-flush-code");
    isolate->LowMemoryNotification();
    v8::V8::SetFlagsFromString("--no-stress-flush-code");
  }
  return TrimHeap(info);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", Engine::Define(env));
  exports.Set("afalgAvailable", Napi::Function::New(env, AfalgAvailable));
  exports.Set("counterFields", CounterFields(env));
  exports.Set("espKeyLengths", Napi::Function::New(env, EspKeyLengths));
  exports.Set("trimHeap", Napi::Function::New(env, TrimHeap));
  exports.Set("releaseMemory", Napi::Function::New(env, ReleaseMemory));
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  RegisterEcdsa(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(sitelink_native, Init)
