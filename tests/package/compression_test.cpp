#include "package/compression.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace uh::package {
namespace {

TEST(Compression, DetectsAndMeasuresEachFormat) {
  testing::TempDir dir;
  const std::string data = testing::RandomBytes(300000) + std::string(200000, 'z');
  struct Case {
    std::vector<std::string> command;
    std::string suffix;
    Compression expected;
  };
  const std::vector<Case> cases = {
      {{"gzip", "-k"}, ".gz", Compression::kGzip},
      {{"xz", "-k"}, ".xz", Compression::kXz},
      {{"xz", "-k", "--format=lzma"}, ".lzma", Compression::kLzma},
      {{"zstd", "-q", "-k"}, ".zst", Compression::kZstd},
  };
  for (const auto& c : cases) {
    const auto plain = dir / ("data" + c.suffix.substr(1));
    testing::WriteFile(plain, data);
    auto argv = c.command;
    argv.push_back(plain.string());
    auto run = testing::Run(argv);
    ASSERT_EQ(run.status, 0) << run.err;
    const auto packed = plain.string() + c.suffix;
    auto detected = DetectFileCompression(packed);
    ASSERT_TRUE(detected);
    EXPECT_EQ(*detected, c.expected) << packed;
    auto size = UncompressedSize(packed);
    ASSERT_TRUE(size) << size.error().message();
    EXPECT_EQ(*size, data.size()) << packed;
  }
  EXPECT_EQ(*DetectFileCompression(dir / "datagz"), Compression::kNone);
}

TEST(Compression, PlainDataIsNotMistakenForLzma) {
  std::vector<std::byte> head(16, std::byte{0});
  head[0] = std::byte{0x5d};
  head[1] = std::byte{0x12};  // dictionary size not a power of two
  EXPECT_EQ(DetectCompression(head), Compression::kNone);
  EXPECT_EQ(DetectCompression({}), Compression::kNone);
}

TEST(Compression, CorruptStreamIsAnError) {
  testing::TempDir dir;
  testing::WriteFile(dir / "d", testing::RandomBytes(100000));
  ASSERT_EQ(testing::Run({"gzip", (dir / "d").string()}).status, 0);
  std::string packed = testing::ReadFile(dir / "d.gz");
  packed.resize(packed.size() / 2);
  testing::WriteFile(dir / "cut.gz", packed);
  auto size = UncompressedSize(dir / "cut.gz");
  ASSERT_FALSE(size);
  EXPECT_EQ(size.error().code(), Errc::kMalformed);
}

}  // namespace
}  // namespace uh::package
