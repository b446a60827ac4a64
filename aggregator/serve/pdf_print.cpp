#include "aggregator/serve/pdf_print.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

namespace footfall::aggregator::serve {
namespace {

constexpr auto kTimeout = std::chrono::seconds(60);

// A scratch folder removed with everything in it when it goes out of scope.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "footfall-pdf-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace

bool chromium_available(const std::string& chromium) { return !chromium.empty() && access(chromium.c_str(), X_OK) == 0; }

PdfResult print_to_pdf(const std::string& chromium, const std::string& html) {
  ScratchDir dir;
  if (dir.path().empty()) return {"", "cannot make a scratch folder"};
  const auto page = dir.path() / "report.html";
  const auto pdf = dir.path() / "report.pdf";
  std::ofstream(page, std::ios::binary) << html;
  std::vector<std::string> args = {chromium,
                                   "--headless",
                                   "--no-sandbox",  // the server may run as root in a container; the page is our own
                                   "--disable-gpu",
                                   "--no-first-run",
                                   "--user-data-dir=" + (dir.path() / "profile").string(),
                                   "--no-pdf-header-footer",
                                   "--print-to-pdf=" + pdf.string(),
                                   "file://" + page.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Prepared before fork: the child of a threaded program may only call async-signal-safe functions.
  std::string home = "HOME=" + dir.path().string();
  std::string path = "PATH=/usr/bin:/bin";
  char* envp[] = {home.data(), path.data(), nullptr};
  const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull < 0) return {"", "cannot open /dev/null"};
  const pid_t pid = fork();
  if (pid < 0) {
    close(devnull);
    return {"", "fork failed"};
  }
  if (pid == 0) {
    // Chromium's chatter would land in the server's log.
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
    execve(argv[0], argv.data(), envp);
    _exit(127);
  }
  close(devnull);
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return {"", "Chromium did not finish within 60 s"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a child, not waiting on a test
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return {"", "Chromium failed (exit " + std::to_string(WEXITSTATUS(status)) + ")"};
  std::ifstream in(pdf, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!bytes.starts_with("%PDF")) return {"", "Chromium wrote no PDF"};
  return {std::move(bytes), ""};
}

}  // namespace footfall::aggregator::serve
