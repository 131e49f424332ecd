#include "agent/device/callbacks.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "device_test_util.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

using test::WriteScript;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

class CallbacksTest : public ::testing::Test {
 protected:
  // A callback that records its arguments, one per line, in "<name>.args".
  void WriteRecording(std::string_view name, std::string_view then) {
    WriteScript(dir_ / name, "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$0.args\"\n" +
                                 std::string(then));
  }
  [[nodiscard]] std::string ArgsOf(std::string_view name) const {
    return uh::testing::ReadFile(dir_ / (std::string(name) + ".args"));
  }

  uh::testing::TempDir dir_;
  Callbacks callbacks_{dir_.path()};
};

TEST_F(CallbacksTest, AbsentCallbacksLetEverythingGoOn) {
  auto action = callbacks_.StateChange("download");
  ASSERT_TRUE(action) << action.error().message();
  EXPECT_EQ(*action, CallbackAction::kContinue);
  EXPECT_TRUE(callbacks_.Validate());
  EXPECT_TRUE(callbacks_.Rollback());
  EXPECT_TRUE(callbacks_.ReportError("boom"));
}

TEST_F(CallbacksTest, StateChangeWithoutOutputContinuesAndGetsTheState) {
  WriteRecording("state-change-callback", "");
  auto action = callbacks_.StateChange("install");
  ASSERT_TRUE(action) << action.error().message();
  EXPECT_EQ(*action, CallbackAction::kContinue);
  EXPECT_EQ(ArgsOf("state-change-callback"), "install\n");
}

TEST_F(CallbacksTest, StateChangePrintingCancelCancels) {
  WriteScript(dir_ / "state-change-callback", "echo cancel\n");
  auto action = callbacks_.StateChange("reboot");
  ASSERT_TRUE(action) << action.error().message();
  EXPECT_EQ(*action, CallbackAction::kCancel);
}

TEST_F(CallbacksTest, StateChangePrintingAnythingElseIsAnError) {
  WriteScript(dir_ / "state-change-callback", "echo maybe later\n");
  auto action = callbacks_.StateChange("download");
  ASSERT_FALSE(action);
  EXPECT_EQ(action.error().code(), Errc::kMalformed);
  EXPECT_THAT(action.error().message(),
              HasSubstr("state-change-callback download: printed 'maybe later'"));
}

TEST_F(CallbacksTest, StateChangeExitingNonZeroIsAnError) {
  WriteScript(dir_ / "state-change-callback", "echo 'disk busy' >&2\nexit 4\n");
  auto action = callbacks_.StateChange("install");
  ASSERT_FALSE(action);
  EXPECT_THAT(action.error().message(), HasSubstr("exited with status 4: disk busy"));
}

TEST_F(CallbacksTest, StateChangeThatHangsTimesOut) {
  WriteScript(dir_ / "state-change-callback", "exec sleep 30\n");
  Callbacks quick(dir_.path(), CallbackOptions{.timeout = std::chrono::milliseconds(200)});
  auto action = quick.StateChange("probe");
  ASSERT_FALSE(action);
  EXPECT_EQ(action.error().code(), Errc::kTimeout);
}

TEST_F(CallbacksTest, NonExecutableCallbackIsAnErrorNotSkipped) {
  uh::testing::WriteFile(dir_ / "state-change-callback", "#!/bin/sh\necho cancel\n");
  auto action = callbacks_.StateChange("install");
  ASSERT_FALSE(action);
  EXPECT_THAT(action.error().message(), HasSubstr("is not an executable file"));
}

TEST_F(CallbacksTest, ValidateSucceedsOnExitZeroAndFailsOtherwise) {
  WriteScript(dir_ / "validate-callback", "echo all good\n");
  EXPECT_TRUE(callbacks_.Validate());
  WriteScript(dir_ / "validate-callback", "echo 'app does not start' >&2\nexit 1\n");
  auto result = callbacks_.Validate();
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message(),
              HasSubstr("validate-callback: " + (dir_ / "validate-callback").string() +
                        " exited with status 1: app does not start"));
}

TEST_F(CallbacksTest, ValidateThatHangsFails) {
  WriteScript(dir_ / "validate-callback", "exec sleep 30\n");
  Callbacks quick(dir_.path(), CallbackOptions{.timeout = std::chrono::milliseconds(200)});
  auto result = quick.Validate();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), Errc::kTimeout);
}

TEST_F(CallbacksTest, RollbackRunsAndReportsFailure) {
  WriteRecording("rollback-callback", "");
  EXPECT_TRUE(callbacks_.Rollback());
  EXPECT_EQ(ArgsOf("rollback-callback"), "");
  WriteScript(dir_ / "rollback-callback", "exit 2\n");
  EXPECT_FALSE(callbacks_.Rollback());
}

TEST_F(CallbacksTest, ErrorCallbackGetsTheMessageAsOneArgumentWithoutAShell) {
  WriteRecording("error-callback", "head -c 200000 /dev/zero\n");  // output is ignored
  const std::string pwned = (dir_ / "pwned").string();
  const std::string message =
      "download failed: \"x\"; $(touch " + pwned + ") `touch " + pwned + "` * 'y'";
  auto result = callbacks_.ReportError(message);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(ArgsOf("error-callback"), message + "\n");
  EXPECT_FALSE(fs::exists(dir_ / "pwned"));
}

}  // namespace
}  // namespace uh::agent
