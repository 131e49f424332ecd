// A main() for fuzz targets built without a fuzzing engine: runs LLVMFuzzerTestOneInput once on
// each file named on the command line, and on every regular file under each directory named.
// A file whose name ends in ".gz" is gunzipped first (large inputs are stored compressed, such as
// regressions/metadata-escape-growth.json.gz); one that is not gzip is an error, not replayed
// as it is, where the parser would refuse it at once and the test pass without testing. A crash
// or failed check aborts; an unreadable path, or no input at all, is an error too, so a
// regression test over a missing corpus cannot pass by doing nothing.

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool Collect(const std::filesystem::path& path, std::vector<std::filesystem::path>& out) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path, ec)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    if (ec) {
      std::fprintf(stderr, "replay: %s: %s\n", path.c_str(), ec.message().c_str());
      return false;
    }
    std::sort(files.begin(), files.end());
    out.insert(out.end(), files.begin(), files.end());
    return true;
  }
  if (std::filesystem::is_regular_file(path, ec)) {
    out.push_back(path);
    return true;
  }
  std::fprintf(stderr, "replay: %s: not a file or directory\n", path.c_str());
  return false;
}

// The content of a gzip file, decompressed; nullopt (with a message) when it is not one.
std::optional<std::vector<char>> Gunzip(const std::filesystem::path& path,
                                        const std::vector<char>& compressed) {
  const std::unique_ptr<archive, decltype(&archive_read_free)> reader(archive_read_new(),
                                                                      archive_read_free);
  archive* a = reader.get();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_raw(a);
  archive_entry* entry = nullptr;
  if (archive_read_open_memory(a, compressed.data(), compressed.size()) != ARCHIVE_OK ||
      archive_read_next_header(a, &entry) != ARCHIVE_OK) {
    std::fprintf(stderr, "replay: %s: %s\n", path.c_str(), archive_error_string(a));
    return std::nullopt;
  }
  // Without this check, raw format would hand over any bytes unchanged.
  if (archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP) {
    std::fprintf(stderr, "replay: %s: named .gz but not gzip\n", path.c_str());
    return std::nullopt;
  }
  std::vector<char> out;
  char buffer[64 * 1024];
  for (;;) {
    const la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      std::fprintf(stderr, "replay: %s: %s\n", path.c_str(), archive_error_string(a));
      return std::nullopt;
    }
    out.insert(out.end(), buffer, buffer + n);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (!Collect(argv[i], inputs)) return 1;
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR... (no inputs found)\n", argv[0]);
    return 1;
  }
  for (const auto& input : inputs) {
    std::ifstream file(input, std::ios::binary);
    std::vector<char> bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    if (!file.is_open() || file.bad()) {
      std::fprintf(stderr, "replay: cannot read %s\n", input.c_str());
      return 1;
    }
    if (input.extension() == ".gz") {
      auto content = Gunzip(input, bytes);
      if (!content) return 1;
      std::fprintf(stderr, "replay: %s (%zu bytes, %zu gunzipped)\n", input.c_str(), bytes.size(),
                   content->size());
      bytes = std::move(*content);
    } else {
      std::fprintf(stderr, "replay: %s (%zu bytes)\n", input.c_str(), bytes.size());
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::fprintf(stderr, "replay: %zu inputs ran\n", inputs.size());
  return 0;
}
