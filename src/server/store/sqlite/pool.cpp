#include "server/store/sqlite/pool.hpp"

namespace uh::server::sqlite {

Expected<std::unique_ptr<Connection>> ConnectionPool::AcquireReader() {
  {
    std::lock_guard lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      auto reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return reader;
    }
  }
  // Opened outside the lock: it touches the disk.
  return Connection::Open(path_, Connection::Role::kReader);
}

void ConnectionPool::ReleaseReader(std::unique_ptr<Connection> reader) {
  std::lock_guard lock(readers_mutex_);
  if (idle_readers_.size() < kMaxIdleReaders) idle_readers_.push_back(std::move(reader));
}

}  // namespace uh::server::sqlite
