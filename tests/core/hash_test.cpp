#include "core/hash.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/background_hash.hpp"
#include "support/test_support.hpp"

namespace uh {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  const std::string data = testing::RandomBytes(100000);
  Sha256 hash;
  for (std::size_t i = 0; i < data.size(); i += 777)
    hash.Update(std::string_view(data).substr(i, 777));
  EXPECT_EQ(hash.HexDigest(), Sha256Hex(data));
}

// Blocks of every size, handed over while the previous one is hashed, hash like the whole; the
// buffers given back are empty and can be filled again.
TEST(BackgroundSha256, BlocksHashLikeTheWhole) {
  const std::string data = testing::RandomBytes(3000000);
  BackgroundSha256 hash;
  std::string block;
  std::size_t at = 0;
  for (std::size_t size = 1; at < data.size(); size = size * 3 + 1) {
    block.assign(data, at, std::min(size, data.size() - at));
    at += block.size();
    block = hash.Submit(std::move(block));
    EXPECT_TRUE(block.empty());
  }
  block = hash.Submit(std::string());  // an empty block changes nothing
  EXPECT_EQ(hash.HexDigest(), Sha256Hex(data));
}

TEST(BackgroundSha256, GoesOnFromAPrefixAndResets) {
  const std::string data = testing::RandomBytes(600000);
  Sha256 prefix;
  prefix.Update(std::string_view(data).substr(0, 100000));
  BackgroundSha256 hash(std::move(prefix));
  (void)hash.Submit(data.substr(100000, 300000));
  (void)hash.Submit(data.substr(400000));
  EXPECT_EQ(hash.HexDigest(), Sha256Hex(data));

  hash.Reset();
  (void)hash.Submit("abc");
  EXPECT_EQ(hash.HexDigest(), Sha256Hex("abc"));
}

// Destroyed with a block in flight: the thread finishes and goes, nothing is left behind.
TEST(BackgroundSha256, DestroyedWhileHashing) {
  for (int i = 0; i < 20; ++i) {
    BackgroundSha256 hash;
    (void)hash.Submit(std::string(1 << 20, 'x'));
  }
}

TEST(Sha256File, StreamsFileAndReportsProgress) {
  testing::TempDir dir;
  const std::string data = testing::RandomBytes(1000000);
  testing::WriteFile(dir / "f", data);
  std::uint64_t last = 0;
  auto digest = Sha256File(dir / "f", [&](std::uint64_t done) { last = done; });
  ASSERT_TRUE(digest);
  EXPECT_EQ(digest->size, data.size());
  EXPECT_EQ(digest->sha256, Sha256Hex(data));
  EXPECT_EQ(last, data.size());
  EXPECT_EQ(Sha256File(dir / "missing").error().code(), Errc::kNotFound);
}

TEST(Hex, LowerHexSha256Check) {
  EXPECT_TRUE(IsLowerHexSha256(std::string(64, 'a')));
  EXPECT_FALSE(IsLowerHexSha256(std::string(64, 'A')));
  EXPECT_FALSE(IsLowerHexSha256(std::string(63, 'a')));
  EXPECT_FALSE(IsLowerHexSha256(std::string(64, 'g')));
}

TEST(Base64, RoundTripsAllLengths) {
  for (std::size_t n = 0; n < 40; ++n) {
    const std::string data = testing::RandomBytes(n, static_cast<unsigned>(n));
    const std::string text = Base64Encode(std::as_bytes(std::span(data.data(), data.size())));
    auto decoded = Base64Decode(text);
    ASSERT_TRUE(decoded) << text;
    EXPECT_EQ(*decoded, data);
  }
  EXPECT_EQ(*Base64Decode("aGk=\n"), "hi");
  EXPECT_EQ(*Base64Decode("aGk=\r\n"), "hi");
}

TEST(Base64, RejectsInvalidText) {
  // "QUf=" has stray bits before the padding: its canonical text is "QUc=".
  for (const char* text : {"a", "ab=c", "a===", "ab cd", "ab\ncd", "ab*d", "=abc",
                           "YQ==YQ==", "QUf=", "YR==", "aGk=\r", "aGk=\n\n"}) {
    auto decoded = Base64Decode(text);
    ASSERT_FALSE(decoded) << text;
    EXPECT_EQ(decoded.error().code(), Errc::kMalformed);
  }
}

}  // namespace
}  // namespace uh
