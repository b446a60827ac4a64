// The operator report as a person sees it: Debian's headless Chromium loads index.html from disk,
// takes a screenshot (decoded here: it must show a page, not a blank) and dumps the DOM after the page's
// layout check ran (every chart holds its marks), with no console message. A scratch page with a
// deliberate error proves the console check catches errors; a blank image proves the picture check can fail.
#include <doctest/doctest.h>
#if FOOTFALL_TEST_HAVE_ZLIB
#include <zlib.h>
#endif

#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aggregator/report/report_writer.h"
#include "tests/aggregator/report/test_report_fixture.h"

#include "tests/support/scratch.h"

namespace fs = std::filesystem;

namespace {

using footfall::testing::slurp;
using footfall::testing::TempDir;

constexpr const char* kChromium = "/usr/bin/chromium";
constexpr int kChromiumTimeoutS = 60;

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

#if FOOTFALL_TEST_HAVE_ZLIB
// --- PNG decoding, enough for Chromium's screenshots (8-bit RGB or RGBA, not interlaced) ---

struct Image {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::size_t channels = 0;
  std::vector<std::uint8_t> pixels;  // rows of width * channels bytes
};

std::uint32_t be32(const std::string& s, std::size_t at) {
  return (std::uint32_t{static_cast<std::uint8_t>(s[at])} << 24) |
         (std::uint32_t{static_cast<std::uint8_t>(s[at + 1])} << 16) |
         (std::uint32_t{static_cast<std::uint8_t>(s[at + 2])} << 8) | std::uint32_t{static_cast<std::uint8_t>(s[at + 3])};
}

std::optional<Image> decode_png(const std::string& file) {
  static const std::string kSignature = "\x89PNG\r\n\x1a\n";
  if (file.size() < 33 || file.compare(0, 8, kSignature) != 0) return std::nullopt;
  Image image;
  std::string idat;
  for (std::size_t at = 8; at + 12 <= file.size();) {
    const std::uint32_t length = be32(file, at);
    const std::string type = file.substr(at + 4, 4);
    if (at + 12 + length > file.size()) return std::nullopt;
    if (type == "IHDR") {
      image.width = be32(file, at + 8);
      image.height = be32(file, at + 12);
      const auto depth = static_cast<std::uint8_t>(file[at + 16]);
      const auto colour = static_cast<std::uint8_t>(file[at + 17]);
      const auto interlace = static_cast<std::uint8_t>(file[at + 20]);
      if (depth != 8 || interlace != 0 || (colour != 2 && colour != 6)) return std::nullopt;
      image.channels = colour == 6 ? 4 : 3;
    } else if (type == "IDAT") {
      idat.append(file, at + 8, length);
    } else if (type == "IEND") {
      break;
    }
    at += 12 + length;
  }
  if (image.channels == 0 || image.width == 0 || image.height == 0) return std::nullopt;
  const std::size_t stride = image.width * image.channels;
  std::vector<std::uint8_t> raw((stride + 1) * image.height);
  uLongf raw_size = static_cast<uLongf>(raw.size());
  if (uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), static_cast<uLong>(idat.size())) !=
          Z_OK ||
      raw_size != raw.size()) {
    return std::nullopt;
  }
  image.pixels.resize(stride * image.height);
  const std::size_t bpp = image.channels;
  for (std::size_t y = 0; y < image.height; ++y) {
    const std::uint8_t filter = raw[y * (stride + 1)];
    const std::uint8_t* in = &raw[y * (stride + 1) + 1];
    std::uint8_t* out = &image.pixels[y * stride];
    const std::uint8_t* up = y > 0 ? &image.pixels[(y - 1) * stride] : nullptr;
    for (std::size_t x = 0; x < stride; ++x) {
      const int a = x >= bpp ? out[x - bpp] : 0;
      const int b = up != nullptr ? up[x] : 0;
      const int c = (up != nullptr && x >= bpp) ? up[x - bpp] : 0;
      int predictor = 0;
      switch (filter) {
        case 0: predictor = 0; break;
        case 1: predictor = a; break;
        case 2: predictor = b; break;
        case 3: predictor = (a + b) / 2; break;
        case 4: {
          const int p = a + b - c;
          const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default: return std::nullopt;
      }
      out[x] = static_cast<std::uint8_t>(in[x] + predictor);
    }
  }
  return image;
}

// What a picture holds: how many colours (to 4 bits a channel) and the share of pixels unlike the commonest.
struct PictureContent {
  std::size_t colours = 0;
  double foreground_share = 0.0;
};

PictureContent picture_content(const Image& image) {
  std::map<std::uint32_t, std::size_t> histogram;
  const std::size_t count = std::size_t{image.width} * image.height;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t* p = &image.pixels[i * image.channels];
    ++histogram[(std::uint32_t{p[0]} >> 4) << 8 | (std::uint32_t{p[1]} >> 4) << 4 | (std::uint32_t{p[2]} >> 4)];
  }
  std::size_t commonest = 0;
  for (const auto& [colour, n] : histogram) commonest = std::max(commonest, n);
  return {histogram.size(), 1.0 - static_cast<double>(commonest) / static_cast<double>(count)};
}

bool looks_like_a_page(const PictureContent& c) { return c.colours >= 40 && c.foreground_share >= 0.05; }

// A uniform RGB image as a PNG file, to prove the picture check fails on a blank.
std::string blank_png(std::uint32_t width, std::uint32_t height) {
  std::string raw;
  for (std::uint32_t y = 0; y < height; ++y) raw += '\0' + std::string(width * 3, '\xff');
  std::vector<Bytef> packed(compressBound(static_cast<uLong>(raw.size())));
  uLongf packed_size = static_cast<uLongf>(packed.size());
  compress(packed.data(), &packed_size, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()));
  const auto chunk = [](const std::string& type, const std::string& data) {
    std::string out;
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((data.size() >> s) & 0xff);
    out += type + data;
    const auto crc = crc32(crc32(0, reinterpret_cast<const Bytef*>(type.data()), 4),
                           reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((crc >> s) & 0xff);
    return out;
  };
  std::string ihdr;
  for (std::uint32_t v : {width, height}) {
    for (int s = 24; s >= 0; s -= 8) ihdr += static_cast<char>((v >> s) & 0xff);
  }
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);
  return "\x89PNG\r\n\x1a\n" + chunk("IHDR", ihdr) +
         chunk("IDAT", std::string(reinterpret_cast<const char*>(packed.data()), packed_size)) + chunk("IEND", "");
}

#endif

// The width and height from a PNG's IHDR, without decoding it.
std::optional<std::pair<std::uint32_t, std::uint32_t>> png_size(const std::string& file) {
  if (file.size() < 24 || file.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0 || file.compare(12, 4, "IHDR") != 0) {
    return std::nullopt;
  }
  const auto be32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<std::uint8_t>(file[at + i]);
    return v;
  };
  return std::pair{be32(16), be32(20)};
}

// --- Chromium ---

struct BrowserRun {
  int status = -1;  // exit status; 124 when the timeout ended it
  std::string out;
  std::string err;
};

// Runs headless Chromium with the flags that keep it off the network, bounded by kChromiumTimeoutS.
BrowserRun run_chromium(const fs::path& scratch, const std::string& args) {
  static int run = 0;
  const fs::path out = scratch / ("chromium-" + std::to_string(run) + ".out");
  const fs::path err = scratch / ("chromium-" + std::to_string(run) + ".err");
  ++run;
  const std::string command =
      "timeout -k 5 " + std::to_string(kChromiumTimeoutS) + " " + kChromium +
      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
      " --disable-component-update --disable-sync --user-data-dir='" + (scratch / "profile").string() + "' " + args +
      " >'" + out.string() + "' 2>'" + err.string() + "' </dev/null";
  const int raw = std::system(command.c_str());
  BrowserRun r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// Console messages Chromium logged (with --enable-logging=stderr): lines like [..:INFO:CONSOLE:1] "...".
std::vector<std::string> console_lines(const std::string& log) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find(":CONSOLE") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

std::string attribute(const std::string& tag, const std::string& name) {
  const std::regex re(name + "=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(tag, m, re) ? m[1].str() : "";
}

}  // namespace

#if FOOTFALL_TEST_HAVE_ZLIB
TEST_CASE("the picture check tells a page from a blank") {
  const auto blank = decode_png(blank_png(64, 48));
  REQUIRE(blank);
  CHECK(blank->width == 64);
  CHECK(!looks_like_a_page(picture_content(*blank)));
}
#endif

TEST_CASE("the report in headless Chromium: a screenshot that shows the page, charts drawn, no console message") {
  if (!fs::exists(kChromium)) {
    MESSAGE("skipped: " << kChromium << " is absent (Debian package chromium; tools/test installs it)");
    return;
  }
  const TempDir scratch{"report-browser"};
  const fs::path report = scratch.path() / "report";
  footfall::aggregator::write_report(footfall::test::mall_week_document(), report);
  const std::string url = "file://" + (report / "index.html").string();

  // (a) The screenshot: a 1280 x 2400 PNG showing many colours over a good share of its area.
  const fs::path shot = scratch.path() / "report.png";
  const auto screenshot = run_chromium(scratch.path(), "--screenshot='" + shot.string() + "' --window-size=1280,2400 '" + url + "'");
  REQUIRE_MESSAGE(screenshot.status != 124, "chromium did not finish within " << kChromiumTimeoutS << " s");
  CHECK_MESSAGE(screenshot.status == 0, "chromium stderr: " << screenshot.err.substr(0, 2000));
  REQUIRE(fs::exists(shot));
  const std::string png = slurp(shot);
  CHECK(png_size(png) == std::pair<std::uint32_t, std::uint32_t>{1280, 2400});
#if FOOTFALL_TEST_HAVE_ZLIB
  const auto image = decode_png(png);
  REQUIRE(image);
  const PictureContent content = picture_content(*image);
  MESSAGE("screenshot: " << png.size() << " bytes, " << content.colours << " colours, "
                         << static_cast<int>(content.foreground_share * 100) << " % not background");
  CHECK(looks_like_a_page(content));
#else
  // A blank 1280 x 2400 page compresses to about 12 KB; this page's charts and text take far more.
  MESSAGE("zlib1g-dev absent: the screenshot is checked by its size only (" << png.size() << " bytes)");
  CHECK(png.size() > 100'000);
#endif
  if (const char* keep = std::getenv("FOOTFALL_REPORT_SCREENSHOT")) fs::copy_file(shot, keep, fs::copy_options::overwrite_existing);

  // (b) The DOM after the page's layout check, for a site whose name is an attempt at script injection.
  const fs::path hostile = scratch.path() / "hostile";
  footfall::aggregator::write_report(footfall::test::mall_week_document("<script>alert(1)</script>"), hostile);
  const auto dump = run_chromium(scratch.path(), "--enable-logging=stderr --v=0 --dump-dom 'file://" +
                                                     (hostile / "index.html").string() + "'");
  REQUIRE_MESSAGE(dump.status == 0, "chromium stderr: " << dump.err.substr(0, 2000));
  const std::string& dom = dump.out;
  std::smatch body;
  REQUIRE(std::regex_search(dom, body, std::regex("<body[^>]*>")));
  const std::string charts = attribute(body.str(), "data-charts");
  CHECK(charts == "7");
  CHECK(attribute(body.str(), "data-rendered") == charts);
  std::size_t svgs = 0;
  const std::regex svg_tag("<svg [^>]*class=\"chart\"[^>]*>");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), svg_tag); it != std::sregex_iterator(); ++it) {
    const std::string tag = it->str();
    INFO(tag);
    ++svgs;
    CHECK(std::stoi(attribute(tag, "data-marks")) > 0);
    CHECK(std::stoi(attribute(tag, "data-drawn")) > 0);
    // No label runs past the edge of its chart (measured by the browser, with its fonts).
    CHECK_MESSAGE(attribute(tag, "data-cut") == "0", "cut labels: " << attribute(tag, "data-cut-labels"));
  }
  CHECK(std::to_string(svgs) == charts);
  CHECK(dom.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  std::size_t scripts = 0;
  for (auto pos = dom.find("<script"); pos != std::string::npos; pos = dom.find("<script", pos + 1)) ++scripts;
  CHECK(scripts == 1);
  const auto console = console_lines(dump.err);
  for (const auto& line : console) MESSAGE("console: " << line);
  CHECK(console.empty());

  // Labels at the edges: one day whose busiest moment is its last point, and counts in the millions.
  nlohmann::json edge = footfall::test::mall_week_document();
  nlohmann::json last_day = nlohmann::json::array({edge["days"][6]});
  nlohmann::json day_hours = nlohmann::json::array();
  nlohmann::json day_occupancy = nlohmann::json::array();
  for (std::size_t i = 144; i < 168; ++i) day_hours.push_back(edge["hours"][i]);
  for (std::size_t i = 288; i < 336; ++i) {
    auto point = edge["occupancy"][i];
    point["devices"] = static_cast<int>(i) * 25'000;  // rising to the last point
    day_occupancy.push_back(point);
  }
  for (auto& h : day_hours) h["passers_by"] = h["passers_by"].get<int>() * 1000;
  edge["days"] = last_day;
  edge["hours"] = day_hours;
  edge["occupancy"] = day_occupancy;
  edge["from"] = "2026-11-29";
  edge["last_day"] = "2026-11-29";
  const fs::path edge_dir = scratch.path() / "edge";
  footfall::aggregator::write_report(edge, edge_dir);
  const auto edge_dump = run_chromium(scratch.path(), "--dump-dom 'file://" + (edge_dir / "index.html").string() + "'");
  REQUIRE(edge_dump.status == 0);
  std::size_t edge_svgs = 0;
  for (auto it = std::sregex_iterator(edge_dump.out.begin(), edge_dump.out.end(), svg_tag); it != std::sregex_iterator();
       ++it) {
    ++edge_svgs;
    INFO(attribute(it->str(), "data-chart"));
    CHECK_MESSAGE(attribute(it->str(), "data-cut") == "0", "cut labels: " << attribute(it->str(), "data-cut-labels"));
  }
  CHECK(edge_svgs >= 5);

  // The console check catches a page with errors.
  const fs::path broken = scratch.path() / "broken.html";
  spit(broken, "<!DOCTYPE html><html><body><p>scratch</p><script>console.error('deliberate');"
               "no_such_function();</script></body></html>");
  const auto broken_run = run_chromium(scratch.path(), "--enable-logging=stderr --v=0 --dump-dom 'file://" + broken.string() + "'");
  CHECK(broken_run.status == 0);
  const auto broken_console = console_lines(broken_run.err);
  CHECK(broken_console.size() >= 2);
  bool uncaught = false;
  for (const auto& line : broken_console) uncaught = uncaught || line.find("Uncaught ReferenceError") != std::string::npos;
  CHECK(uncaught);
}
