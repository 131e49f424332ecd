#include "tools/admin/config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/fs.hpp"
#include "core/json.hpp"

namespace uh::admin {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxConfigBytes = 64 * 1024;

// Refuses a file or directory that another user owns or that group or others may write.
Expected<void> CheckPrivate(const fs::path& path, const struct stat& info) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
  if (info.st_uid != ::geteuid()) {
    return Fail(Errc::kForbidden, path.string() + " belongs to another user: not read");
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Fail(Errc::kForbidden, path.string() + " may be written by others (mode " + mode +
                                      "): not read; chmod go-w it, or log in again after "
                                      "removing it");
  }
  return {};
}

Expected<void> MakePrivateDir(const fs::path& dir) {
  std::error_code error;
  if (!fs::exists(dir, error)) {
    if (!dir.parent_path().empty() && dir.parent_path() != dir) {
      UH_TRY(MakePrivateDir(dir.parent_path()));
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return FailErrno("mkdir " + dir.string());
  }
  return {};
}

}  // namespace

Expected<fs::path> ConfigPath() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && xdg[0] == '/') return fs::path(xdg) / "updatehub-admin" / "config.json";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') {
    return fs::path(home) / ".config" / "updatehub-admin" / "config.json";
  }
  return Fail(Errc::kInvalidArgument,
              "neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep "
              "the login (give --server and --token instead)");
}

Expected<std::optional<StoredLogin>> LoadLogin(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<StoredLogin>();
    return FailErrno("open " + path.string());
  }
  File file(fd);
  struct stat info {};
  if (::fstat(fd, &info) != 0) return FailErrno("stat " + path.string());
  UH_TRY(CheckPrivate(path, info));
  if (!S_ISREG(info.st_mode)) return Fail(Errc::kForbidden, path.string() + " is not a file");
  if (static_cast<std::size_t>(info.st_size) > kMaxConfigBytes) {
    return Fail(Errc::kTooLarge, path.string() + " is too large to be a login");
  }
  std::string text(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    auto n = file.Read(std::as_writable_bytes(std::span(text.data() + got, text.size() - got)));
    if (!n) return std::unexpected(n.error().WithContext(path.string()));
    if (*n == 0) break;
    got += *n;
  }
  text.resize(got);
  auto parsed = ParseJson(text, {.max_depth = 4, .max_bytes = kMaxConfigBytes});
  if (!parsed || !parsed->is_object()) {
    return Fail(Errc::kMalformed, path.string() +
                                      " is not a login file (remove it and log in "
                                      "again)");
  }
  StoredLogin login;
  if (parsed->contains("server") && (*parsed)["server"].is_string()) {
    login.server = (*parsed)["server"].get<std::string>();
  }
  if (parsed->contains("token") && (*parsed)["token"].is_string()) {
    login.token = (*parsed)["token"].get<std::string>();
  }
  if (parsed->contains("cacert") && (*parsed)["cacert"].is_string()) {
    login.ca_file = (*parsed)["cacert"].get<std::string>();
  }
  return std::optional<StoredLogin>(std::move(login));
}

Expected<void> SaveLogin(const fs::path& path, const StoredLogin& login) {
  const fs::path dir = path.parent_path();
  UH_TRY_CTX(MakePrivateDir(dir), "creating the config directory");
  // An existing directory keeps only its owner's access, as a new one has.
  if (::chmod(dir.c_str(), 0700) != 0) return FailErrno("chmod " + dir.string());
  json content = {{"server", login.server}};
  if (!login.token.empty()) content["token"] = login.token;
  if (!login.ca_file.empty()) content["cacert"] = login.ca_file;
  UH_TRY_CTX(WriteFileAtomic(path, DumpJson(content, 2) + "\n", 0600), "saving the login");
  return {};
}

}  // namespace uh::admin
