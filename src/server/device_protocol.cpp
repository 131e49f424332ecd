#include "server/device_protocol.hpp"

#include "core/json.hpp"

namespace uh::server {

DeviceProbe ToDeviceProbe(const protocol::ProbeRequest& device, const std::string& seen_at) {
  return {device.product_uid,
          device.CanonicalIdentity(),
          PythonJsonDumps(device.attributes),
          device.hardware,
          device.version,
          seen_at};
}

}  // namespace uh::server
