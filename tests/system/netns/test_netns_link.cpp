// Faults on a real link: footfall-gateway in one network namespace, footfall-probe (replaying a footfall-sim
// capture) in another, joined by a veth pair. The link flaps, a partition longer than the probe's ack timeout
// heals, and, where the kernel has sch_netem, the stream runs through delay, loss, reordering and duplication.
// Each checks that the gateway's journal holds exactly the events `footfall-probe presence` computes, each once.
// Needs root (`ip netns add`); skips with a printed reason otherwise.
#include <doctest/doctest.h>
#include <unistd.h>

#include "tests/system/link/link_programs.h"
#include "tests/system/link/sim_capture.h"

using namespace footfall::link_testing;

namespace {

constexpr double kReplaySpeed = 200;  // the 20-minute capture in 6 s: room for faults mid-stream
constexpr std::uint16_t kGatewayPort = 7878;  // any: the gateway's namespace is new and empty
const std::string kProbeAddress = "10.218.18.1";
const std::string kGatewayAddress = "10.218.18.2";
const std::string kIp = "/usr/sbin/ip";

struct CommandResult {
  int status = -1;
  std::string err;
  std::string out;
};

// Runs a command to its end (bounded), returning its exit status, stderr and stdout.
CommandResult run_command(const std::vector<std::string>& args) {
  TempDir dir;
  Child child(args, dir.path() / "out", dir.path() / "err");
  if (!child.started()) return {-1, "cannot start " + args.front(), {}};
  const auto status = child.wait(20s);
  return {status.value_or(-1), read_text(dir.path() / "err"), read_text(dir.path() / "out")};
}

// A network namespace of this test, deleted (with its end of the veth) when it goes out of scope.
class NetNamespace {
 public:
  explicit NetNamespace(std::string name) : name_(std::move(name)) {
    const auto r = run_command({kIp, "netns", "add", name_});
    created_ = r.status == 0;
    error_ = r.err.substr(0, r.err.find('\n'));
  }
  ~NetNamespace() {
    if (created_) run_command({kIp, "netns", "del", name_});
  }
  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;

  [[nodiscard]] bool created() const { return created_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] Launcher launcher() const { return {kIp, "netns", "exec", name_}; }
  CommandResult exec(std::vector<std::string> args) const { return run_command(launched(launcher(), std::move(args))); }

 private:
  std::string name_;
  bool created_ = false;
  std::string error_;
};

// Two namespaces, "probe" and "gateway", and a veth pair between them with a /30 of a private range.
class VethSite {
 public:
  VethSite()
      : probe_ns_("ff-probe-" + std::to_string(::getpid())),
        gateway_ns_("ff-gw-" + std::to_string(::getpid())),
        probe_if_("ffp" + std::to_string(::getpid())),
        gateway_if_("ffg" + std::to_string(::getpid())) {
    if (!probe_ns_.created() || !gateway_ns_.created()) {
      refusal_ = "ip netns add: " + (probe_ns_.created() ? gateway_ns_.error() : probe_ns_.error());
      return;
    }
    REQUIRE(run_command({kIp, "link", "add", probe_if_, "netns", probe_ns_.name(), "type", "veth", "peer", "name",
                         gateway_if_, "netns", gateway_ns_.name()})
                .status == 0);
    for (const auto& [ns, dev, address] : {std::tuple{&probe_ns_, probe_if_, kProbeAddress},
                                           std::tuple{&gateway_ns_, gateway_if_, kGatewayAddress}}) {
      REQUIRE(ns->exec({kIp, "addr", "add", address + "/30", "dev", dev}).status == 0);
      REQUIRE(ns->exec({kIp, "link", "set", "dev", dev, "up"}).status == 0);
      REQUIRE(ns->exec({kIp, "link", "set", "dev", "lo", "up"}).status == 0);
    }
  }

  // Empty when the namespaces exist; else why they could not be made.
  [[nodiscard]] const std::string& refusal() const { return refusal_; }
  [[nodiscard]] const NetNamespace& probe_ns() const { return probe_ns_; }
  [[nodiscard]] const NetNamespace& gateway_ns() const { return gateway_ns_; }

  // Down on the gateway's end takes the carrier of both ends (checked on the probe's end).
  void set_link(bool up) const {
    REQUIRE(gateway_ns_.exec({kIp, "link", "set", "dev", gateway_if_, up ? "up" : "down"}).status == 0);
    const auto shown = probe_ns_.exec({kIp, "-o", "link", "show", "dev", probe_if_});
    REQUIRE(shown.status == 0);
    CHECK_MESSAGE((shown.out.find("NO-CARRIER") == std::string::npos) == up, shown.out);
  }
  // netem on both ends (data one way, acks the other); tc's message when the kernel refuses.
  CommandResult add_netem(const std::vector<std::string>& params) const {
    for (const auto& [ns, dev] : {std::pair{&probe_ns_, probe_if_}, std::pair{&gateway_ns_, gateway_if_}}) {
      std::vector<std::string> args{"/usr/sbin/tc", "qdisc", "add", "dev", dev, "root", "netem"};
      args.insert(args.end(), params.begin(), params.end());
      auto r = ns->exec(args);
      if (r.status != 0) return r;
    }
    return {0, {}, {}};
  }

 private:
  NetNamespace probe_ns_;
  NetNamespace gateway_ns_;
  std::string probe_if_;
  std::string gateway_if_;
  std::string refusal_;
};

// The real programs across the veth: a gateway in its namespace, a probe in the other replaying the mall.
struct Stream {
  explicit Stream(const VethSite& site)
      : gateway(dir.path() / "gateway", kGatewayPort, kGatewayAddress, site.gateway_ns().launcher()),
        probe(dir.path() / "probe", config(dir.path()), site.probe_ns().launcher()) {}

  static nlohmann::json config(const fs::path& dir) {
    auto doc = probe_config(SimCapture::mall().pcap(), dir / "spool", kGatewayPort);
    doc["gateway"]["host"] = kGatewayAddress;
    doc["source"]["speed"] = kReplaySpeed;
    return doc;
  }
  // Waits until the probe has spooled `share` of the capture (it must still be running then).
  void until_spooled(double share) {
    const auto packets = static_cast<std::uint64_t>(static_cast<double>(SimCapture::mall().packets()) * share);
    REQUIRE(eventually([&] { return probe.checkpoint() >= packets || !probe.running(); }, 30s));
    REQUIRE_MESSAGE(probe.running(), probe.log());
  }
  // The probe drains and exits; the gateway stops; its journal holds the reference, each event once.
  void finish_and_check() {
    REQUIRE_MESSAGE(probe.wait(60s) == 0, probe.log());
    REQUIRE(gateway.stop() == 0);
    const JournalContents held = gateway.journal();
    check_held_is_reference(held);
    CHECK(probe.summary("full_drop_batches") == 0);
    const auto spooled = probe.summary("batches_spooled");
    REQUIRE(spooled);
    check_batches_once_and_contiguous(held, *spooled);
    MESSAGE(held.events.size() << " events in " << held.records_by_seq.size() << " batches held; probe connects="
                               << probe.summary("connects").value_or(0));
  }

  TempDir dir;
  GatewayProgram gateway;
  ProbeProgram probe;
};

// False (with the reason printed) where namespaces cannot be made.
bool permitted(const VethSite& site) {
  if (site.refusal().empty()) return true;
  MESSAGE("network namespaces not permitted here (needs root): " << site.refusal() << "; test skipped");
  return false;
}

}  // namespace

TEST_CASE("netns: the veth link flaps mid-stream: the probe's events arrive whole and once") {
  VethSite site;
  if (!permitted(site)) return;
  Stream stream(site);
  stream.gateway.start();
  stream.probe.start();
  for (const double share : {0.15, 0.3, 0.45, 0.6}) {
    stream.until_spooled(share);
    site.set_link(false);
    std::this_thread::sleep_for(300ms);  // the fault itself: how long the link stays down
    site.set_link(true);
  }
  stream.finish_and_check();
}

TEST_CASE("netns: a partition longer than the probe's ack timeout heals: events arrive whole and once") {
  VethSite site;
  if (!permitted(site)) return;
  Stream stream(site);
  const auto ack_timeout = std::chrono::milliseconds(stream.probe.config()["uplink"]["ack_timeout_ms"].get<int>());
  stream.gateway.start();
  stream.probe.start();
  stream.until_spooled(0.25);
  site.set_link(false);
  std::this_thread::sleep_for(ack_timeout + 1s);  // the fault itself: the probe gives up on its session meanwhile
  site.set_link(true);
  stream.finish_and_check();
  CHECK(stream.probe.summary("connects") >= 2);  // the partition did end the session; a new one carried the rest
}

TEST_CASE("netns: netem delay, loss, reordering and duplication: events arrive whole and once") {
  VethSite site;
  if (!permitted(site)) return;
  const auto netem = site.add_netem({"delay", "20ms", "10ms", "loss", "2%", "reorder", "5%", "duplicate", "1%"});
  if (netem.status != 0) {
    std::string reason = netem.err;
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    MESSAGE("netem not available in this kernel: " << reason << "; delay/loss/reorder/duplication cases skipped");
    return;
  }
  Stream stream(site);
  stream.gateway.start();
  stream.probe.start();
  stream.finish_and_check();
}
