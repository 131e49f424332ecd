#include "e2e/e2e_support.hpp"

#include <fstream>
#include <sstream>
#include <thread>

namespace uh::e2e {

std::filesystem::path ServerBinary() { return UH_SERVER_BINARY; }
std::filesystem::path AgentBinary() { return UH_AGENT_BINARY; }
std::filesystem::path PkgBinary() { return UH_PKG_BINARY; }
std::filesystem::path DeviceSimulator() { return UH_DEVICE_SIMULATOR; }

std::string ReadIfExists(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Tail(const std::filesystem::path& path, std::size_t lines) {
  const std::string text = ReadIfExists(path);
  std::size_t start = text.size();
  // A final newline does not start a line of its own.
  if (start > 0 && text[start - 1] == '\n') --start;
  for (std::size_t seen = 0; start > 0; --start) {
    if (text[start - 1] == '\n' && ++seen == lines) break;
  }
  return text.substr(start);
}

std::size_t CountLines(std::string_view text, std::string_view needle) {
  std::size_t count = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const auto line = text.substr(0, end);
    if (line.find(needle) != std::string_view::npos) ++count;
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return count;
}

std::uintmax_t SizeOf(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

}  // namespace uh::e2e
