#pragma once
// Self-signed certificates made in the test (OpenSSL API, P-256), written as PEM files: nothing checked in.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace footfall::testing {

struct PemFiles {
  std::filesystem::path cert;
  std::filesystem::path key;
};

// A self-signed certificate for `dns_name` (and IP 127.0.0.1), usable as its own CA.
inline PemFiles make_self_signed(const std::filesystem::path& dir, const std::string& stem, const std::string& dns_name) {
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

  const std::unique_ptr<EVP_PKEY, KeyFree> key(EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  const std::unique_ptr<X509, CertFree> cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::string san = "DNS:" + dns_name + ",IP:127.0.0.1";
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, san}, std::pair{NID_basic_constraints,
                                                                                   std::string("critical,CA:TRUE")}}) {
    const std::unique_ptr<X509_EXTENSION, ExtFree> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) throw std::runtime_error("cannot add extension");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");

  PemFiles files{dir / (stem + ".crt"), dir / (stem + ".key")};
  {
    const std::unique_ptr<std::FILE, FileClose> f(std::fopen(files.cert.c_str(), "w"));
    if (!f || PEM_write_X509(f.get(), cert.get()) != 1) throw std::runtime_error("cannot write certificate");
  }
  {
    const std::unique_ptr<std::FILE, FileClose> f(std::fopen(files.key.c_str(), "w"));
    if (!f || PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
      throw std::runtime_error("cannot write key");
  }
  return files;
}

}  // namespace footfall::testing
