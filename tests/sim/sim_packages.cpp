#include "sim_packages.hpp"

#include <set>
#include <stdexcept>

#include "core/hash.hpp"
#include "package/metadata.hpp"
#include "package/package_writer.hpp"

namespace uh::sim::testing {
namespace {

template <typename T>
T Must(Expected<T> value) {
  if (!value) throw std::runtime_error(value.error().message());
  return std::move(*value);
}

void Must(Expected<void> value) {
  if (!value) throw std::runtime_error(value.error().message());
}

std::vector<package::Object> RawObjects(const std::vector<TestObject>& objects,
                                        const std::string& target) {
  std::vector<package::Object> out;
  for (const auto& item : objects) {
    package::Object object;
    object.mode = package::Mode::kRaw;
    object.filename = item.filename;
    object.size = item.bytes.size();
    object.sha256sum = Sha256Hex(item.bytes);
    object.target_type = package::TargetType::kDevice;
    object.target = target;
    out.push_back(std::move(object));
  }
  return out;
}

}  // namespace

TestPackage MakePackage(const std::string& version, const std::vector<TestObject>& set_a,
                        const std::vector<TestObject>& set_b, const package::PrivateKey* key,
                        const std::string& product, const std::string& hardware) {
  package::Metadata metadata;
  metadata.product = product;
  metadata.version = version;
  metadata.supported_hardware = std::vector<std::string>{hardware};
  metadata.sets.push_back(RawObjects(set_a, "/dev/sda2"));
  if (!set_b.empty()) metadata.sets.push_back(RawObjects(set_b, "/dev/sda3"));
  TestPackage out;
  out.metadata = package::SerializeMetadata(metadata);
  Must(package::ParseMetadata(out.metadata));  // a test must not build what devices refuse
  out.uid = Sha256Hex(out.metadata);
  if (key != nullptr) out.signature = Must(key->SignBase64(out.metadata));
  std::set<std::string> seen;
  for (const auto* set : {&set_a, &set_b}) {
    for (const auto& object : *set) {
      if (seen.insert(Sha256Hex(object.bytes)).second) out.objects.push_back(object);
    }
  }
  return out;
}

void WritePackage(const TestPackage& package, const std::filesystem::path& file) {
  auto writer = Must(package::PackageWriter::Create(file));
  Must(writer.AddMember("signature", package.signature));
  Must(writer.AddMember("metadata", package.metadata));
  for (const auto& object : package.objects) {
    Must(writer.AddMember(Sha256Hex(object.bytes), object.bytes));
  }
  Must(writer.Finish());
}

const package::PrivateKey& TestKey() {
  static const package::PrivateKey key = Must(package::PrivateKey::Generate(2048));
  return key;
}

}  // namespace uh::sim::testing
