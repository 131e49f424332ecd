#include "e2e/package_builder.hpp"

#include <stdexcept>

#include "e2e/e2e_support.hpp"
#include "support/test_support.hpp"

namespace uh::e2e {
namespace {

void RunOrThrow(const std::vector<std::string>& argv) {
  const auto result = uh::testing::Run(argv);
  if (result.status != 0) {
    std::string command;
    for (const auto& arg : argv) command += arg + " ";
    throw std::runtime_error(command + "failed (" + std::to_string(result.status) +
                             "): " + result.err + result.out);
  }
}

}  // namespace

SigningKey MakeKey(const std::filesystem::path& dir) {
  RunOrThrow({PkgBinary().string(), "keygen", "--out", dir.string(), "--bits", "2048"});
  return {dir / "key.pem", dir / "key.pub"};
}

void WriteSystemImage(const std::filesystem::path& path, const std::string& version,
                      std::size_t size, unsigned seed) {
  uh::testing::WriteFile(path,
                         uh::testing::RandomBytes(size, seed) + "\nuh-version " + version + "\n");
}

Release BuildRelease(const std::filesystem::path& dir, const ReleaseSpec& spec,
                     const SigningKey& key) {
  Release release;
  std::filesystem::create_directories(dir / "app");
  release.old_image = dir / ("rootfs-" + spec.from + ".img");
  release.new_image = dir / ("rootfs-" + spec.to + ".img");
  release.app_dir = dir / "app";
  WriteSystemImage(release.old_image, spec.from, spec.image_size, 1);
  WriteSystemImage(release.new_image, spec.to, spec.image_size, 2);
  std::filesystem::path rootfs = release.new_image;
  if (spec.gzip_rootfs) {
    RunOrThrow({"gzip", "-k", "-f", "-1", rootfs.string()});
    rootfs += ".gz";
  }
  uh::testing::WriteFile(release.app_dir / "motd", "hello from version " + spec.to + "\n");
  std::filesystem::create_directories(release.app_dir / "etc");
  uh::testing::WriteFile(release.app_dir / "etc" / "app.conf", "version = " + spec.to + "\n");
  const auto app = dir / ("app-" + spec.to + ".tar.gz");
  RunOrThrow({"tar", "-C", release.app_dir.string(), "-czf", app.string(), "."});
  release.objects_size = SizeOf(rootfs) + SizeOf(app);

  release.package = dir / ("update-" + spec.to + ".uhupkg");
  RunOrThrow(
      {PkgBinary().string(), "create", "--product", spec.product, "--version", spec.to,
       "--hardware", spec.hardware, "--object",
       rootfs.string() + ",mode=raw,target=/dev/mmcblk0p2,b.target=/dev/mmcblk0p3", "--object",
       app.string() + ",mode=tarball,filesystem=ext4,target=/dev/mmcblk0p5,b.target=/dev/mmcblk0p6,"
                      "target-path=/",
       "--key", key.pem.string(), "-o", release.package.string()});
  return release;
}

std::vector<std::string> ReleaseDeviceArgs(const ReleaseSpec& spec, const SigningKey& key) {
  return {"--product",      spec.product, "--hardware",     spec.hardware, "--dir",
          "/dev/mmcblk0p5", "--dir",      "/dev/mmcblk0p6", "--key",       key.pub.string()};
}

}  // namespace uh::e2e
