// LoadServerConfig on updatehub-server's TOML file (written to a scratch file: the function
// reads a path), and ServerConfig::ListenAddress on the "listen" it holds. Errors are
// kInvalidArgument naming the file and a line ("PATH:LINE: ..."). An accepted config holds the
// limits (threads <= 256, waiting_poll_seconds <= 86400, max_package_bytes > 0) and UTF-8 text;
// written back as TOML with every key it reads, it loads to the same values. A listen address
// that splits gives a host and a port read from digits only, and "[HOST]:PORT" splits the same.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "fuzz_support.hpp"
#include "server/config.hpp"

namespace {

using uh::fuzz::TomlString;

using uh::server::ServerConfig;

std::string ToToml(const ServerConfig& config) {
  return "listen = " + TomlString(config.listen) +
         "\ndata_dir = " + TomlString(config.data_dir.string()) +
         "\ndatabase = " + TomlString(config.database) +
         "\nlog_level = " + TomlString(config.log_level) +
         "\nthreads = " + std::to_string(config.threads) +
         "\nmax_package_bytes = " + std::to_string(config.max_package_bytes) +
         "\nwaiting_poll_seconds = " + std::to_string(config.waiting_poll_seconds) +
         "\n[tls]\ncertificate = " + TomlString(config.tls_certificate.string()) +
         "\nprivate_key = " + TomlString(config.tls_private_key.string()) +
         "\nciphers = " + TomlString(config.tls_ciphers) +
         "\nciphersuites = " + TomlString(config.tls_ciphersuites) + "\n";
}

bool Same(const ServerConfig& a, const ServerConfig& b) {
  return a.listen == b.listen && a.data_dir == b.data_dir && a.database == b.database &&
         a.log_level == b.log_level && a.threads == b.threads &&
         a.max_package_bytes == b.max_package_bytes &&
         a.waiting_poll_seconds == b.waiting_poll_seconds &&
         a.tls_certificate == b.tls_certificate && a.tls_private_key == b.tls_private_key &&
         a.tls_ciphers == b.tls_ciphers && a.tls_ciphersuites == b.tls_ciphersuites;
}

void CheckError(const uh::Error& error, const std::string& path) {
  UH_FUZZ_CHECK(error.code() == uh::Errc::kInvalidArgument, "a bad config is not kInvalidArgument");
  const std::string& message = error.message();
  UH_FUZZ_CHECK(message.starts_with(path + ":"), "a config error does not name the file");
  const std::size_t line = path.size() + 1;
  std::size_t digits = line;
  while (digits < message.size() && message[digits] >= '0' && message[digits] <= '9') ++digits;
  UH_FUZZ_CHECK(digits > line && digits < message.size() && message[digits] == ':',
                "a config error does not name the line");
}

void CheckListen(const ServerConfig& config) {
  auto address = config.ListenAddress();
  const auto colon = config.listen.rfind(':');
  if (!address) {
    UH_FUZZ_CHECK(address.error().code() == uh::Errc::kInvalidArgument,
                  "a bad listen address is not kInvalidArgument");
    return;
  }
  UH_FUZZ_CHECK(colon != std::string::npos, "a listen address without ':' splits");
  const std::string port = config.listen.substr(colon + 1);
  UH_FUZZ_CHECK(!port.empty() && port.find_first_not_of("0123456789") == std::string::npos,
                "a port that is not digits");
  UH_FUZZ_CHECK(!address->first.empty(), "an empty host");
  ServerConfig again;
  again.listen = "[" + address->first + "]:" + std::to_string(address->second);
  auto reread = again.ListenAddress();
  UH_FUZZ_CHECK(reread.has_value() && *reread == *address, "[HOST]:PORT splits differently");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const uh::fuzz::ScratchDir scratch;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto path = scratch.Write("server.toml", text);
  auto loaded = uh::server::LoadServerConfig(path);
  if (!loaded) {
    CheckError(loaded.error(), path.string());
    return 0;
  }
  const ServerConfig& config = *loaded;
  UH_FUZZ_CHECK(config.threads <= 256, "more than 256 threads");
  UH_FUZZ_CHECK(config.waiting_poll_seconds <= 86400, "a waiting poll over a day");
  UH_FUZZ_CHECK(config.max_package_bytes > 0, "a package limit of 0");
  for (const std::string& value :
       {config.listen, config.data_dir.string(), config.database, config.log_level,
        config.tls_certificate.string(), config.tls_private_key.string(), config.tls_ciphers,
        config.tls_ciphersuites}) {
    UH_FUZZ_CHECK(uh::fuzz::IsValidUtf8(value), "a value that is not UTF-8");
  }
  CheckListen(config);

  const auto written = scratch.Write("written.toml", ToToml(config));
  auto reread = uh::server::LoadServerConfig(written);
  if (!reread) std::fprintf(stderr, "reload error: %s\n", reread.error().message().c_str());
  UH_FUZZ_CHECK(reread.has_value(), "the config written back does not load");
  UH_FUZZ_CHECK(Same(*reread, config), "the config written back has other values");
  return 0;
}
