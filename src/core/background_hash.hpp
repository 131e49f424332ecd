#pragma once

// SHA-256 on a thread of its own, for data that arrives in blocks: the caller hands over a
// block and goes on receiving and writing the next one while this one is hashed, so that on a
// device with two cores hashing costs no time of the transfer. One block is in flight at most:
// memory use is two blocks, whatever the size of the data.

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "core/hash.hpp"

namespace uh {

class BackgroundSha256 {
 public:
  // Goes on from `start` (e.g. the hash of bytes already on disk).
  explicit BackgroundSha256(Sha256 start = Sha256());
  ~BackgroundSha256();
  BackgroundSha256(const BackgroundSha256&) = delete;
  BackgroundSha256& operator=(const BackgroundSha256&) = delete;

  // Hands `block` over to be hashed after everything handed over before it, and returns an
  // empty buffer (with capacity) for the next block. Waits while the previous block is hashed.
  [[nodiscard]] std::string Submit(std::string block);
  // Waits for the block in flight; the digest of everything handed over. Nothing may be handed
  // over afterwards until Reset.
  [[nodiscard]] std::string HexDigest();
  // Drops what was handed over and starts again from `start`.
  void Reset(Sha256 start = Sha256());

 private:
  void Work();
  // Waits until no block is in flight (lock held).
  void WaitIdle(std::unique_lock<std::mutex>& lock);

  std::mutex mutex_;
  std::condition_variable changed_;
  Sha256 hasher_;          // guarded by mutex_, except while the worker hashes `in_flight_`
  std::string in_flight_;  // the block being hashed
  bool busy_ = false;      // in_flight_ is handed over and not hashed yet
  bool stopping_ = false;
  std::string spare_;  // the buffer of the last block hashed, for the caller's next block
  std::thread worker_;
};

}  // namespace uh
