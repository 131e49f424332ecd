#include "agent/daemon/run_daemon.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "agent/api/local_api.hpp"
#include "agent/api/log_buffer.hpp"
#include "agent/backend/worker_backend.hpp"
#include "agent/daemon/daemon.hpp"
#include "core/log.hpp"

namespace uh::agent {

int RunDaemon(const std::filesystem::path& config_file, const std::string& log_level) {
  if (auto logging = SetupLogging(log_level); !logging) {
    spdlog::error("{}", logging.error().message());
    return 1;
  }
  auto log = std::make_shared<LogBuffer>();
  InstallLogBuffer(log);
  auto loaded = LoadConfig(config_file);
  if (!loaded) {
    spdlog::error("{}", loaded.error().message());
    return 1;
  }
  for (const auto& warning : loaded->warnings) spdlog::warn("{}", warning);

  // Signals are taken by a thread of their own (sigwait), never by a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // The update's heavy work runs in updatehub-worker processes: this one stays small.
  auto worker = FindWorkerProgram();
  if (!worker) {
    spdlog::error("{}", worker.error().message());
    return 1;
  }
  DaemonOptions options;
  options.backend = MakeWorkerBackend({.program = *worker});
  options.recent_log = [log] { return log->RecentText(16 * 1024); };
  auto daemon = Daemon::Create(loaded->config, std::move(options));
  if (!daemon) {
    spdlog::error("{}", daemon.error().message());
    return 1;
  }
  auto api = LocalApiServer::Start(loaded->config.network.listen_socket, **daemon, *log);
  if (!api) {
    spdlog::error("local API on {}: {}", loaded->config.network.listen_socket,
                  api.error().message());
    return 1;
  }
  spdlog::info("updatehub agent: server {}, local API on port {}",
               loaded->config.network.server_address, (*api)->port());
  std::thread waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    spdlog::info("signal {}: stopping", signal);
    (*daemon)->Stop();
  });
  (*daemon)->Run();
  (*api)->Stop();
  // Run returned on its own only if stopped; make sure the waiter ends too.
  ::kill(::getpid(), SIGTERM);
  waiter.join();
  return 0;
}

}  // namespace uh::agent
