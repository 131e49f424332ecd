// FileResponse without a server: which part of the file a Range header selects.

#include <gtest/gtest.h>

#include "server/http/http.hpp"
#include "support/test_support.hpp"

namespace uh::server::http {
namespace {

class FileResponseTest : public ::testing::Test {
 protected:
  FileResponseTest() { uh::testing::WriteFile(path_, std::string(1000, 'x')); }

  Response Get(std::optional<std::string> range, Method method = Method::kGet) {
    Request request;
    request.method = method;
    if (range) request.headers["range"] = *range;
    return FileResponse(request, path_, "application/x-test");
  }

  uh::testing::TempDir dir_;
  std::filesystem::path path_ = dir_ / "object";
};

struct Expected206 {
  std::string range;
  std::uint64_t offset;
  std::uint64_t length;
  std::string content_range;
};

TEST_F(FileResponseTest, WholeFileWithoutRange) {
  const auto response = Get(std::nullopt);
  EXPECT_EQ(response.status, 200);
  const auto& body = std::get<FileBody>(response.body);
  EXPECT_EQ(body.path, path_);
  EXPECT_EQ(body.offset, 0u);
  EXPECT_EQ(body.length, 1000u);
  EXPECT_EQ(response.FindHeader("Accept-Ranges"), "bytes");
  EXPECT_EQ(response.FindHeader("Content-Type"), "application/x-test");
  EXPECT_EQ(response.FindHeader("Content-Range"), std::nullopt);
}

TEST_F(FileResponseTest, SingleRanges) {
  const Expected206 cases[] = {
      {"bytes=0-99", 0, 100, "bytes 0-99/1000"},
      {"bytes=500-", 500, 500, "bytes 500-999/1000"},
      {"bytes=999-999", 999, 1, "bytes 999-999/1000"},
      {"bytes=-10", 990, 10, "bytes 990-999/1000"},
      {"bytes=-5000", 0, 1000, "bytes 0-999/1000"},      // suffix longer than the file
      {"bytes=995-2000", 995, 5, "bytes 995-999/1000"},  // end clamped
      {" BYTES=10-19 ", 10, 10, "bytes 10-19/1000"},     // unit is case-insensitive
  };
  for (const auto& c : cases) {
    const auto response = Get(c.range);
    EXPECT_EQ(response.status, 206) << c.range;
    const auto& body = std::get<FileBody>(response.body);
    EXPECT_EQ(body.offset, c.offset) << c.range;
    EXPECT_EQ(body.length, c.length) << c.range;
    EXPECT_EQ(response.FindHeader("Content-Range"), c.content_range) << c.range;
  }
}

TEST_F(FileResponseTest, UnsatisfiableRangesGet416) {
  for (const char* range : {"bytes=1000-", "bytes=5000-6000", "bytes=-0"}) {
    const auto response = Get(range);
    EXPECT_EQ(response.status, 416) << range;
    EXPECT_EQ(response.FindHeader("Content-Range"), "bytes */1000") << range;
    EXPECT_TRUE(std::holds_alternative<std::string>(response.body));
  }
}

TEST_F(FileResponseTest, InvalidAndMultiRangesAreIgnored) {
  for (const char* range : {"bytes=a-b", "items=0-1", "bytes=5-2", "bytes=", "bytes=-",
                            "bytes=0-1,5-6", "bytes=99999999999999999999-", "0-10"}) {
    const auto response = Get(range);
    EXPECT_EQ(response.status, 200) << range;
    EXPECT_EQ(std::get<FileBody>(response.body).length, 1000u) << range;
  }
}

TEST_F(FileResponseTest, RangeOnlyForGetAndHeadAndNotWithIfRange) {
  EXPECT_EQ(Get("bytes=0-9", Method::kHead).status, 206);
  EXPECT_EQ(Get("bytes=0-9", Method::kPost).status, 200);
  Request request;
  request.headers["range"] = "bytes=0-9";
  request.headers["if-range"] = "\"some-etag\"";
  EXPECT_EQ(FileResponse(request, path_).status, 200);
}

TEST_F(FileResponseTest, EmptyFile) {
  uh::testing::WriteFile(path_, "");
  EXPECT_EQ(Get(std::nullopt).status, 200);
  EXPECT_EQ(Get("bytes=0-").status, 416);
  EXPECT_EQ(Get("bytes=-1").status, 416);
}

TEST_F(FileResponseTest, MissingFileOrDirectoryIs404) {
  Request request;
  EXPECT_EQ(FileResponse(request, dir_ / "absent").status, 404);
  EXPECT_EQ(FileResponse(request, dir_.path()).status, 404);
}

}  // namespace
}  // namespace uh::server::http
