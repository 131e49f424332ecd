#pragma once

// Writing `.uhupkg` files the way uhu does: members stored (not deflated), in the order
// signature, metadata, objects. The file appears at its destination only when complete.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>

#include "core/error.hpp"
#include "core/hash.hpp"

namespace uh::package {

class PackageWriter {
 public:
  [[nodiscard]] static Expected<PackageWriter> Create(const std::filesystem::path& destination);
  PackageWriter(PackageWriter&&) noexcept;
  PackageWriter& operator=(PackageWriter&&) noexcept;
  ~PackageWriter();

  [[nodiscard]] Expected<void> AddMember(std::string_view name, std::string_view data);
  // Starts a member of `size` bytes whose data follows through WriteData calls.
  [[nodiscard]] Expected<void> BeginMember(std::string_view name, std::uint64_t size);
  [[nodiscard]] Expected<void> WriteData(std::span<const std::byte> data);
  // Streams `source` into member `name`; fails if the file does not have `size` bytes.
  [[nodiscard]] Expected<void> AddFileMember(std::string_view name,
                                             const std::filesystem::path& source,
                                             std::uint64_t size, const ProgressFn& progress = {});
  // Completes the ZIP and moves it to its destination.
  [[nodiscard]] Expected<void> Finish();

 private:
  struct State;
  explicit PackageWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace uh::package
