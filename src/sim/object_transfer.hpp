#pragma once

// One object download reply checked and taken in, the way our agent does it: a resumed request
// asks for exactly the bytes not yet received ("Range: bytes=N-"), a 206 must start there and
// describe the object's size, a 200 of the object's size starts it over, a 200 of exactly the
// remaining size (updatehub-ce's answer to a range) is appended, and the whole object must hash
// to its sha256. The bytes are hashed as they come and dropped: the simulator keeps no files.

#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "sim/device.hpp"
#include "sim/http_client.hpp"

namespace uh::sim {

class ObjectReceiver {
 public:
  // `device` must be downloading `object` (its offset and hash are the bytes so far).
  ObjectReceiver(DeviceState& device, const SimObject& object) : device_(device), object_(object) {}

  // The status and headers. Errors refuse the reply (the update fails).
  [[nodiscard]] Expected<void> OnHead(const HttpResponse& head);
  // Takes a piece of the body. Returns false once the device's cut point is reached: the rest
  // is dropped, as if the connection had gone away there.
  [[nodiscard]] Expected<bool> OnBody(std::string_view data);
  // The reply ended normally: the object must be complete and match its sha256.
  [[nodiscard]] Expected<void> Finish();

  [[nodiscard]] std::uint64_t accepted() const { return accepted_; }  // bytes taken
  [[nodiscard]] bool cut() const { return cut_; }
  [[nodiscard]] bool restarted() const { return restarted_; }  // a 200 answered a range

 private:
  DeviceState& device_;
  const SimObject& object_;
  std::uint64_t accepted_ = 0;
  bool cut_ = false;
  bool restarted_ = false;
};

}  // namespace uh::sim
