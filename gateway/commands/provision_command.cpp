#include "gateway/commands/provision_command.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "common/atomic_file.h"
#include "common/file_text.h"
#include "gateway/config/gateway_config.h"
#include "gateway/config/running_gateway.h"

namespace footfall::gateway {

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;
constexpr long kClientCertDays = 825;  // the longest validity common TLS clients accept
constexpr auto kReloadAnswerLimit = std::chrono::seconds(10);  // a reload takes milliseconds; a restarting site stage longer

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
struct FileClose {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;
using File = std::unique_ptr<std::FILE, FileClose>;

// Replaces `target` durably (see common/atomic_file.h); `mode` for a new file, an existing one keeps its mode and owner.
std::optional<std::string> write_atomically(const fs::path& target, const std::string& bytes, mode_t mode) {
  atomic_file::Options options;
  options.mode = mode;
  options.keep_existing_mode = true;
  if (const auto e = atomic_file::write(target, bytes, options)) return e->message();
  return std::nullopt;
}

bool is_wildcard(const std::string& address) {
  return address.empty() || address == "0.0.0.0" || address == "::" || address == "[::]";
}

Cert read_cert(const std::string& path) {
  const File f(std::fopen(path.c_str(), "r"));
  if (!f) return nullptr;
  return Cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
}

Key read_key(const std::string& path) {
  const File f(std::fopen(path.c_str(), "r"));
  if (!f) return nullptr;
  return Key(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
}

std::string pem_of(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string pem_of(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

struct ClientPair {
  std::string cert_pem;
  std::string key_pem;
  std::string error;
};

// A P-256 key for the probe and a client certificate (CN = probe id) signed by the gateway's client CA.
ClientPair make_client_pair(const std::string& ca_cert_path, const std::string& ca_key_path, const std::string& id) {
  const Cert ca = read_cert(ca_cert_path);
  if (!ca) return {{}, {}, "listen.tls.client_ca_file: cannot read a PEM certificate from " + ca_cert_path};
  const Key ca_key = read_key(ca_key_path);
  if (!ca_key) return {{}, {}, "--client-ca-key: cannot read a PEM private key from " + ca_key_path};
  if (X509_check_private_key(ca.get(), ca_key.get()) != 1)
    return {{}, {}, "--client-ca-key: this key does not belong to " + ca_cert_path};
  const Key key(EVP_EC_gen("P-256"));
  const Cert cert(X509_new());
  if (!key || !cert) return {{}, {}, "OpenSSL could not make a key"};
  std::array<unsigned char, 16> serial{};
  if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1) return {{}, {}, "OpenSSL RAND_bytes failed"};
  serial[0] &= 0x7f;  // a positive serial
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr), &BN_free);
  X509_set_version(cert.get(), 2);
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kClientCertDays * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(id.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                                   std::pair{NID_key_usage, "critical,digitalSignature"},
                                   std::pair{NID_ext_key_usage, "clientAuth"}}) {
    const std::unique_ptr<X509_EXTENSION, ExtFree> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) return {{}, {}, "OpenSSL could not add an extension"};
  }
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0) return {{}, {}, "OpenSSL could not sign the certificate"};
  return {pem_of(cert.get()), pem_of(key.get()), {}};
}

}  // namespace

std::string make_token() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (const unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 0xf];
  }
  return token;
}

namespace {

// Each step answers nullopt to go on, or the exit status to stop with (its message already written to err).
using Outcome = std::optional<int>;

// What the steps learn and hand on.
struct Provisioning {
  std::string label;         // gateway.json's file name, for messages
  std::string config_text;   // as read
  GatewayConfig gateway;     // as parsed from it
  std::string host;          // what the probe connects to
  int port = 0;
  bool rotating = false;     // the probe exists: a new token for it
  std::string token;
  std::string zone;
  std::string new_config_text;  // gateway.json with the probe added or its token rotated
  std::vector<std::string> written;
  std::string client_cert_note;
};

Outcome load_gateway_config(const ProvisionOptions& o, Provisioning& p, std::ostream& err) {
  p.label = fs::path(o.config_path).filename().string();
  const FileText text = read_file(o.config_path);
  if (!text.ok()) {
    err << "footfall-gateway: cannot read " << o.config_path << ": " << std::strerror(text.error) << "\n";
    return kExitUsage;
  }
  auto checked = parse_config(text.text, p.label);
  if (const auto* e = std::get_if<std::string>(&checked)) {
    err << "footfall-gateway: " << *e << " (fix it before provisioning)\n";
    return kExitUsage;
  }
  p.config_text = text.text;
  p.gateway = std::get<GatewayConfig>(std::move(checked));
  return std::nullopt;
}

Outcome choose_address(const ProvisionOptions& o, Provisioning& p, std::ostream& err) {
  const GatewayConfig& gw = p.gateway;
  if (o.probe_id.empty() || o.probe_id.size() > 64) {
    err << "footfall-gateway: --probe: expected an id of 1..64 bytes\n";
    return kExitUsage;
  }
  p.host = o.gateway_host.empty() ? (is_wildcard(gw.listen_address) ? "" : gw.listen_address) : o.gateway_host;
  if (p.host.empty()) {
    err << "footfall-gateway: listen.address is " << (gw.listen_address.empty() ? "empty" : gw.listen_address)
        << ": give --gateway-host, the name or address probes reach the gateway at\n";
    return kExitUsage;
  }
  p.port = o.gateway_port != 0 ? o.gateway_port : gw.listen_port;
  if (p.port == 0) {
    err << "footfall-gateway: listen.port is 0 (any free port): give --gateway-port\n";
    return kExitUsage;
  }
  return std::nullopt;
}

// Adds the probe with a new token to gateway.json's text (or gives an existing one a new token), every other
// key kept in its order, and checks that the result still loads.
Outcome edit_probe_entry(const ProvisionOptions& o, Provisioning& p, std::ostream& err) {
  ordered_json doc = ordered_json::parse(p.config_text);  // valid: parse_config accepted it
  if (!doc.contains("probes")) doc["probes"] = ordered_json::array();
  ordered_json& probes = doc["probes"];
  ordered_json* existing = nullptr;
  for (auto& entry : probes)
    if (entry.value("id", std::string()) == o.probe_id) existing = &entry;
  if (existing != nullptr && !o.rotate_token) {
    err << "footfall-gateway: probe '" << o.probe_id << "' exists in " << o.config_path
        << "; --rotate-token gives it a new token (the gateway refuses the old one once it has reloaded)\n";
    return kExitRefused;
  }
  if (existing == nullptr && o.rotate_token) {
    err << "footfall-gateway: --rotate-token: no probe '" << o.probe_id << "' in " << o.config_path << "\n";
    return kExitRefused;
  }

  p.token = make_token();
  if (p.token.empty()) {
    err << "footfall-gateway: OpenSSL's random generator failed; no token made\n";
    return kExitRefused;
  }
  p.rotating = existing != nullptr;
  p.zone = o.zone;
  if (existing != nullptr) {
    (*existing)["token"] = p.token;
    if (!o.zone.empty()) (*existing)["zone"] = o.zone;
    p.zone = existing->value("zone", std::string());
  } else {
    if (p.zone.empty()) p.zone = o.probe_id;
    probes.push_back({{"id", o.probe_id}, {"token", p.token}, {"zone", p.zone}});
  }
  p.new_config_text = doc.dump(2) + "\n";
  const auto checked = parse_config(p.new_config_text, p.label);
  if (const auto* e = std::get_if<std::string>(&checked)) {
    err << "footfall-gateway: the edited " << p.label << " would not load: " << *e << "\n";
    return kExitRefused;
  }
  return std::nullopt;
}

// ca.pem and, when the gateway asks for client certificates and the client CA's key is given, probe.crt and
// probe.key; fills in probe.json's gateway.tls.
Outcome write_tls_files(const ProvisionOptions& o, Provisioning& p, ordered_json& probe, std::ostream& err) {
  const GatewayConfig& gw = p.gateway;
  const fs::path out_dir(o.out_dir);
  const fs::path on_probe(o.probe_dir);
  const std::string ca_source = o.ca_file.empty() ? gw.tls.cert_file : o.ca_file;
  const FileText ca = read_file(ca_source);
  if (!ca.ok() || !read_cert(ca_source)) {
    err << "footfall-gateway: " << (o.ca_file.empty() ? "listen.tls.cert_file" : "--ca") << ": no PEM certificate in "
        << ca_source << "\n";
    return kExitUsage;
  }
  if (const auto e = write_atomically(out_dir / "ca.pem", ca.text, 0644)) {
    err << "footfall-gateway: " << *e << "\n";
    return kExitRefused;
  }
  p.written.push_back((out_dir / "ca.pem").string());
  ordered_json tls = {{"ca_file", (on_probe / "ca.pem").string()}};
  if (!gw.tls.client_ca_file.empty()) {
    if (!o.client_ca_key.empty()) {
      const ClientPair pair = make_client_pair(gw.tls.client_ca_file, o.client_ca_key, o.probe_id);
      if (!pair.error.empty()) {
        err << "footfall-gateway: " << pair.error << "\n";
        return kExitUsage;
      }
      for (const auto& [name, pem, mode] : {std::tuple{"probe.crt", pair.cert_pem, 0644}, std::tuple{"probe.key", pair.key_pem, 0600}}) {
        if (const auto e = write_atomically(out_dir / name, pem, static_cast<mode_t>(mode))) {
          err << "footfall-gateway: " << *e << "\n";
          return kExitRefused;
        }
        p.written.push_back((out_dir / name).string());
      }
      tls["cert_file"] = (on_probe / "probe.crt").string();
      tls["key_file"] = (on_probe / "probe.key").string();
    } else {
      p.client_cert_note =
          "the gateway asks for client certificates (listen.tls.client_ca_file): run again with --rotate-token "
          "--client-ca-key KEY (the key of " + gw.tls.client_ca_file + "), or make one with openssl:\n"
          "  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" + o.probe_id +
          " -keyout probe.key -out probe.csr\n"
          "  openssl x509 -req -in probe.csr -CA " + gw.tls.client_ca_file +
          " -CAkey client-ca.key -CAcreateserial -days 825 -out probe.crt\n"
          "  and add \"cert_file\": \"" + (on_probe / "probe.crt").string() + "\", \"key_file\": \"" +
          (on_probe / "probe.key").string() + "\" to gateway.tls in probe.json\n";
    }
  }
  probe["gateway"]["tls"] = tls;
  return std::nullopt;
}

// The probe's files, written before gateway.json so that a failure leaves the gateway as it was.
Outcome write_probe_files(const ProvisionOptions& o, Provisioning& p, std::ostream& err) {
  const fs::path out_dir(o.out_dir);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  ordered_json probe = {{"probe_id", o.probe_id},
                        {"token", p.token},
                        {"source", {{"interface", o.interface}, {"monitor", true}}},
                        {"gateway", {{"host", p.host}, {"port", p.port}}},
                        {"spool", {{"dir", o.spool_dir}}}};
  if (p.gateway.tls.enabled()) {
    if (const Outcome stop = write_tls_files(o, p, probe, err)) return stop;
  }
  const fs::path probe_json = out_dir / "probe.json";
  if (const auto e = write_atomically(probe_json, probe.dump(2) + "\n", 0600)) {
    err << "footfall-gateway: " << *e << "\n";
    return kExitRefused;
  }
  p.written.insert(p.written.begin(), probe_json.string());
  return std::nullopt;
}

Outcome write_gateway_config(const ProvisionOptions& o, const Provisioning& p, std::ostream& err) {
  if (const auto e = write_atomically(o.config_path, p.new_config_text, 0600)) {
    err << "footfall-gateway: " << *e << " (nothing changed there; the files in " << o.out_dir
        << " carry a token the gateway does not know)\n";
    return kExitRefused;
  }
  return std::nullopt;
}

void report_written(const ProvisionOptions& o, const Provisioning& p, std::ostream& out) {
  out << (p.rotating ? "new token for probe '" : "added probe '") << o.probe_id << "' (zone " << p.zone << ") in "
      << o.config_path << "\n";
  out << "probe connects to " << p.host << ":" << p.port
      << (p.gateway.tls.enabled() ? " over TLS" : " over plain TCP") << "\n";
  out << "wrote";
  for (const auto& w : p.written) out << " " << w;
  out << "\n";
  if (p.gateway.tls.enabled() && o.ca_file.empty())
    out << "note: ca.pem is the gateway's own certificate (right when it is self-signed; pass --ca with the issuing "
           "CA otherwise)\n";
  if (!p.client_cert_note.empty()) out << p.client_cert_note;
}

// Tells a gateway running on this config to reload, and says what the operator does next.
int reload_running_gateway(const ProvisionOptions& o, const Provisioning& p, std::ostream& out, std::ostream& err) {
  const std::string what = p.rotating ? "the new token" : "the probe";
  const std::string selftest = "footfall-probe selftest --config " + (fs::path(o.probe_dir) / "probe.json").string();
  const std::string copy = "copy " + o.out_dir + "/* to " + o.probe_dir + "/ on the probe";
  const std::string& label = p.label;
  const fs::path& journal_dir = p.gateway.journal_dir;
  if (o.no_reload) {
    out << "next: " << copy << ", reload footfall-gateway (systemctl reload footfall-gateway) so it accepts " << what
        << ", then run " << selftest << "\n";
    return kExitOk;
  }
  const ReloadAnswer answer = ask_gateway_to_reload(journal_dir, kReloadAnswerLimit);
  switch (answer.status) {
    case ReloadAnswer::Status::not_running:
      out << "no footfall-gateway runs on " << journal_dir.string() << ": it loads " << what << " when it starts\n";
      break;
    case ReloadAnswer::Status::reloaded:
      out << "the running footfall-gateway (pid " << answer.pid << ") reloaded " << label << ": it accepts " << what
          << (p.rotating ? " only" : "") << " from now on\n";
      if (!answer.figures.needs_restart.empty()) {
        out << "note: changed in " << label << " but taken only at a restart:";
        for (const auto& k : answer.figures.needs_restart) out << " " << k;
        out << "\n";
      }
      break;
    case ReloadAnswer::Status::not_signalled:
      err << "footfall-gateway: cannot signal the running footfall-gateway (pid " << answer.pid << "): " << answer.detail
          << "; " << label << " is written: run systemctl reload footfall-gateway (as root)\n";
      return kExitRefused;
    case ReloadAnswer::Status::refused:
      err << "footfall-gateway: the running footfall-gateway (pid " << answer.pid << ") refused the reload and keeps its "
          << "config: " << answer.figures.last_error << "; fix it, then systemctl reload footfall-gateway\n";
      return kExitRefused;
    case ReloadAnswer::Status::no_answer:
      err << "footfall-gateway: the running footfall-gateway (pid " << answer.pid << ") did not confirm a reload within "
          << kReloadAnswerLimit.count() << " s (see its log); " << label
          << " is written: systemctl reload footfall-gateway\n";
      return kExitRefused;
  }
  out << "next: " << copy << ", then run " << selftest << "\n";
  return kExitOk;
}

}  // namespace

int run_provision(const ProvisionOptions& o, std::ostream& out, std::ostream& err) {
  Provisioning p;
  if (const Outcome stop = load_gateway_config(o, p, err)) return *stop;
  if (const Outcome stop = choose_address(o, p, err)) return *stop;
  if (const Outcome stop = edit_probe_entry(o, p, err)) return *stop;
  if (const Outcome stop = write_probe_files(o, p, err)) return *stop;
  if (const Outcome stop = write_gateway_config(o, p, err)) return *stop;
  report_written(o, p, out);
  return reload_running_gateway(o, p, out, err);
}

}  // namespace footfall::gateway
