// The error state as a unit: run over an update context, without a daemon or a server. What it
// reports of a failure is derived from the state the failure came from (FailedStepOf), and it
// leaves nothing of the update behind.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "agent/daemon/environment.hpp"
#include "agent/daemon/request_channel.hpp"
#include "agent/daemon/states/states.hpp"
#include "package/metadata.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

// A backend that records reports; the error state needs nothing else of it.
class ReportingBackend final : public UpdateBackend {
 public:
  explicit ReportingBackend(std::vector<ReportRequest>& reports) : reports_(reports) {}

  Expected<void> Report(const ClientOptions&, const nlohmann::json&,
                        const ReportRequest& report) override {
    reports_.push_back(report);
    return {};
  }
  Expected<ProbeResult> Probe(const ClientOptions&, const nlohmann::json&, int) override {
    return Unused();
  }
  Expected<void> DownloadObject(const ClientOptions&, const ObjectDownload&,
                                const std::atomic<bool>&) override {
    return Unused();
  }
  Expected<void> DownloadUrl(const ClientOptions&, const std::string&, const std::filesystem::path&,
                             const std::atomic<bool>&, std::uint64_t) override {
    return Unused();
  }
  Expected<std::string> PackageUid(const std::string&) override { return Unused(); }
  Expected<void> VerifySignature(const std::filesystem::path&, const std::string&,
                                 const std::string&) override {
    return Unused();
  }
  Expected<UnpackedPackage> UnpackPackage(const std::filesystem::path&,
                                          const std::filesystem::path&) override {
    return Unused();
  }
  Expected<UnpackedPackage> ReadPackage(const std::filesystem::path&) override { return Unused(); }
  Expected<void> ExtractObject(const std::filesystem::path&, const package::Object&,
                               const std::filesystem::path&) override {
    return Unused();
  }
  Expected<void> VerifyObjectFile(const std::filesystem::path&, const package::Object&) override {
    return Unused();
  }
  Expected<void> CheckRequirements(const package::Object&, const InstallContext&) override {
    return Unused();
  }
  Expected<bool> AlreadyInstalled(const package::Object&, const InstallContext&) override {
    return Unused();
  }
  Expected<void> Install(const package::Object&, const InstallContext&) override {
    return Unused();
  }
  Expected<void> StreamInstall(const ClientOptions&, const ObjectDownload&, const package::Object&,
                               const InstallContext&, const std::atomic<bool>&) override {
    return Unused();
  }
  Expected<void> InstallFromPackage(const std::filesystem::path&, const package::Object&,
                                    const InstallContext&, const std::atomic<bool>&) override {
    return Unused();
  }
  Expected<void> VerifyStreamed(const package::Object&, const StreamTarget&,
                                const InstallContext&) override {
    return Unused();
  }

 private:
  static std::unexpected<uh::Error> Unused() {
    ADD_FAILURE() << "the error state used the backend for more than a report";
    return std::unexpected(uh::Error(Errc::kInternal, "not in this test"));
  }

  std::vector<ReportRequest>& reports_;
};

class ErrorStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.storage.state_file = dir_ / "state.json";
    config_.storage.runtime_settings = dir_ / "runtime_settings.conf";
    config_.update.download_dir = dir_ / "download";
    config_.firmware.metadata = dir_ / "metadata";  // none: only logged
    DaemonOptions options;
    options.backend = std::make_unique<ReportingBackend>(reports_);
    options.recent_log = [] { return std::string("recent log\n"); };
    auto env = Environment::Create(config_, std::move(options), requests_);
    ASSERT_TRUE(env) << env.error().message();
    env_ = std::move(*env);
  }

  // The context of a server's update in its download phase, its objects downloaded.
  UpdateContext Downloading(bool remote) {
    const std::string metadata =
        uh::testing::ReadFile(uh::testing::TestPackagesDir() / "signed.metadata.json");
    auto parsed = package::ParseMetadata(metadata);
    EXPECT_TRUE(parsed);
    UpdateContext context;
    UpdateState update;
    update.package_uid = uh::testing::TestPackageUid("signed.uhupkg");
    update.metadata = metadata;
    update.remote = remote;
    context.update = std::move(update);
    context.offer = OfferOf(*context.update, std::move(*parsed));
    EXPECT_TRUE(SaveUpdateState(config_.storage.state_file, *context.update));
    std::filesystem::create_directories(config_.update.download_dir);
    for (const auto* object : Distinct(context.ObjectsForSlot())) {
      uh::testing::WriteFile(env_->ObjectPath(object->sha256sum), "bytes");
    }
    return context;
  }

  uh::testing::TempDir dir_;
  AgentConfig config_;
  RequestChannel requests_;
  std::vector<ReportRequest> reports_;
  std::unique_ptr<Environment> env_;
};

TEST_F(ErrorStateTest, ReportsTheFailureAsOfTheStateItCameFromAndDropsTheUpdate) {
  UpdateContext context = Downloading(/*remote=*/true);
  context.failure = Failure{uh::Error(Errc::kIo, "disk full"), StateId::kDownload};
  env_->runtime().polling.now = true;
  ErrorState error(*env_);

  EXPECT_EQ(error.Run(context, {}).event, Event::kRecovered);

  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].status, "error");
  EXPECT_EQ(reports_[0].package_uid, uh::testing::TestPackageUid("signed.uhupkg"));
  EXPECT_EQ(reports_[0].previous_state, "downloading");
  EXPECT_EQ(reports_[0].error_message, "disk full");
  EXPECT_EQ(reports_[0].current_log, "recent log\n");
  EXPECT_FALSE(std::filesystem::exists(config_.storage.state_file));
  EXPECT_TRUE(std::filesystem::is_empty(config_.update.download_dir));
  EXPECT_FALSE(env_->runtime().polling.now);  // the next probe waits for its time
  EXPECT_FALSE(context.offer || context.update || context.failure);
}

TEST_F(ErrorStateTest, SaysSoWhenNoFailureWasRecorded) {
  UpdateContext context = Downloading(/*remote=*/true);
  ErrorState error(*env_);

  EXPECT_EQ(error.Run(context, {}).event, Event::kRecovered);

  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].previous_state, "error");
  EXPECT_EQ(reports_[0].error_message, "an unknown error stopped the update");
}

TEST_F(ErrorStateTest, ReportsNothingForALocalInstall) {
  UpdateContext context = Downloading(/*remote=*/false);
  context.failure = Failure{uh::Error(Errc::kIntegrity, "bad hash"), StateId::kInstall};
  ErrorState error(*env_);

  EXPECT_EQ(error.Run(context, {}).event, Event::kRecovered);

  EXPECT_TRUE(reports_.empty());
  EXPECT_FALSE(std::filesystem::exists(config_.storage.state_file));
}

}  // namespace
}  // namespace uh::agent
