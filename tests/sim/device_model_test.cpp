// The device model without a server: each event moves a device one step, and the actions come
// in the order and with the fields our agent uses.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "sim/device.hpp"
#include "sim/object_transfer.hpp"
#include "sim_packages.hpp"
#include "support/test_support.hpp"

namespace uh::sim {
namespace {

using std::chrono::milliseconds;
using testing::MakePackage;
using testing::TestObject;

// Both installation sets list the same files; their contents differ by slot.
const TestObject kA1{"rootfs.img", uh::testing::RandomBytes(3000, 1)};
const TestObject kA2{"app.img", uh::testing::RandomBytes(600, 4)};
const TestObject kB1{"rootfs.img", uh::testing::RandomBytes(5000, 2)};
const TestObject kB2{"app.img", uh::testing::RandomBytes(700, 3)};

class DeviceModelTest : public ::testing::Test {
 protected:
  DeviceModelTest()
      : offers_(DeviceProfile{testing::kProduct, "board-a", std::nullopt}, versions_) {
    start_ = *versions_.Intern("1.0");
  }

  std::uint32_t Offer(const testing::TestPackage& package) {
    auto id =
        offers_.Intern(package.metadata,
                       package.signature.empty() ? std::nullopt : std::optional(package.signature));
    EXPECT_TRUE(id.has_value()) << id.error().message();
    return *id;
  }

  DeviceModel Model(ModelSettings settings = {}) { return DeviceModel(settings, offers_); }

  DeviceState Device(std::uint32_t index = 0) {
    DeviceState device;
    device.index = index;
    device.random = DeviceSeed(7, index);
    device.version = start_;
    return device;
  }

  // Delivers a download of the whole object (in one piece) to the device.
  static TransferEnded Deliver(DeviceState& device, const Download& download,
                               const std::string& bytes) {
    ObjectReceiver receiver(device, *download.object);
    HttpResponse head;
    head.status = 206;
    head.headers = {{"content-range", "bytes " + std::to_string(download.offset) + "-" +
                                          std::to_string(bytes.size() - 1) + "/" +
                                          std::to_string(bytes.size())}};
    EXPECT_TRUE(receiver.OnHead(head).has_value());
    auto more = receiver.OnBody(std::string_view(bytes).substr(download.offset));
    EXPECT_TRUE(more.has_value());
    if (receiver.cut()) return TransferEnded{TransferEnded::Kind::kCut, ""};
    auto done = receiver.Finish();
    if (!done) return TransferEnded{TransferEnded::Kind::kRefused, done.error().message()};
    return TransferEnded{TransferEnded::Kind::kComplete, ""};
  }

  VersionTable versions_;
  OfferBook offers_;
  std::uint16_t start_ = 0;
};

std::string StatusOf(const Action& action) {
  const auto* report = std::get_if<Report>(&action);
  return report ? report->status : "(not a report)";
}

TEST_F(DeviceModelTest, FirstProbeComesWithinTheJitterWindow) {
  const auto model = Model({.poll_interval = milliseconds(60'000), .jitter = milliseconds(500)});
  std::set<std::int64_t> seen;
  for (std::uint32_t i = 0; i < 2000; ++i) {
    DeviceState device = Device(i);
    const Action action = model.Next(device, Started{});
    ASSERT_TRUE(std::holds_alternative<Wait>(action));
    const auto delay = std::get<Wait>(action).delay.count();
    EXPECT_GE(delay, 0);
    EXPECT_LE(delay, 500);
    seen.insert(delay);
  }
  EXPECT_GT(seen.size(), 300u) << "the start is spread over the window";
  EXPECT_TRUE(seen.contains(0) || seen.contains(1));
}

TEST_F(DeviceModelTest, NoUpdateWaitsTheIntervalPlusOrMinusJitter) {
  const auto model = Model({.poll_interval = milliseconds(1000), .jitter = milliseconds(200)});
  std::int64_t low = 1'000'000, high = 0;
  for (std::uint32_t i = 0; i < 2000; ++i) {
    DeviceState device = Device(i);
    ASSERT_TRUE(std::holds_alternative<Probe>(model.Next(device, Woke{})));
    EXPECT_EQ(device.step, Step::kProbing);
    const Action action = model.Next(device, ProbeAnswer{.kind = ProbeAnswer::Kind::kNoUpdate});
    const auto delay = std::get<Wait>(action).delay.count();
    low = std::min(low, delay);
    high = std::max(high, delay);
    EXPECT_TRUE(device.probed && device.announced);
  }
  EXPECT_GE(low, 800);
  EXPECT_LE(high, 1200);
  EXPECT_LT(low, 820) << "the spread reaches down to the bound";
  EXPECT_GT(high, 1180) << "the spread reaches up to the bound";
}

TEST_F(DeviceModelTest, ExtraPollWaitsWhatTheServerSaid) {
  const auto model = Model({.poll_interval = milliseconds(1000), .jitter = milliseconds(200)});
  DeviceState device = Device();
  (void)model.Next(device, Woke{});
  const Action action = model.Next(
      device, ProbeAnswer{.kind = ProbeAnswer::Kind::kExtraPoll, .extra_poll = milliseconds(7000)});
  EXPECT_EQ(std::get<Wait>(action).delay, milliseconds(7000));
}

TEST_F(DeviceModelTest, FailedProbesBackOffExponentiallyUpToTheInterval) {
  const auto model = Model({.poll_interval = milliseconds(10'000),
                            .jitter = milliseconds(0),
                            .retry_base = milliseconds(1000)});
  DeviceState device = Device();
  std::vector<std::int64_t> delays;
  for (int i = 0; i < 7; ++i) {
    (void)model.Next(device, Woke{});
    const Action action = model.Next(device, ProbeAnswer{.kind = ProbeAnswer::Kind::kFailed});
    delays.push_back(std::get<Wait>(action).delay.count());
    EXPECT_EQ(device.probe_retries, i + 1) << "sent as Api-Retries";
  }
  const std::vector<std::int64_t> nominal = {1000, 2000, 4000, 8000, 10000, 10000, 10000};
  for (std::size_t i = 0; i < nominal.size(); ++i) {
    EXPECT_NEAR(delays[i], nominal[i], nominal[i] / 10) << i;
  }
  EXPECT_FALSE(device.probed);
  (void)model.Next(device, Woke{});
  (void)model.Next(device, ProbeAnswer{.kind = ProbeAnswer::Kind::kNoUpdate});
  EXPECT_EQ(device.probe_retries, 0) << "an answer resets the count";
}

TEST_F(DeviceModelTest, AnUpdateReportsEveryStepInTheAgentsOrder) {
  const auto package = MakePackage("2.0", {kA1, kA2}, {kB1, kB2}, nullptr);
  const std::uint32_t offer = Offer(package);
  const auto model = Model();
  DeviceState device = Device();
  (void)model.Next(device, Woke{});
  Action action =
      model.Next(device, ProbeAnswer{.kind = ProbeAnswer::Kind::kOffer, .offer = offer});
  EXPECT_EQ(StatusOf(action), "downloading");
  EXPECT_EQ(PhaseOf(device.step), Phase::kDownloading);

  // A device on slot 0 installs set B: its two distinct objects, each from byte 0.
  std::vector<std::string> downloaded;
  action = model.Next(device, ReportSent{});
  while (const auto* download = std::get_if<Download>(&action)) {
    EXPECT_EQ(download->offset, 0u);
    downloaded.push_back(download->object->sha256);
    const std::string& bytes =
        download->object->sha256 == Sha256Hex(kB1.bytes) ? kB1.bytes : kB2.bytes;
    action = model.Next(device, Deliver(device, *download, bytes));
  }
  EXPECT_EQ(downloaded, (std::vector{Sha256Hex(kB1.bytes), Sha256Hex(kB2.bytes)}));
  EXPECT_EQ(StatusOf(action), "downloaded");
  action = model.Next(device, ReportSent{});
  EXPECT_EQ(StatusOf(action), "installing");
  EXPECT_EQ(PhaseOf(device.step), Phase::kInstalling);
  action = model.Next(device, ReportSent{});
  EXPECT_EQ(StatusOf(action), "installed");
  action = model.Next(device, ReportSent{});
  EXPECT_EQ(StatusOf(action), "rebooting");
  EXPECT_EQ(PhaseOf(device.step), Phase::kRebooting);
  EXPECT_EQ(device.version, start_) << "the version changes with the reboot";

  // The reboot: the new version on the other slot, and a probe at once to tell the server.
  action = model.Next(device, ReportSent{});
  EXPECT_TRUE(std::holds_alternative<Probe>(action));
  EXPECT_EQ(versions_.Name(device.version), "2.0");
  EXPECT_EQ(device.slot, 1);
  EXPECT_FALSE(device.announced);
  EXPECT_EQ(device.step, Step::kRebootProbing);
  action = model.Next(device, ProbeAnswer{.kind = ProbeAnswer::Kind::kNoUpdate});
  EXPECT_TRUE(std::holds_alternative<Wait>(action));
  EXPECT_TRUE(device.announced);
  EXPECT_FALSE(device.failed);

  // Offered the same package again (a server that missed the version): not installed twice.
  action = model.Next(device, ProbeAnswer{.kind = ProbeAnswer::Kind::kOffer, .offer = offer});
  EXPECT_TRUE(std::holds_alternative<Wait>(action));
}

// One installation set: installed over the running system like the agent does, without a
// reboot or a slot switch, and a probe at once tells the server the new version.
TEST_F(DeviceModelTest, ASingleSetInstallsInPlaceWithoutReboot) {
  const auto package = MakePackage("2.1", {kA1}, {}, nullptr);
  const std::uint32_t offer = Offer(package);
  const auto model = Model();
  DeviceState device = Device();
  (void)model.Next(device, Woke{});
  Action action =
      model.Next(device, ProbeAnswer{.kind = ProbeAnswer::Kind::kOffer, .offer = offer});
  EXPECT_EQ(StatusOf(action), "downloading");
  action = model.Next(device, ReportSent{});
  while (const auto* download = std::get_if<Download>(&action)) {
    action = model.Next(device, Deliver(device, *download, kA1.bytes));
  }
  EXPECT_EQ(StatusOf(action), "downloaded");
  action = model.Next(device, ReportSent{});
  EXPECT_EQ(StatusOf(action), "installing");
  action = model.Next(device, ReportSent{});
  EXPECT_EQ(StatusOf(action), "installed");
  action = model.Next(device, ReportSent{});
  EXPECT_TRUE(std::holds_alternative<Probe>(action)) << "no rebooting report";
  EXPECT_EQ(versions_.Name(device.version), "2.1");
  EXPECT_EQ(device.slot, 0) << "the active slot stays";
  EXPECT_EQ(device.step, Step::kRebootProbing);
  action = model.Next(device, ProbeAnswer{.kind = ProbeAnswer::Kind::kNoUpdate});
  EXPECT_TRUE(std::holds_alternative<Wait>(action));
  EXPECT_TRUE(device.announced);
  EXPECT_FALSE(device.failed);
}

TEST_F(DeviceModelTest, TheInstallSetFollowsTheActiveSlot) {
  const auto two_sets = MakePackage("2.0", {kA1}, {kB1}, nullptr);
  const auto shared = MakePackage("2.2", {kA1, kB2}, {kB1, kB2}, nullptr);
  const auto one_set = MakePackage("2.1", {kA1}, {}, nullptr);
  const auto model = Model();
  DeviceState device = Device();
  device.offer = Offer(two_sets);
  EXPECT_EQ(model.ObjectsOf(device).at(0).sha256, Sha256Hex(kB1.bytes)) << "slot 0 installs B";
  device.slot = 1;
  EXPECT_EQ(model.ObjectsOf(device).at(0).sha256, Sha256Hex(kA1.bytes)) << "slot 1 installs A";
  device.offer = Offer(one_set);
  for (std::uint8_t slot : {0, 1}) {
    device.slot = slot;
    EXPECT_EQ(model.ObjectsOf(device).at(0).sha256, Sha256Hex(kA1.bytes)) << "single set";
  }
  EXPECT_NE(model.ObjectsOf(device).at(0).target.find("/objects/" + Sha256Hex(kA1.bytes)),
            std::string::npos);
  device.offer = Offer(shared);
  device.slot = 0;
  ASSERT_EQ(model.ObjectsOf(device).size(), 2u);
  EXPECT_EQ(model.ObjectsOf(device).at(1).sha256, Sha256Hex(kB2.bytes)) << "shared by both sets";
}

// Drives a device from the offer to the end of its update; returns the report statuses, with
// the previous-state of an error report in brackets.
std::vector<std::string> RunUpdate(const DeviceModel& model, DeviceState& device,
                                   std::uint32_t offer, const std::string& bytes) {
  std::vector<std::string> reports;
  Action action =
      model.Next(device, ProbeAnswer{.kind = ProbeAnswer::Kind::kOffer, .offer = offer});
  for (int guard = 0; guard < 50; ++guard) {
    if (const auto* report = std::get_if<Report>(&action)) {
      reports.push_back(report->status);
      if (report->status == "error") {
        reports.back() += "(" + report->previous_state + ")";
        EXPECT_FALSE(report->error_message.empty());
      }
      action = model.Next(device, ReportSent{});
    } else if (const auto* download = std::get_if<Download>(&action)) {
      ObjectReceiver receiver(device, *download->object);
      HttpResponse head;
      head.status = 200;
      EXPECT_TRUE(receiver.OnHead(head).has_value());
      EXPECT_TRUE(receiver.OnBody(bytes).has_value());
      auto complete = receiver.Finish();
      action = model.Next(device, complete ? TransferEnded{}
                                           : TransferEnded{.kind = TransferEnded::Kind::kRefused,
                                                           .error = complete.error().message()});
    } else {
      break;
    }
  }
  return reports;
}

TEST_F(DeviceModelTest, PlannedFailuresReportAnErrorAndKeepTheOldVersion) {
  const std::uint32_t offer = Offer(MakePackage("2.0", {kB1}, {kB1}, nullptr));
  const auto model = Model();

  DeviceState install = Device(1);
  install.planned = PlannedFailure::kInstall;
  EXPECT_EQ(
      RunUpdate(model, install, offer, kB1.bytes),
      (std::vector<std::string>{"downloading", "downloaded", "installing", "error(installing)"}));
  EXPECT_TRUE(install.failed);
  EXPECT_EQ(install.version, start_);
  EXPECT_EQ(install.step, Step::kWaiting);

  DeviceState validation = Device(2);
  validation.planned = PlannedFailure::kValidation;
  EXPECT_EQ(RunUpdate(model, validation, offer, kB1.bytes),
            (std::vector<std::string>{"downloading", "downloaded", "installing", "installed",
                                      "rebooting", "error(rebooting)"}));
  EXPECT_TRUE(validation.failed);
  EXPECT_EQ(validation.version, start_) << "rolled back";
  EXPECT_EQ(validation.slot, 0);

  DeviceState fine = Device(3);
  EXPECT_EQ(RunUpdate(model, fine, offer, kB1.bytes),
            (std::vector<std::string>{"downloading", "downloaded", "installing", "installed",
                                      "rebooting"}));
  EXPECT_FALSE(fine.failed);
}

// A server's retry: the failed device is offered the package again. Until that attempt ends it
// is updating, not failed (a fleet run until every device ends must wait for it).
TEST_F(DeviceModelTest, AFailedDeviceOfferedAgainIsUpdatingUntilItEnds) {
  const std::uint32_t offer = Offer(MakePackage("2.0", {kB1}, {kB1}, nullptr));
  const auto model = Model();
  DeviceState device = Device(1);
  device.planned = PlannedFailure::kInstall;
  RunUpdate(model, device, offer, kB1.bytes);
  ASSERT_TRUE(device.failed);
  EXPECT_EQ(OutcomeOf(device, start_), Outcome::kFailed);
  const Action first =
      model.Next(device, ProbeAnswer{.kind = ProbeAnswer::Kind::kOffer, .offer = offer});
  EXPECT_EQ(StatusOf(first), "downloading");
  EXPECT_FALSE(device.failed);
  EXPECT_EQ(OutcomeOf(device, start_), Outcome::kUpdating);
  // It fails again, as planned, and is failed again.
  EXPECT_EQ(RunUpdate(model, device, offer, kB1.bytes).back(), "error(installing)");
  EXPECT_TRUE(device.failed);
  EXPECT_EQ(OutcomeOf(device, start_), Outcome::kFailed);
}

TEST_F(DeviceModelTest, AWrongObjectOrABadSignatureFailsTheUpdate) {
  const auto package = MakePackage("2.0", {kB1}, {kB1}, &testing::TestKey());
  const std::uint32_t offer = Offer(package);
  DeviceState device = Device();
  EXPECT_EQ(RunUpdate(Model(), device, offer, kB2.bytes + std::string(5000 - 700, 'x')),
            (std::vector<std::string>{"downloading", "error(downloading)"}));
  EXPECT_TRUE(device.failed);

  // Devices holding another key refuse the package at validation.
  VersionTable versions;
  const auto other = package::PrivateKey::Generate(2048);
  ASSERT_TRUE(other.has_value());
  OfferBook strict(
      DeviceProfile{testing::kProduct, "board-a", *package::PublicKey::FromPem(other->PublicPem())},
      versions);
  const auto id = strict.Intern(package.metadata, package.signature);
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(strict.at(*id).problem.has_value());
  EXPECT_NE(strict.at(*id).problem->find("signature"), std::string::npos);
  DeviceModel model({}, strict);
  DeviceState refusing = Device();
  EXPECT_EQ(RunUpdate(model, refusing, *id, kB1.bytes),
            (std::vector<std::string>{"error(validation)"}));

  // ...and so do devices of other hardware, and unsigned packages when a key is held.
  OfferBook other_hardware(DeviceProfile{testing::kProduct, "board-z", std::nullopt}, versions);
  EXPECT_TRUE(other_hardware.at(*other_hardware.Intern(package.metadata, package.signature))
                  .problem.has_value());
  EXPECT_TRUE(strict.at(*strict.Intern(package.metadata, std::nullopt)).problem.has_value());
}

TEST_F(DeviceModelTest, MalformedMetadataIsAProbeErrorNotAnOffer) {
  EXPECT_FALSE(offers_.Intern("{\"product\": 1}", std::nullopt).has_value());
  EXPECT_FALSE(offers_.Intern("not json", std::nullopt).has_value());
}

TEST_F(DeviceModelTest, CutDownloadsResumeAtExactlyTheBytesReceived) {
  const std::uint32_t offer = Offer(MakePackage("2.0", {kB1}, {kB1}, nullptr));
  const auto model = Model({.interrupt_rate = 1.0});
  for (std::uint32_t index = 0; index < 50; ++index) {
    DeviceState device = Device(index);
    Action action =
        model.Next(device, ProbeAnswer{.kind = ProbeAnswer::Kind::kOffer, .offer = offer});
    action = model.Next(device, ReportSent{});
    std::uint64_t expected_offset = 0;
    std::uint64_t taken = 0;
    int cuts = 0;
    while (const auto* download = std::get_if<Download>(&action)) {
      ASSERT_EQ(download->offset, expected_offset);
      ASSERT_EQ(device.offset, expected_offset);
      const std::uint64_t cut_at = device.cut_at;
      if (cut_at != 0) {
        EXPECT_GT(cut_at, expected_offset);
        EXPECT_LT(cut_at, kB1.bytes.size());
      }
      ObjectReceiver receiver(device, *download->object);
      HttpResponse head;
      head.status = 206;
      head.headers = {
          {"content-range", "bytes " + std::to_string(download->offset) + "-4999/5000"}};
      ASSERT_TRUE(receiver.OnHead(head).has_value());
      // The server's answer arrives in pieces; the device stops taking at its cut point.
      std::string_view rest = std::string_view(kB1.bytes).substr(download->offset);
      bool more = true;
      while (more && !rest.empty()) {
        auto piece = receiver.OnBody(rest.substr(0, 777));
        ASSERT_TRUE(piece.has_value());
        more = *piece;
        rest.remove_prefix(std::min<std::size_t>(777, rest.size()));
      }
      taken += receiver.accepted();
      if (receiver.cut()) {
        ++cuts;
        EXPECT_EQ(device.offset, cut_at);
        expected_offset = cut_at;
        action = model.Next(device, TransferEnded{.kind = TransferEnded::Kind::kCut, .error = ""});
      } else {
        ASSERT_TRUE(receiver.Finish().has_value());
        action = model.Next(device, TransferEnded{});
      }
    }
    EXPECT_GE(cuts, 1);
    EXPECT_EQ(taken, kB1.bytes.size()) << "no byte twice, none missing";
    EXPECT_EQ(StatusOf(action), "downloaded");
  }
}

TEST_F(DeviceModelTest, FailedTransfersAreRetriedThenReported) {
  const std::uint32_t offer = Offer(MakePackage("2.0", {kB1}, {kB1}, nullptr));
  const auto model = Model({.poll_interval = milliseconds(10'000),
                            .retry_base = milliseconds(100),
                            .transfer_attempts = 3});
  DeviceState device = Device();
  (void)model.Next(device, ProbeAnswer{.kind = ProbeAnswer::Kind::kOffer, .offer = offer});
  Action action = model.Next(device, ReportSent{});
  ASSERT_TRUE(std::holds_alternative<Download>(action));
  device.offset = 1234;  // what arrived before the connection broke
  const TransferEnded broken{.kind = TransferEnded::Kind::kTransportError, .error = "reset"};
  action = model.Next(device, broken);
  EXPECT_TRUE(std::holds_alternative<Wait>(action));
  EXPECT_EQ(device.step, Step::kDownloadBackoff);
  action = model.Next(device, Woke{});
  ASSERT_TRUE(std::holds_alternative<Download>(action));
  EXPECT_EQ(std::get<Download>(action).offset, 1234u) << "resumed, not restarted";
  (void)model.Next(device, broken);
  (void)model.Next(device, Woke{});
  action = model.Next(device, broken);
  EXPECT_EQ(StatusOf(action), "error");
  EXPECT_EQ(std::get<Report>(action).previous_state, "downloading");
  EXPECT_NE(std::get<Report>(action).error_message.find("reset"), std::string::npos);
}

TEST(PlanFailuresTest, ExactShareDeterministicFromTheSeed) {
  const auto plan = PlanFailures(42, 10'000, 0.05);
  EXPECT_EQ(plan, PlanFailures(42, 10'000, 0.05)) << "the same seed, the same devices";
  EXPECT_NE(plan, PlanFailures(43, 10'000, 0.05));
  std::size_t install = 0, validation = 0;
  for (const auto kind : plan) {
    install += kind == PlannedFailure::kInstall ? 1 : 0;
    validation += kind == PlannedFailure::kValidation ? 1 : 0;
  }
  EXPECT_EQ(install + validation, 500u);
  EXPECT_GT(install, 200u);
  EXPECT_GT(validation, 200u);
  // Spread over the fleet, not the first indexes.
  std::size_t upper_half = 0;
  for (std::size_t i = 5000; i < plan.size(); ++i) upper_half += plan[i] != PlannedFailure::kNone;
  EXPECT_GT(upper_half, 180u);
  EXPECT_LT(upper_half, 320u);

  const auto none = PlanFailures(1, 7, 0.0);
  EXPECT_EQ(std::count(none.begin(), none.end(), PlannedFailure::kNone), 7);
  const auto all = PlanFailures(1, 7, 1.0);
  EXPECT_EQ(std::count(all.begin(), all.end(), PlannedFailure::kNone), 0);
}

}  // namespace
}  // namespace uh::sim
