#pragma once

// Packages for the simulator tests: metadata with one or two installation sets of small raw
// objects, signed with a throwaway key, written as a .uhupkg for a real server.

#include <filesystem>
#include <string>
#include <vector>

#include "package/signature.hpp"

namespace uh::sim::testing {

inline constexpr const char* kProduct =
    "5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f";

struct TestObject {
  std::string filename;
  std::string bytes;
};

struct TestPackage {
  std::string metadata;             // exact bytes
  std::string signature;            // base64, empty when unsigned
  std::string uid;                  // sha256 of the metadata
  std::vector<TestObject> objects;  // every distinct object
};

// Set A (slot 0) holds `set_a`, set B (slot 1) `set_b`; an empty `set_b` makes a single-set
// package. Objects are raw images for /dev/sda2 (A) and /dev/sda3 (B).
[[nodiscard]] TestPackage MakePackage(const std::string& version,
                                      const std::vector<TestObject>& set_a,
                                      const std::vector<TestObject>& set_b,
                                      const package::PrivateKey* key,
                                      const std::string& product = kProduct,
                                      const std::string& hardware = "board-a");

// Writes the package as a .uhupkg file.
void WritePackage(const TestPackage& package, const std::filesystem::path& file);

// A 2048-bit key made once per test program.
[[nodiscard]] const package::PrivateKey& TestKey();

}  // namespace uh::sim::testing
