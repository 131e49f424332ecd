#pragma once

// A piped install (installer.hpp, PipedInstallOf): the object's download feeds its installer
// through a pipe, so that it needs no room in the download directory. The installer runs on a
// thread of its own and reads the pipe as InstallContext::object_fd; the transfer checks the
// object's size and hash as it goes. Success needs both: the installer done and the whole object
// hashed right. The installer only ever writes the inactive slot, so a failure in either leaves
// a slot that is simply not activated.

#include <atomic>
#include <functional>

#include "agent/client/client.hpp"
#include "agent/install/installer.hpp"
#include "core/error.hpp"
#include "package/metadata.hpp"

namespace uh::agent {

// Hands the object's bytes, in order, to `consume`, and fails unless they were the object's
// exact bytes (size and sha256): a download (Client::StreamObject), or a package member
// (PackageReader::ReadObject).
using ObjectFeed = std::function<Expected<void>(const Client::ObjectConsumer& consume)>;

// Errors: the installer's (context "installing"), when it stopped first; the feed's otherwise
// (a network failure, kIntegrity, kCancelled through `abort`).
[[nodiscard]] Expected<void> PipedInstall(const ObjectFeed& feed, const package::Object& object,
                                          InstallContext ctx, const std::atomic<bool>& abort);

// The feed of a download through `client`, stopped by `abort`.
[[nodiscard]] ObjectFeed DownloadFeed(Client& client, const ObjectDownload& download,
                                      const std::atomic<bool>& abort);

}  // namespace uh::agent
