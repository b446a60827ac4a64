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

#include "common/file_text.h"
#include "common/unique_fd.h"
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

// Replaces `target` with `bytes` so that a crash leaves either the old file or the new one, never a mix:
// a temporary file beside it, synced, renamed over it, and the folder synced. `mode` for a new file;
// an existing file keeps its mode and owner.
std::optional<std::string> write_atomically(const fs::path& target, const std::string& bytes, mode_t mode) {
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string temp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  UniqueFd fd(::mkstemp(temp.data()));
  if (fd.get() < 0) return "cannot create a file in " + dir.string() + ": " + std::strerror(errno);
  struct stat old {};
  const bool existed = ::stat(target.c_str(), &old) == 0;
  bool ok = ::fchmod(fd.get(), existed ? (old.st_mode & 07777) : mode) == 0;
  if (existed && ::geteuid() == 0) ok = ok && ::fchown(fd.get(), old.st_uid, old.st_gid) == 0;
  std::size_t done = 0;
  while (ok && done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd.get()) == 0;
  const int saved = errno;
  ok = ::close(fd.release()) == 0 && ok;
  if (!ok || ::rename(temp.c_str(), target.c_str()) != 0) {
    const std::string why = std::strerror(ok ? errno : saved);
    ::unlink(temp.c_str());
    return "cannot write " + target.string() + ": " + why;
  }
  const UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) (void)::fsync(dir_fd.get());  // the rename itself survives a power loss
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

int run_provision(const ProvisionOptions& o, std::ostream& out, std::ostream& err) {
  const fs::path config_path(o.config_path);
  const std::string label = config_path.filename().string();
  const FileText text = read_file(config_path);
  if (!text.ok()) {
    err << "footfall-gateway: cannot read " << o.config_path << ": " << std::strerror(text.error) << "\n";
    return kExitUsage;
  }
  auto checked = parse_config(text.text, label);
  if (const auto* e = std::get_if<std::string>(&checked)) {
    err << "footfall-gateway: " << *e << " (fix it before provisioning)\n";
    return kExitUsage;
  }
  const GatewayConfig& gw = std::get<GatewayConfig>(checked);
  if (o.probe_id.empty() || o.probe_id.size() > 64) {
    err << "footfall-gateway: --probe: expected an id of 1..64 bytes\n";
    return kExitUsage;
  }
  const std::string host = o.gateway_host.empty() ? (is_wildcard(gw.listen_address) ? "" : gw.listen_address) : o.gateway_host;
  if (host.empty()) {
    err << "footfall-gateway: listen.address is " << (gw.listen_address.empty() ? "empty" : gw.listen_address)
        << ": give --gateway-host, the name or address probes reach the gateway at\n";
    return kExitUsage;
  }
  const int port = o.gateway_port != 0 ? o.gateway_port : gw.listen_port;
  if (port == 0) {
    err << "footfall-gateway: listen.port is 0 (any free port): give --gateway-port\n";
    return kExitUsage;
  }

  ordered_json doc = ordered_json::parse(text.text);  // valid: parse_config accepted it
  if (!doc.contains("probes")) doc["probes"] = ordered_json::array();
  ordered_json& probes = doc["probes"];
  ordered_json* existing = nullptr;
  for (auto& p : probes)
    if (p.value("id", std::string()) == o.probe_id) existing = &p;
  if (existing != nullptr && !o.rotate_token) {
    err << "footfall-gateway: probe '" << o.probe_id << "' exists in " << o.config_path
        << "; --rotate-token gives it a new token (the gateway refuses the old one once it has reloaded)\n";
    return kExitRefused;
  }
  if (existing == nullptr && o.rotate_token) {
    err << "footfall-gateway: --rotate-token: no probe '" << o.probe_id << "' in " << o.config_path << "\n";
    return kExitRefused;
  }

  const std::string token = make_token();
  if (token.empty()) {
    err << "footfall-gateway: OpenSSL's random generator failed; no token made\n";
    return kExitRefused;
  }
  std::string zone = o.zone;
  if (existing != nullptr) {
    (*existing)["token"] = token;
    if (!o.zone.empty()) (*existing)["zone"] = o.zone;
    zone = existing->value("zone", std::string());
  } else {
    if (zone.empty()) zone = o.probe_id;
    probes.push_back({{"id", o.probe_id}, {"token", token}, {"zone", zone}});
  }
  const std::string new_text = doc.dump(2) + "\n";
  if (const auto* e = std::get_if<std::string>(&(checked = parse_config(new_text, label)))) {
    err << "footfall-gateway: the edited " << label << " would not load: " << *e << "\n";
    return kExitRefused;
  }

  // The probe's files, written before gateway.json so that a failure leaves the gateway as it was.
  const fs::path out_dir(o.out_dir);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  const fs::path on_probe(o.probe_dir);
  ordered_json probe = {{"probe_id", o.probe_id},
                        {"token", token},
                        {"source", {{"interface", o.interface}, {"monitor", true}}},
                        {"gateway", {{"host", host}, {"port", port}}},
                        {"spool", {{"dir", o.spool_dir}}}};
  std::vector<std::string> written;
  std::string client_cert_note;
  if (gw.tls.enabled()) {
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
    written.push_back((out_dir / "ca.pem").string());
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
          written.push_back((out_dir / name).string());
        }
        tls["cert_file"] = (on_probe / "probe.crt").string();
        tls["key_file"] = (on_probe / "probe.key").string();
      } else {
        client_cert_note =
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
  }
  const fs::path probe_json = out_dir / "probe.json";
  if (const auto e = write_atomically(probe_json, probe.dump(2) + "\n", 0600)) {
    err << "footfall-gateway: " << *e << "\n";
    return kExitRefused;
  }
  written.insert(written.begin(), probe_json.string());

  if (const auto e = write_atomically(config_path, new_text, 0600)) {
    err << "footfall-gateway: " << *e << " (nothing changed there; the files in " << o.out_dir
        << " carry a token the gateway does not know)\n";
    return kExitRefused;
  }

  out << (existing != nullptr ? "new token for probe '" : "added probe '") << o.probe_id << "' (zone " << zone
      << ") in " << o.config_path << "\n";
  out << "probe connects to " << host << ":" << port << (gw.tls.enabled() ? " over TLS" : " over plain TCP") << "\n";
  out << "wrote";
  for (const auto& w : written) out << " " << w;
  out << "\n";
  if (gw.tls.enabled() && o.ca_file.empty())
    out << "note: ca.pem is the gateway's own certificate (right when it is self-signed; pass --ca with the issuing "
           "CA otherwise)\n";
  if (!client_cert_note.empty()) out << client_cert_note;
  const std::string what = existing != nullptr ? "the new token" : "the probe";
  const std::string selftest = "footfall-probe selftest --config " + (on_probe / "probe.json").string();
  const std::string copy = "copy " + o.out_dir + "/* to " + o.probe_dir + "/ on the probe";
  if (o.no_reload) {
    out << "next: " << copy << ", reload footfall-gateway (systemctl reload footfall-gateway) so it accepts " << what
        << ", then run " << selftest << "\n";
    return kExitOk;
  }
  const ReloadAnswer answer = ask_gateway_to_reload(gw.journal_dir, kReloadAnswerLimit);
  switch (answer.status) {
    case ReloadAnswer::Status::not_running:
      out << "no footfall-gateway runs on " << gw.journal_dir.string() << ": it loads " << what << " when it starts\n";
      break;
    case ReloadAnswer::Status::reloaded:
      out << "the running footfall-gateway (pid " << answer.pid << ") reloaded " << label << ": it accepts " << what
          << (existing != nullptr ? " only" : "") << " from now on\n";
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

}  // namespace footfall::gateway
