#pragma once

// Builds what a vendor ships, with the real updatehub-pkg: a signing key, system images and a
// signed update package.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace uh::e2e {

struct SigningKey {
  std::filesystem::path pem;  // stays with the vendor
  std::filesystem::path pub;  // goes on the devices and to the server
};

// `updatehub-pkg keygen` into `dir` (2048 bits: the smallest allowed, the quickest to make).
[[nodiscard]] SigningKey MakeKey(const std::filesystem::path& dir);

// A root file system image as the demo builds them: `size` random bytes, then the line
// "uh-version VERSION", which is where a simulated device reads the version it boots.
void WriteSystemImage(const std::filesystem::path& path, const std::string& version,
                      std::size_t size, unsigned seed);

// A system release as the demo makes one: images `from` (on the devices) and `to`, the
// application files of `to`, and a signed package of `to` with two objects, a target for each
// A/B slot: the root file system (raw; slot A /dev/mmcblk0p2, slot B /dev/mmcblk0p3) and the
// application files (tarball into the root of /dev/mmcblk0p5 or /dev/mmcblk0p6).
struct ReleaseSpec {
  std::string product;
  std::string hardware = "board-a";
  std::string from = "1.0";
  std::string to = "2.0";
  std::size_t image_size = 1 << 20;
  bool gzip_rootfs = true;  // the rootfs object gzip-compressed (random data: as big)
};
struct Release {
  std::filesystem::path old_image;  // what the devices run: init --image
  std::filesystem::path new_image;  // what slot B must hold after the update
  std::filesystem::path app_dir;    // the tarball's files
  std::filesystem::path package;
  std::uintmax_t objects_size = 0;  // bytes a device downloads: every object of one set
};
[[nodiscard]] Release BuildRelease(const std::filesystem::path& dir, const ReleaseSpec& spec,
                                   const SigningKey& key);

// The arguments of `updatehub-device init` that make a device for such releases: its
// partitions and the vendor's key (the caller adds --server, --product, --serial, --image).
[[nodiscard]] std::vector<std::string> ReleaseDeviceArgs(const ReleaseSpec& spec,
                                                         const SigningKey& key);

}  // namespace uh::e2e
