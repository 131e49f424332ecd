#include "server/store/sqlite/pool.hpp"

#include <algorithm>

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

void ConnectionPool::WriteInGroup(PendingWrite& write) {
  std::unique_lock lock(queue_mutex_);
  queue_.push_back(&write);
  queue_changed_.wait(lock, [&] { return write.done || !leading_; });
  if (write.done) return;
  // Nobody leads: this thread writes groups until its own write is done (it is in the first,
  // unless more than kMaxGroup were waiting before it), then lets a waiting thread lead.
  leading_ = true;
  while (!write.done) {
    const std::size_t size = std::min(queue_.size(), kMaxGroup);
    std::vector<PendingWrite*> group(queue_.begin(), queue_.begin() + static_cast<long>(size));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(size));
    lock.unlock();
    WriteGroup(group);
    lock.lock();
    for (PendingWrite* done : group) done->done = true;
    queue_changed_.notify_all();
  }
  leading_ = false;
  queue_changed_.notify_all();
}

void ConnectionPool::WriteGroup(const std::vector<PendingWrite*>& group) {
  SqliteStoreMetrics().commits.fetch_add(1, std::memory_order_relaxed);
  // Sets `error` on the writes from `first` on that have no outcome of their own yet.
  auto fail_from = [&](std::size_t first, const Error& error) {
    for (std::size_t i = first; i < group.size(); ++i) {
      if (!group[i]->exception) group[i]->error = error;
    }
  };
  std::optional<Transaction> transaction;
  auto begin = [&]() -> Expected<void> {
    transaction.reset();
    auto begun = Transaction::Begin(*writer_, Transaction::Mode::kWrite);
    if (!begun) return std::unexpected(std::move(begun.error()));
    transaction.emplace(std::move(*begun));
    return {};
  };
  if (auto begun = begin(); !begun) return fail_from(0, begun.error());
  std::vector<PendingWrite*> written;  // succeeded in the transaction now open
  auto lose_written = [&](const Error& error) {
    for (PendingWrite* write : written) write->error = error;
    written.clear();
  };
  for (std::size_t i = 0; i < group.size(); ++i) {
    PendingWrite& write = *group[i];
    if (auto savepoint = writer_->Exec("SAVEPOINT uh_write"); !savepoint) {
      write.error = savepoint.error();
      continue;
    }
    bool succeeded = false;
    try {
      succeeded = write.run(*writer_);
    } catch (...) {
      write.exception = std::current_exception();
    }
    if (!writer_->InTransaction()) {
      // Some errors (I/O, disk full, out of memory) roll the whole transaction back: the
      // writes before this one in the group are gone with it. The rest get a new one.
      lose_written(
          Error(Errc::kIo, "sqlite: a failed write in the same transaction rolled it back"));
      if (succeeded && !write.exception) {
        write.error = Error(Errc::kIo, "sqlite: the transaction was rolled back");
      }
      if (auto begun = begin(); !begun) return fail_from(i + 1, begun.error());
      continue;
    }
    if (succeeded) {
      if (auto released = writer_->Exec("RELEASE uh_write"); !released) {
        write.error = released.error();
        lose_written(released.error());
        return;  // the transaction rolls back as it goes away
      }
      written.push_back(&write);
    } else if (auto undone = writer_->Exec("ROLLBACK TO uh_write; RELEASE uh_write"); !undone) {
      // Its changes could not be undone alone: nothing of the group is committed.
      lose_written(undone.error());
      fail_from(i + 1, undone.error());
      return;
    }
  }
  if (auto committed = transaction->Commit(); !committed) lose_written(committed.error());
}

}  // namespace uh::server::sqlite
