// PackageReader on an untrusted .uhupkg (a download, a local install). The reader works on
// files, so each input is written to one scratch file that is reused for the whole run. Every
// reader entry point a device calls on a package is exercised; errors are fine, crashes and
// sanitizer reports are not.

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "core/error.hpp"
#include "fuzz_check.hpp"
#include "package/package_reader.hpp"
#include "package/signature.hpp"

namespace {

class ScratchFile {
 public:
  ScratchFile() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/uh-package-fuzz.XXXXXX";
    fd_ = ::mkstemp(pattern.data());
    UH_FUZZ_CHECK(fd_ >= 0, "cannot create the scratch file");
    path_ = pattern;
  }
  ~ScratchFile() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::filesystem::path& Write(const std::uint8_t* data, std::size_t size) {
    UH_FUZZ_CHECK(::ftruncate(fd_, 0) == 0, "cannot truncate the scratch file");
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      UH_FUZZ_CHECK(n > 0, "cannot write the scratch file");
      done += static_cast<std::size_t>(n);
    }
    return path_;
  }

 private:
  int fd_ = -1;
  std::filesystem::path path_;
};

// A key that no input is signed with: VerifySignature still parses the untrusted signature.
const uh::package::PublicKey& Key() {
  static const uh::package::PublicKey key = [] {
    auto private_key = uh::package::PrivateKey::Generate(2048);
    UH_FUZZ_CHECK(private_key.has_value(), "cannot generate a key");
    auto public_key = uh::package::PublicKey::FromPem(private_key->PublicPem());
    UH_FUZZ_CHECK(public_key.has_value(), "cannot load the public key");
    return *public_key;
  }();
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ScratchFile scratch;
  const auto& path = scratch.Write(data, size);

  auto pkg = uh::package::PackageReader::Open(path);
  if (!pkg) return 0;
  (void)pkg->objects_size();
  (void)pkg->VerifySignature(Key());
  (void)pkg->CheckObjects();
  for (const auto* object : pkg->metadata().DistinctObjects()) {
    std::uint64_t streamed = 0;
    auto sink = [&](std::span<const std::byte> bytes) -> uh::Expected<void> {
      streamed += bytes.size();
      return {};
    };
    if (pkg->ReadObject(object->sha256sum, sink)) {
      UH_FUZZ_CHECK(streamed == object->size, "ReadObject succeeded with the wrong size");
    }
  }
  return 0;
}
