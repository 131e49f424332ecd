#include "agent/install/mtd.hpp"

#include <fcntl.h>
#include <mtd/mtd-user.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "agent/install/target.hpp"
#include "agent/install/tools.hpp"
#include "core/fs.hpp"

namespace uh::agent {
namespace {

constexpr std::size_t kMaxSystemFile = 1024 * 1024;

bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

bool AllHex(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
}

std::string Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  return std::string(text);
}

}  // namespace

std::optional<std::string> MtdDeviceFromProcMtd(std::string_view proc_mtd, std::string_view name) {
  // mtd3: 00800000 00020000 "rootfs"
  std::size_t pos = 0;
  while (pos < proc_mtd.size()) {
    const auto end = std::min(proc_mtd.find('\n', pos), proc_mtd.size());
    const std::string_view line = proc_mtd.substr(pos, end - pos);
    pos = end + 1;
    const auto colon = line.find(": ");
    if (colon == std::string_view::npos) continue;
    const auto dev = line.substr(0, colon);
    if (!dev.starts_with("mtd") || !AllDigits(dev.substr(3))) continue;
    std::string_view rest = line.substr(colon + 2);
    const auto size_end = rest.find(' ');
    if (size_end == std::string_view::npos || !AllHex(rest.substr(0, size_end))) continue;
    rest.remove_prefix(size_end + 1);
    const auto erase_end = rest.find(' ');
    if (erase_end == std::string_view::npos || !AllHex(rest.substr(0, erase_end))) continue;
    rest.remove_prefix(erase_end + 1);
    if (rest.size() < 2 || rest.front() != '"' || rest.back() != '"') continue;
    if (rest.substr(1, rest.size() - 2) == name) return "/dev/" + std::string(dev);
  }
  return std::nullopt;
}

Expected<std::string> MtdDeviceByName(std::string_view name, const InstallContext& ctx) {
  auto proc_mtd = RootedPath(ctx, "/proc/mtd");
  if (!proc_mtd) return std::unexpected(std::move(proc_mtd.error()));
  auto text = ReadFileLimited(*proc_mtd, kMaxSystemFile);
  if (!text) return std::unexpected(std::move(text.error()).WithContext("reading /proc/mtd"));
  auto device = MtdDeviceFromProcMtd(*text, name);
  if (!device) {
    return Fail(Errc::kNotFound, "no MTD partition named '" + std::string(name) + "' in /proc/mtd");
  }
  return *device;
}

Expected<bool> IsNandFlash(std::string_view device, const std::filesystem::path& rooted,
                           const InstallContext& ctx) {
  const auto name = std::filesystem::path(device).filename().string();
  auto type_path = RootedPath(ctx, "/sys/class/mtd/" + name + "/type");
  if (!type_path) return std::unexpected(std::move(type_path.error()));
  if (auto type = ReadFileLimited(*type_path, 4096)) {
    const auto kind = Trim(*type);
    return kind == "nand" || kind == "mlc-nand";
  }
  struct stat st {};
  if (::stat(rooted.c_str(), &st) == 0 && S_ISCHR(st.st_mode)) {
    const int fd = ::open(rooted.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return FailErrno("open " + rooted.string());
    mtd_info_user info{};
    const int rc = ::ioctl(fd, MEMGETINFO, &info);
    ::close(fd);
    if (rc == 0) return info.type == MTD_NANDFLASH || info.type == MTD_MLCNANDFLASH;
  }
  return Fail(Errc::kNotFound, "cannot tell whether " + std::string(device) +
                                   " is NAND or NOR flash (no /sys/class/mtd/" + name +
                                   "/type and no MTD ioctl)");
}

Expected<void> CheckFlashRoom(std::string_view device, std::uint64_t needed,
                              const InstallContext& ctx) {
  const auto name = std::filesystem::path(device).filename().string();
  const std::string attribute = name.starts_with("mtd") ? "/sys/class/mtd/" + name + "/size"
                                                        : "/sys/class/ubi/" + name + "/data_bytes";
  auto path = RootedPath(ctx, attribute);
  if (!path) return std::unexpected(std::move(path.error()));
  auto text = ReadFileLimited(*path, 4096);
  if (!text) return {};  // not knowable here
  const auto value = Trim(*text);
  std::uint64_t size = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), size);
  if (ec != std::errc() || end != value.data() + value.size()) return {};
  if (needed > size) {
    return Fail(Errc::kNoSpace, std::string(device) + " holds " + std::to_string(size) +
                                    " bytes, the object needs " + std::to_string(needed));
  }
  return {};
}

std::optional<unsigned> ParseUbinfoVolumeId(std::string_view output) {
  const auto line = output.substr(0, output.find('\n'));
  constexpr std::string_view kPrefix = "Volume ID:";
  if (!line.starts_with(kPrefix)) return std::nullopt;
  std::string_view rest = line.substr(kPrefix.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  unsigned id = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
  if (ec != std::errc()) return std::nullopt;
  rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
  if (!rest.starts_with(" (on ubi")) return std::nullopt;
  return id;
}

Expected<std::string> UbiVolumeDevice(std::string_view name, const InstallContext& ctx) {
  auto dev_dir = RootedPath(ctx, "/dev");
  if (!dev_dir) return std::unexpected(std::move(dev_dir.error()));
  std::vector<std::string> devices;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(*dev_dir, ec)) {
    const auto file = entry.path().filename().string();
    if (file.starts_with("ubi") && AllDigits(file.substr(3))) devices.push_back(file);
  }
  if (ec) return Fail(Errc::kIo, "listing " + dev_dir->string() + ": " + ec.message());
  std::sort(devices.begin(), devices.end());
  std::string last_error;
  for (const auto& device : devices) {
    auto result = RunTool({"ubinfo", (*dev_dir / device).string(), "-N", std::string(name)}, ctx);
    if (!result) {
      if (result.error().code() == Errc::kNotFound) return std::unexpected(result.error());
      last_error = result.error().message();
      continue;
    }
    if (auto id = ParseUbinfoVolumeId(result->out)) {
      return "/dev/" + device + "_" + std::to_string(*id);
    }
  }
  std::string message = "no UBI volume named '" + std::string(name) + "'";
  if (!last_error.empty()) message += " (" + last_error + ")";
  return Fail(Errc::kNotFound, std::move(message));
}

}  // namespace uh::agent
