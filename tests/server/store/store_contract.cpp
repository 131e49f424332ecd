#include "server/store/store_contract.hpp"

#include <algorithm>
#include <cstdio>

namespace uh::server::testing {

std::string Hex64(std::uint64_t n) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(n));
  return std::string(48, '0') + text;
}

Product MakeProduct(std::uint64_t n) {
  return {Hex64(n), "product " + std::to_string(n), "2026-01-01T00:00:00Z", ""};
}

Package MakePackage(const std::string& product_uid, std::uint64_t n) {
  Package package;
  package.uid = Hex64(0x1000 + n);
  package.product_uid = product_uid;
  package.version = "1.0." + std::to_string(n);
  // Metadata is bytes, not text: keep a NUL and invalid UTF-8 in it.
  package.metadata = std::string("{\"version\":\"1.0.") + std::to_string(n) + "\"}";
  package.metadata += std::string("\0\xff\xfe", 3);
  package.signature = "c2lnbmF0dXJl";
  package.supported_hardware = R"(["board-a","board-b"])";
  package.objects = {{Hex64(0x5000 + n), 100 + n}, {Hex64(0xbeef), 4096}};
  package.size = 100 + n + 4096;
  package.key_id = 7;
  package.created_at = "2026-01-02T00:00:00Z";
  return package;
}

DeviceProbe MakeProbe(const std::string& product_uid, const std::string& serial) {
  return {product_uid,
          R"({"serial":")" + serial + R"("})",
          R"({"region":"eu"})",
          "board-a",
          "1.0.0",
          "2026-02-01T00:00:00Z"};
}

Rollout MakeRollout(const std::string& product_uid, const std::string& package_uid) {
  Rollout rollout;
  rollout.product_uid = product_uid;
  rollout.package_uid = package_uid;
  rollout.name = "spring update";
  rollout.selection.hardware = {"board-a", "board-b"};
  rollout.selection.versions = {"1.0.0"};
  rollout.selection.identity = {{"site", "lab"}};
  rollout.selection.attributes = {{"region", "eu"}};
  rollout.stages = {{1.5, 90, 3600, true}, {25, 95, 0, false}, {100, 100, 60, false}};
  rollout.rate_per_hour = 120;
  rollout.start_at = "2026-06-01T02:00:00Z";
  rollout.window = MaintenanceWindow{22 * 60, 4 * 60 + 30};
  rollout.threshold = {12.5, 7, 20};
  rollout.created_at = "2026-05-01T00:00:00Z";
  return rollout;
}

std::vector<RolloutDevice> Members(std::int64_t rollout_id,
                                   const std::vector<std::int64_t>& device_ids) {
  std::vector<RolloutDevice> members;
  for (const std::int64_t id : device_ids) {
    RolloutDevice member;
    member.rollout_id = rollout_id;
    member.device_id = id;
    member.updated_at = "2026-06-01T00:00:00Z";
    members.push_back(member);
  }
  return members;
}

std::int64_t HolderOf(Store& store, std::int64_t device_id) {
  auto member = store.FindRolloutDevice(device_id);
  EXPECT_TRUE(member) << member.error().message();
  return member && *member ? (*member)->rollout_id : 0;
}

// "YYYY-MM-DDTHH:MM:SSZ". (No std::regex: GCC 12 warns falsely inside it under sanitizers.)
bool IsUtcTime(const std::string& time) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:ddZ";
  if (time.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < time.size(); ++i) {
    const bool digit = time[i] >= '0' && time[i] <= '9';
    if (kShape[i] == 'd' ? !digit : time[i] != kShape[i]) return false;
  }
  return true;
}

std::vector<std::pair<std::string, std::uint64_t>> ObjectSet(const Package& p) {
  std::vector<std::pair<std::string, std::uint64_t>> objects;
  for (const PackageObject& object : p.objects) objects.emplace_back(object.sha256, object.size);
  std::sort(objects.begin(), objects.end());
  objects.erase(std::unique(objects.begin(), objects.end()), objects.end());
  return objects;
}

void StoreContractTest::SetUp() {
  harness_ = GetParam().make();
  auto store = harness_->Open();
  ASSERT_TRUE(store) << store.error().message();
  store_ = std::move(*store);
}

void StoreContractTest::Reopen() {
  store_.reset();
  auto store = harness_->Open();
  ASSERT_TRUE(store) << store.error().message();
  store_ = std::move(*store);
}

Product StoreContractTest::AddProduct(std::uint64_t n) {
  auto product = store_->CreateProduct(MakeProduct(n));
  EXPECT_TRUE(product) << product.error().message();
  return product.value_or(Product{});
}

Package StoreContractTest::AddPackage(const std::string& product_uid, std::uint64_t n) {
  Package package = MakePackage(product_uid, n);
  auto inserted = store_->InsertPackage(package);
  EXPECT_TRUE(inserted) << inserted.error().message();
  return package;
}

std::vector<std::int64_t> StoreContractTest::AddDevices(const std::string& product_uid, int count,
                                                        const std::string& prefix) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < count; ++i) {
    auto device = store_->UpsertDevice(MakeProbe(product_uid, prefix + std::to_string(i)));
    EXPECT_TRUE(device) << device.error().message();
    if (device) ids.push_back(device->id);
  }
  return ids;
}

Rollout StoreContractTest::AddRollout(const std::string& product_uid,
                                      const std::string& package_uid, RolloutState state) {
  Rollout rollout = MakeRollout(product_uid, package_uid);
  rollout.state = state;
  auto created = store_->CreateRollout(rollout);
  EXPECT_TRUE(created) << created.error().message();
  return created.value_or(Rollout{});
}

}  // namespace uh::server::testing
