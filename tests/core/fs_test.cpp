#include "core/fs.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/test_support.hpp"

namespace uh {
namespace {

using ::testing::HasSubstr;

TEST(AtomicFile, AppearsOnlyOnCommit) {
  testing::TempDir dir;
  const auto target = dir / "out";
  testing::WriteFile(target, "old");
  {
    auto file = AtomicFile::Create(target);
    ASSERT_TRUE(file);
    ASSERT_TRUE(file->file().WriteAll("new content"));
    EXPECT_EQ(testing::ReadFile(target), "old");
    ASSERT_TRUE(file->Commit());
  }
  EXPECT_EQ(testing::ReadFile(target), "new content");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(AtomicFile, DiscardedWithoutCommitLeavesNothing) {
  testing::TempDir dir;
  {
    auto file = AtomicFile::Create(dir / "out");
    ASSERT_TRUE(file);
    ASSERT_TRUE(file->file().WriteAll("partial"));
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(WriteFileAtomic, SetsMode) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir / "secret", "x", 0600));
  struct stat st {};
  ASSERT_EQ(::stat((dir / "secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(ReadFileLimited, EnforcesLimit) {
  testing::TempDir dir;
  testing::WriteFile(dir / "f", std::string(100, 'x'));
  EXPECT_EQ(ReadFileLimited(dir / "f", 100)->size(), 100u);
  auto too_big = ReadFileLimited(dir / "f", 99);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code(), Errc::kTooLarge);
  EXPECT_EQ(ReadFileLimited(dir / "none", 10).error().code(), Errc::kNotFound);
  EXPECT_EQ(ReadFileLimited(dir.path(), 10).error().code(), Errc::kInvalidArgument);
}

TEST(CheckFreeSpace, RefusesImpossibleSizes) {
  testing::TempDir dir;
  EXPECT_TRUE(CheckFreeSpace(dir.path(), 1024));
  auto result = CheckFreeSpace(dir.path(), std::uint64_t{1} << 62);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kNoSpace);
  EXPECT_THAT(result.error().message(), HasSubstr("free"));
}

TEST(Error, ContextIsPrepended) {
  Error error(Errc::kIo, "disk on fire");
  EXPECT_EQ(error.WithContext("writing x").message(), "writing x: disk on fire");
  EXPECT_EQ(error.WithContext("writing x").code(), Errc::kIo);
}

}  // namespace
}  // namespace uh
