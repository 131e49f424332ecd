#pragma once

// target-mode and target-uid/target-gid of copy objects, resolved before anything is written.

#include <sys/types.h>

#include <optional>

#include "core/error.hpp"
#include "package/metadata.hpp"

namespace uh::agent {

struct FilePermissions {
  std::optional<mode_t> mode;  // target-mode
  std::optional<uid_t> uid;    // target-uid
  std::optional<gid_t> gid;    // target-gid
};

// Parses target-mode (octal) and resolves user and group names on this system (numbers, and
// strings of digits, are taken as ids). An unknown name is kInvalidArgument.
[[nodiscard]] Expected<FilePermissions> PermissionsOf(const package::Object& object);

}  // namespace uh::agent
