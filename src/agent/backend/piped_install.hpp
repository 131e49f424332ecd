#pragma once

// A piped install (installer.hpp, PipedInstallOf): the object's download feeds its installer
// through a pipe, so that it needs no room in the download directory. The installer runs on a
// thread of its own and reads the pipe as InstallContext::object_fd; the transfer checks the
// object's size and hash as it goes. Success needs both: the installer done and the whole object
// hashed right. The installer only ever writes the inactive slot, so a failure in either leaves
// a slot that is simply not activated.

#include <atomic>

#include "agent/client/client.hpp"
#include "agent/install/installer.hpp"
#include "core/error.hpp"
#include "package/metadata.hpp"

namespace uh::agent {

// Errors: the installer's (context "installing"), when it stopped first; the transfer's
// otherwise (a network failure, kIntegrity, kCancelled through `abort`).
[[nodiscard]] Expected<void> PipedInstall(Client& client, const ObjectDownload& download,
                                          const package::Object& object, InstallContext ctx,
                                          const std::atomic<bool>& abort);

}  // namespace uh::agent
