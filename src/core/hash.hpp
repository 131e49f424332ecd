#pragma once

// SHA-256 (OpenSSL EVP) and the encodings used around it on the wire.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace uh {

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void Update(std::span<const std::byte> data);
  void Update(std::string_view data);
  // Lowercase hex digest; the object may not be updated afterwards.
  [[nodiscard]] std::string HexDigest();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

[[nodiscard]] std::string Sha256Hex(std::string_view data);

using ProgressFn = std::function<void(std::uint64_t done)>;

struct FileDigest {
  std::uint64_t size = 0;
  std::string sha256;
};
// Hashes a file by streaming it; memory use does not depend on its size.
[[nodiscard]] Expected<FileDigest> Sha256File(const std::filesystem::path& path,
                                              const ProgressFn& progress = {});

[[nodiscard]] bool IsLowerHexSha256(std::string_view text);
[[nodiscard]] std::string HexEncode(std::span<const std::byte> data);

[[nodiscard]] std::string Base64Encode(std::span<const std::byte> data);
// Strict: rejects characters outside the alphabet, bad padding and non-canonical encodings;
// the only whitespace allowed is one trailing "\n" or "\r\n".
[[nodiscard]] Expected<std::string> Base64Decode(std::string_view text);

}  // namespace uh
