#pragma once

// Opening directories inside a mounted target file system as if it were "/": its symlinks must
// resolve inside it (an absolute link /data -> /etc means the target's /etc, not ours).

#include <filesystem>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace uh::agent {

// Opens the directory `relative` under `root`, resolving symlinks with `root` as "/" (openat2
// RESOLVE_IN_ROOT); on kernels without openat2, symlinks on the way are refused instead.
// `create`: missing directories are made (0755).
[[nodiscard]] Expected<File> OpenConfinedDir(const std::filesystem::path& root,
                                             const std::filesystem::path& relative, bool create);

// The real path of an open descriptor (/proc/self/fd), for APIs that only take paths.
[[nodiscard]] Expected<std::filesystem::path> DescriptorPath(const File& file);

}  // namespace uh::agent
