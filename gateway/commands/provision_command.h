#pragma once
// `footfall-gateway provision --config gateway.json --probe ID --out DIR`: adds a probe to the gateway and
// writes the probe's probe.json with its token (and, when the site uses TLS, the CA to trust and, when the
// gateway asks for client certificates and the client CA's key is given, the probe's own key and certificate),
// ready to copy onto the probe.
//
// gateway.json is rewritten atomically (a temporary file beside it, synced, renamed over it, the folder synced),
// every other key kept in its order; a probe that exists already is refused unless --rotate-token.
// A gateway running on that config (its gateway.pid in the journal folder) is then told to reload (SIGHUP)
// and its answer, read from health.json, is printed: the new probe or token is accepted from then on.
#include <iosfwd>
#include <string>

namespace footfall::gateway {

struct ProvisionOptions {
  std::string config_path;     // gateway.json
  std::string probe_id;
  std::string zone;            // empty: the probe id; with --rotate-token: kept
  bool rotate_token = false;
  std::string out_dir;         // where probe.json (and PEM files) are written
  std::string gateway_host;    // what the probe connects to; empty: listen.address unless it is a wildcard
  int gateway_port = 0;        // 0: listen.port
  std::string interface = "wlan0mon";
  std::string probe_dir = "/etc/footfall";  // where the files will be on the probe (paths inside probe.json)
  std::string spool_dir = "/var/lib/footfall/spool";
  std::string ca_file;         // the CA of the gateway certificate; empty: the certificate itself (self-signed)
  std::string client_ca_key;   // key of listen.tls.client_ca_file: sign a client certificate for the probe
  bool no_reload = false;      // leave a running gateway alone (it takes the file at its next reload or start)
};

// Exit status: 0 done, 1 refused (probe exists, nothing to rotate), a file could not be written, or the running
// gateway did not take the new file (it refused the reload or did not answer), 2 usage error or a bad gateway.json.
int run_provision(const ProvisionOptions& options, std::ostream& out, std::ostream& err);

// 32 random bytes from OpenSSL's CSPRNG as 64 lowercase hex digits; empty when the generator fails.
std::string make_token();

}  // namespace footfall::gateway
