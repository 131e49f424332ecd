#include "core/hash.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <vector>

#include "core/fs.hpp"

namespace uh {

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1) {
    throw std::bad_alloc();  // only when OpenSSL cannot allocate
  }
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(std::span<const std::byte> data) {
  EVP_DigestUpdate(ctx_->md, data.data(), data.size());
}

void Sha256::Update(std::string_view data) { EVP_DigestUpdate(ctx_->md, data.data(), data.size()); }

std::string Sha256::HexDigest() {
  std::array<std::byte, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md, reinterpret_cast<unsigned char*>(digest.data()), &len);
  return HexEncode(std::span(digest.data(), len));
}

std::string Sha256Hex(std::string_view data) {
  Sha256 hash;
  hash.Update(data);
  return hash.HexDigest();
}

Expected<FileDigest> Sha256File(const std::filesystem::path& path, const ProgressFn& progress) {
  auto file = File::OpenRead(path);
  if (!file) return std::unexpected(file.error());
  Sha256 hash;
  FileDigest result;
  std::vector<std::byte> buffer(kIoBufferSize);
  for (;;) {
    auto n = file->Read(buffer);
    if (!n) return std::unexpected(n.error());
    if (*n == 0) break;
    hash.Update(std::span(buffer.data(), *n));
    result.size += *n;
    if (progress) progress(result.size);
  }
  result.sha256 = hash.HexDigest();
  return result;
}

std::string Base64Encode(std::span<const std::byte> data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Expected<std::string> Base64Decode(std::string_view text) {
  if (text.ends_with("\r\n")) {
    text.remove_suffix(2);
  } else if (text.ends_with('\n')) {
    text.remove_suffix(1);
  }
  if (text.size() % 4 != 0) return Fail(Errc::kMalformed, "base64 length is not a multiple of 4");
  std::size_t padding = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '+' || c == '/';
    if (c == '=' && i + 2 >= text.size()) {
      ++padding;
    } else if (!alpha || padding > 0) {
      return Fail(Errc::kMalformed, "invalid base64 character at offset " + std::to_string(i));
    }
  }
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return Fail(Errc::kMalformed, "invalid base64");
  out.resize(static_cast<std::size_t>(n) - padding);
  // Only the canonical text of these bytes is accepted (no stray bits before the padding), so
  // that one signature has one text form.
  if (Base64Encode(std::as_bytes(std::span(out.data(), out.size()))) != text) {
    return Fail(Errc::kMalformed, "non-canonical base64 (stray bits before the padding)");
  }
  return out;
}

}  // namespace uh
