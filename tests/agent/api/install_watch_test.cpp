#include "agent/api/install_watch.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace uh::agent {
namespace {

using Verdict = InstallWatch::Verdict;

struct Watched {
  Verdict verdict;
  bool done;
  std::string detail;
  std::vector<std::string> progress;
};

Watched Watch(const std::vector<std::string>& messages) {
  InstallWatch watch;
  Watched result{};
  for (const auto& message : messages) {
    if (auto line = watch.Read(nlohmann::json{{"level", "info"}, {"message", message}})) {
      result.progress.push_back(*line);
    }
  }
  result.verdict = watch.verdict();
  result.done = watch.done();
  result.detail = watch.detail();
  return result;
}

TEST(InstallWatchTest, RebootingIntoThePackageIsInstalled) {
  const auto watched =
      Watch({"next probe in 3600 s", "park --update--> validation",
             "validation --valid--> download", "download --downloaded--> install",
             "install --installed--> reboot", "update failed: the device did not reboot"});
  EXPECT_EQ(watched.verdict, Verdict::kInstalled);
  EXPECT_TRUE(watched.done);
  EXPECT_EQ(watched.progress,
            (std::vector<std::string>{"Validating the package",
                                      "Package valid; getting its objects", "Installing"}));
}

TEST(InstallWatchTest, InstalledInPlaceOrAlreadyInstalled) {
  EXPECT_EQ(Watch({"install --installed--> poll"}).verdict, Verdict::kInstalled);
  const auto applied =
      Watch({"poll --update--> validation", "validation --already applied--> poll"});
  EXPECT_EQ(applied.verdict, Verdict::kInstalled);
  EXPECT_EQ(applied.detail, "already installed");
}

TEST(InstallWatchTest, ARefusalIsAFailureWithItsReason) {
  const auto refused =
      Watch({"park --update--> validation", "validation --failed--> error",
             "update failed: package x: for product a, not b", "error --recovered--> poll"});
  EXPECT_EQ(refused.verdict, Verdict::kFailed);
  EXPECT_TRUE(refused.done);
  EXPECT_EQ(refused.detail, "package x: for product a, not b");

  // Not yet final until the reason is logged; a failure whose reason never comes still ends.
  EXPECT_FALSE(Watch({"poll --failed--> error"}).done);
  const auto silent = Watch({"poll --failed--> error", "error --recovered--> poll"});
  EXPECT_TRUE(silent.done);
  EXPECT_EQ(silent.verdict, Verdict::kFailed);
  EXPECT_EQ(silent.detail, "failed in state poll");

  const auto cancelled = Watch({"park --update--> validation", "validation --cancelled--> park"});
  EXPECT_EQ(cancelled.verdict, Verdict::kFailed);
  EXPECT_TRUE(cancelled.done);
}

TEST(InstallWatchTest, OtherEntriesAreNoVerdict) {
  const auto watched = Watch({"probe --failed--> poll", "poll --polling disabled--> park",
                              "a --b-> c", "x --y--> Z", "", "package 1 is already installed"});
  EXPECT_EQ(watched.verdict, Verdict::kPending);
  EXPECT_FALSE(watched.done);
  InstallWatch watch;
  EXPECT_FALSE(watch.Read(nlohmann::json::array()));
  EXPECT_FALSE(watch.Read(nlohmann::json{{"message", 3}}));
}

}  // namespace
}  // namespace uh::agent
