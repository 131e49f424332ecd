#include "agent/backend/piped_install.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <optional>
#include <thread>
#include <utility>

#include "core/fs.hpp"

namespace uh::agent {
namespace {

// Reads the pipe to its end, dropping what comes: whatever the installer left unread (a count
// below the object's size, bytes after an archive's end, the rest after a failure), so that the
// transfer never blocks on a full pipe nor writes into a closed one.
void Drain(int fd) {
  std::array<char, 64 * 1024> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
  }
}

}  // namespace

ObjectFeed DownloadFeed(Client& client, const ObjectDownload& download,
                        const std::atomic<bool>& abort) {
  return [&client, download, &abort](const Client::ObjectConsumer& consume) {
    DownloadControl control;
    control.abort = &abort;
    return client.StreamObject(download, consume, control);
  };
}

Expected<void> PipedInstall(const ObjectFeed& feed, const package::Object& object,
                            InstallContext ctx, const std::atomic<bool>& abort) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return FailErrno("creating the installer's pipe");
  File read_end(fds[0]);
  File write_end(fds[1]);
  ctx.object_fd = read_end.fd();
  ctx.cancelled = [&abort, outer = std::move(ctx.cancelled)] {
    return abort.load() || (outer && outer());
  };

  std::optional<Expected<void>> installed;  // written by the installer thread before `finished`
  std::atomic<bool> finished{false};
  std::thread installer([&] {
    auto result = Install(object, ctx);
    installed = std::move(result);
    finished.store(true, std::memory_order_release);
    Drain(read_end.fd());
  });

  bool refused = false;  // the transfer stopped because the installer had failed
  const Client::ObjectConsumer consume = [&](std::span<const std::byte> bytes) -> Expected<void> {
    if (finished.load(std::memory_order_acquire) && !*installed) {
      refused = true;
      return Fail(Errc::kCancelled, "the installer stopped");
    }
    return write_end.WriteAll(bytes);
  };
  auto fetched = feed(consume);
  (void)write_end.Close();  // the installer's end of input
  installer.join();

  if (refused || (fetched && !*installed)) {
    return std::unexpected(installed->error().WithContext("installing"));
  }
  return fetched;
}

}  // namespace uh::agent
