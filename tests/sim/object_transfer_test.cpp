// Download replies checked as our agent checks them: ranges, sizes, hashes.

#include "sim/object_transfer.hpp"

#include <gtest/gtest.h>

#include "core/hash.hpp"
#include "support/test_support.hpp"

namespace uh::sim {
namespace {

class ObjectReceiverTest : public ::testing::Test {
 protected:
  ObjectReceiverTest() {
    object_.sha256 = Sha256Hex(bytes_);
    object_.size = bytes_.size();
    device_.hash = std::make_unique<Sha256>();
  }

  static HttpResponse Head(int status, std::vector<std::pair<std::string, std::string>> headers) {
    HttpResponse head;
    head.status = status;
    head.headers = std::move(headers);
    return head;
  }

  // Resumes after `offset` bytes already hashed.
  void ReceivedAlready(std::size_t offset) {
    device_.hash->Update(std::string_view(bytes_).substr(0, offset));
    device_.offset = offset;
  }

  std::string bytes_ = uh::testing::RandomBytes(10'000, 9);
  SimObject object_;
  DeviceState device_;
};

TEST_F(ObjectReceiverTest, ARangeAnswerCompletesTheObject) {
  ReceivedAlready(4000);
  ObjectReceiver receiver(device_, object_);
  ASSERT_TRUE(receiver
                  .OnHead(Head(206, {{"content-range", "bytes 4000-9999/10000"},
                                     {"content-length", "6000"}}))
                  .has_value());
  auto more = receiver.OnBody(std::string_view(bytes_).substr(4000));
  ASSERT_TRUE(more.has_value());
  EXPECT_TRUE(*more);
  EXPECT_TRUE(receiver.Finish().has_value());
  EXPECT_EQ(receiver.accepted(), 6000u);
  EXPECT_EQ(device_.offset, 10'000u);
}

TEST_F(ObjectReceiverTest, ARangeFromElsewhereOrOfAnotherSizeIsRefused) {
  ReceivedAlready(4000);
  for (const char* range :
       {"bytes 3999-9999/10000", "bytes 4000-9999/10001", "bytes 4000-10000/*", "bytes x-y/z"}) {
    ObjectReceiver receiver(device_, object_);
    EXPECT_FALSE(receiver.OnHead(Head(206, {{"content-range", range}})).has_value()) << range;
  }
  ObjectReceiver no_range(device_, object_);
  EXPECT_FALSE(no_range.OnHead(Head(206, {})).has_value());
  ObjectReceiver wrong_length(device_, object_);
  EXPECT_FALSE(wrong_length
                   .OnHead(Head(206, {{"content-range", "bytes 4000-9999/10000"},
                                      {"content-length", "5999"}}))
                   .has_value());
}

TEST_F(ObjectReceiverTest, AWholeAnswerToARangeStartsOver) {
  ReceivedAlready(4000);
  ObjectReceiver receiver(device_, object_);
  ASSERT_TRUE(receiver.OnHead(Head(200, {{"content-length", "10000"}})).has_value());
  EXPECT_TRUE(receiver.restarted());
  EXPECT_EQ(device_.offset, 0u);
  ASSERT_TRUE(receiver.OnBody(bytes_).has_value());
  EXPECT_TRUE(receiver.Finish().has_value());
}

// updatehub-ce answers a range with 200 and only the bytes from there on: appended, like the
// agent does, when its length is exactly the rest; any other length is refused before a byte.
TEST_F(ObjectReceiverTest, ATailAnswerToARangeIsAppended) {
  ReceivedAlready(4000);
  ObjectReceiver receiver(device_, object_);
  ASSERT_TRUE(receiver.OnHead(Head(200, {{"content-length", "6000"}})).has_value());
  EXPECT_FALSE(receiver.restarted());
  EXPECT_EQ(device_.offset, 4000u);
  ASSERT_TRUE(receiver.OnBody(std::string_view(bytes_).substr(4000)).has_value());
  EXPECT_TRUE(receiver.Finish().has_value());
  EXPECT_EQ(receiver.accepted(), 6000u);

  for (const char* length : {"5999", "6001", "9999", "10001"}) {
    DeviceState other;
    other.hash = std::make_unique<Sha256>();
    other.hash->Update(std::string_view(bytes_).substr(0, 4000));
    other.offset = 4000;
    ObjectReceiver refused(other, object_);
    EXPECT_FALSE(refused.OnHead(Head(200, {{"content-length", length}})).has_value()) << length;
    EXPECT_EQ(other.offset, 4000u) << "nothing taken from a refused reply";
  }
}

TEST_F(ObjectReceiverTest, ErrorStatusesAreRefused) {
  for (int status : {404, 416, 500, 302}) {
    ObjectReceiver receiver(device_, object_);
    auto head = receiver.OnHead(Head(status, {}));
    ASSERT_FALSE(head.has_value()) << status;
    EXPECT_NE(head.error().message().find(std::to_string(status)), std::string::npos);
  }
}

TEST_F(ObjectReceiverTest, TooManyBytesOrTheWrongBytesAreRefused) {
  {
    ObjectReceiver receiver(device_, object_);
    ASSERT_TRUE(receiver.OnHead(Head(200, {})).has_value());
    EXPECT_FALSE(receiver.OnBody(bytes_ + "x").has_value());
  }
  DeviceState fresh;
  fresh.hash = std::make_unique<Sha256>();
  std::string wrong = bytes_;
  wrong[5000] ^= 1;
  ObjectReceiver receiver(fresh, object_);
  ASSERT_TRUE(receiver.OnHead(Head(200, {})).has_value());
  ASSERT_TRUE(receiver.OnBody(wrong).has_value());
  auto done = receiver.Finish();
  ASSERT_FALSE(done.has_value());
  EXPECT_EQ(done.error().code(), Errc::kIntegrity);

  DeviceState short_answer;
  short_answer.hash = std::make_unique<Sha256>();
  ObjectReceiver truncated(short_answer, object_);
  ASSERT_TRUE(truncated.OnHead(Head(200, {})).has_value());
  ASSERT_TRUE(truncated.OnBody(std::string_view(bytes_).substr(0, 10)).has_value());
  EXPECT_FALSE(truncated.Finish().has_value());
}

TEST_F(ObjectReceiverTest, ACutTakesExactlyTheBytesBeforeIt) {
  device_.cut_at = 1234;
  ObjectReceiver receiver(device_, object_);
  ASSERT_TRUE(receiver.OnHead(Head(200, {})).has_value());
  auto first = receiver.OnBody(std::string_view(bytes_).substr(0, 1000));
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(*first);
  auto second = receiver.OnBody(std::string_view(bytes_).substr(1000, 5000));
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(*second) << "stop at the cut";
  EXPECT_TRUE(receiver.cut());
  EXPECT_EQ(receiver.accepted(), 1234u);
  EXPECT_EQ(device_.offset, 1234u);
}

}  // namespace
}  // namespace uh::sim
