// The delivery plan as a plain function: a mixed package planned with streaming off and on, from
// the server and from a package file, against the real installer table and StreamTargetOf.

#include "agent/daemon/delivery_plan.hpp"

#include <gtest/gtest.h>

#include "agent/install/installer.hpp"

namespace uh::agent {
namespace {

using package::Mode;

package::Object Make(Mode mode, char id, std::string target) {
  package::Object object;
  object.mode = mode;
  object.filename = std::string(1, id) + ".img";
  object.size = 4096;
  object.sha256sum = std::string(64, id);
  object.target = std::move(target);
  object.truncate = false;
  return object;
}

// raw written whole, compressed raw, tarball then copy into one partition, flash, a raw object
// after the flash object on the same device, a copy that asks install-if-different, and two
// objects with the same content.
std::vector<package::Object> MixedSet() {
  auto kernel = Make(Mode::kRaw, '2', "/dev/mmcblk0p1");
  kernel.compressed = true;
  auto checked = Make(Mode::kCopy, '7', "/dev/mmcblk0p4");
  checked.target_path = "/etc/checked";
  checked.install_if_different = package::InstallIfDifferent{};
  auto config = Make(Mode::kCopy, '4', "/dev/mmcblk0p3");
  config.target_path = "/etc/config";
  return {Make(Mode::kRaw, '1', "/dev/mmcblk0p2"),
          kernel,
          Make(Mode::kTarball, '3', "/dev/mmcblk0p3"),
          config,
          Make(Mode::kFlash, '5', "/dev/mtd0"),
          Make(Mode::kRaw, '6', "/dev/mtd0"),
          checked,
          Make(Mode::kRaw, '8', "/dev/mmcblk0p5"),
          Make(Mode::kRaw, '8', "/dev/mmcblk0p6")};
}

DeliveryInputs Inputs(bool stream, ObjectSource source) {
  return {.stream_objects = stream,
          .source = source,
          .in_place = false,
          .fits_into_target = [](const package::Object& object) -> Expected<bool> {
            InstallContext ctx;
            ctx.target_root = "/nonexistent";
            auto target = StreamTargetOf(object, ctx);
            if (!target) return std::unexpected(std::move(target.error()));
            return target->has_value();
          }};
}

std::string Describe(const DeliveryPlan& plan) {
  std::string out;
  for (const auto& entry : plan.entries()) {
    out += entry.sha256.substr(0, 1) + "=" + std::string(DeliveryName(entry.delivery)) + " ";
  }
  return out;
}

// Without streaming every object goes through the download directory; from the server, one
// that fits into its target is written there too as it arrives.
TEST(DeliveryPlan, WithoutStreamingEveryObjectGoesThroughTheDownloadDirectory) {
  EXPECT_EQ(Describe(PlanDelivery(MixedSet(), Inputs(false, ObjectSource::kServer))),
            "1=download_and_target 2=download 3=download 4=download 5=download 6=download "
            "7=download 8=download ");
  const auto expected =
      "1=download 2=download 3=download 4=download 5=download 6=download "
      "7=download 8=download ";
  for (const auto source : {ObjectSource::kPackageFile, ObjectSource::kUnpacked}) {
    EXPECT_EQ(Describe(PlanDelivery(MixedSet(), Inputs(false, source))), expected);
  }
  auto in_place = Inputs(false, ObjectSource::kServer);
  in_place.in_place = true;
  EXPECT_EQ(Describe(PlanDelivery(MixedSet(), in_place)), expected);
}

// Writes into one target keep the package's order: an object is not written into its target
// as it downloads when an object before it with the same target waits for install.
TEST(DeliveryPlan, AnObjectWaitingForInstallHoldsBackTheLaterOnesOfItsTarget) {
  const auto inputs = Inputs(false, ObjectSource::kServer);
  EXPECT_EQ(Describe(PlanDelivery({Make(Mode::kTarball, '2', "/dev/mmcblk0p2"),
                                   Make(Mode::kRaw, '1', "/dev/mmcblk0p2")},
                                  inputs)),
            "2=download 1=download ");
  EXPECT_EQ(Describe(PlanDelivery({Make(Mode::kRaw, '1', "/dev/mmcblk0p2"),
                                   Make(Mode::kTarball, '2', "/dev/mmcblk0p2")},
                                  inputs)),
            "1=download_and_target 2=download ");
}

TEST(DeliveryPlan, FromTheServerEachObjectTravelsAsItsInstallerAllows) {
  EXPECT_EQ(Describe(PlanDelivery(MixedSet(), Inputs(true, ObjectSource::kServer))),
            "1=into_target 2=pipe 3=pipe 4=pipe 5=download 6=download 7=download 8=download ");
}

TEST(DeliveryPlan, FromAPackageFileObjectsArePipedFromIt) {
  EXPECT_EQ(Describe(PlanDelivery(MixedSet(), Inputs(true, ObjectSource::kPackageFile))),
            "1=from_package 2=from_package 3=from_package 4=from_package 5=download 6=download "
            "7=download 8=download ");
}

TEST(DeliveryPlan, NothingIsStreamedFromUnpackedObjectsOrOverTheRunningSystem) {
  const auto all_download =
      "1=download 2=download 3=download 4=download 5=download 6=download "
      "7=download 8=download ";
  EXPECT_EQ(Describe(PlanDelivery(MixedSet(), Inputs(true, ObjectSource::kUnpacked))),
            all_download);
  auto in_place = Inputs(true, ObjectSource::kServer);
  in_place.in_place = true;
  EXPECT_EQ(Describe(PlanDelivery(MixedSet(), in_place)), all_download);
}

// A target that cannot be resolved (CheckRequirements reports it) is not streamed, and holds
// back the objects after it with the same target.
TEST(DeliveryPlan, AnUnresolvableTargetGoesThroughTheDownloadDirectory) {
  auto inputs = Inputs(true, ObjectSource::kServer);
  inputs.fits_into_target = [](const package::Object&) -> Expected<bool> {
    return Fail(Errc::kNotFound, "no such MTD");
  };
  const std::vector objects = {Make(Mode::kRaw, '1', "/dev/mmcblk0p2"),
                               Make(Mode::kTarball, '2', "/dev/mmcblk0p2")};
  EXPECT_EQ(Describe(PlanDelivery(objects, inputs)), "1=download 2=download ");
}

TEST(DeliveryPlan, NamesRoundTrip) {
  for (const auto delivery : {Delivery::kDownload, Delivery::kFromPackage, Delivery::kPipe,
                              Delivery::kIntoTarget, Delivery::kDownloadAndTarget}) {
    EXPECT_EQ(DeliveryNamed(DeliveryName(delivery)), delivery);
  }
  EXPECT_EQ(DeliveryNamed("stream"), std::nullopt);
  const DeliveryPlan plan({{std::string(64, 'a'), Delivery::kPipe}});
  EXPECT_EQ(plan.Of(std::string(64, 'a')), Delivery::kPipe);
  EXPECT_EQ(plan.Of(std::string(64, 'b')), Delivery::kDownload);
}

}  // namespace
}  // namespace uh::agent
