// Object download with resume. The bytes already in the destination are trusted only as far as
// the final hash: they are hashed first, the server is asked for exactly the rest
// ("Range: bytes=N-", not upstream's N-1), and the whole file must hash to the object's sha256.
// Servers answer that range in three ways, told apart from the reply's head before a byte is
// written (protocol::ObjectBodyOffset): 206 with the rest, appended; 200 with the whole object,
// written again from the start; 200 with exactly the rest and no Content-Range (updatehub-ce),
// appended.
// A streamed object goes into part of an existing target (a slot) instead of a file of its own;
// its resume point is the progress record kept beside it, not the target's size.

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "agent/client/file_writer.hpp"
#include "agent/client/operations.hpp"
#include "protocol/replies.hpp"
#include "protocol/url.hpp"

namespace uh::agent::detail {
namespace {

// Before a streamed object's transfer is resumed within the call.
constexpr std::chrono::milliseconds kStreamResumeDelay{500};

bool Aborted(const DownloadControl& control) {
  return control.abort != nullptr && control.abort->load();
}

// The progress record of a streamed object: "<sha256> <offset> <bytes>". A record of another
// object or offset, a torn or edited file, or a count past the object's size counts as nothing
// there: the download starts over, which is always safe.
std::uint64_t ReadStreamProgress(const ObjectDownload& d) {
  auto text = ReadFileLimited(d.stream->progress_file, 256);
  if (!text) return 0;
  std::string_view rest = *text;
  std::vector<std::string_view> fields;
  while (!rest.empty()) {
    const auto end = rest.find_first_of(" \n");
    if (end != 0) fields.push_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  if (fields.size() != 3 || fields[0] != d.sha256) return 0;
  const auto offset = protocol::ParseDecimal(fields[1]);
  const auto bytes = protocol::ParseDecimal(fields[2]);
  if (!offset || *offset != d.stream->offset || !bytes || *bytes > d.size) return 0;
  return *bytes;
}

Expected<void> WriteStreamProgress(const ObjectDownload& d, std::uint64_t bytes) {
  return WriteFileAtomic(
      d.stream->progress_file,
      d.sha256 + " " + std::to_string(d.stream->offset) + " " + std::to_string(bytes) + "\n");
}

// The destination: a file of its own (created when missing), or the existing target of a
// streamed object, never created nor truncated.
Expected<File> OpenDestination(const ObjectDownload& d) {
  if (!d.stream) return OpenReadWrite(d.dest, false);
  const int fd = ::open(d.dest.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return FailErrno("open " + d.dest.string());
  return File(fd);
}

// The consumer end of a streamed object. written() is the position in the object of the next
// byte the server sends; after a resume answered with the whole object (200), the bytes already
// handed over are dropped until that position is back where it was. Bytes are hashed and handed
// over in blocks of kIoBufferSize.
class ConsumerWriter {
 public:
  ConsumerWriter(const Client::ObjectConsumer& consume, std::uint64_t total,
                 const DownloadControl& control)
      : consume_(consume), total_(total), control_(control) {
    buffer_.reserve(kIoBufferSize);
  }

  [[nodiscard]] std::uint64_t written() const { return position_; }
  [[nodiscard]] bool consumer_failed() const { return consumer_error_.has_value(); }

  Expected<void> Write(std::string_view data) {
    const auto known = handed_ + buffer_.size();
    if (position_ < known) {
      const auto drop =
          static_cast<std::size_t>(std::min<std::uint64_t>(known - position_, data.size()));
      position_ += drop;
      data.remove_prefix(drop);
    }
    if (data.empty()) return {};
    hasher_.Update(data);
    position_ += data.size();
    if (buffer_.size() + data.size() > kIoBufferSize) UH_TRY(Flush());
    buffer_.append(data);
    if (control_.progress && position_ - reported_ >= 64 * 1024) {
      reported_ = position_;
      control_.progress(position_, total_);
    }
    return {};
  }

  Expected<void> Flush() {
    if (consumer_error_) return std::unexpected(*consumer_error_);
    if (buffer_.empty()) return {};
    auto done = consume_(std::as_bytes(std::span(buffer_.data(), buffer_.size())));
    handed_ += buffer_.size();
    buffer_.clear();
    if (!done) consumer_error_ = done.error();
    return done;
  }

  // The server sent the whole object again: what it sends first was handed over already.
  Expected<void> Restart() {
    position_ = 0;
    return {};
  }

  [[nodiscard]] std::string HexDigest() { return hasher_.HexDigest(); }

 private:
  const Client::ObjectConsumer& consume_;
  std::uint64_t total_;
  const DownloadControl& control_;
  Sha256 hasher_;
  std::string buffer_;
  std::uint64_t handed_ = 0;    // bytes given to the consumer
  std::uint64_t position_ = 0;  // see written()
  std::uint64_t reported_ = 0;
  std::optional<Error> consumer_error_;
};

// Checks the reply against the resume point and the object's size, then writes its body.
template <typename Writer>
class ObjectSink final : public ResponseSink {
 public:
  ObjectSink(Writer& writer, std::uint64_t size) : writer_(writer), size_(size) {}

  // The transfer's deadline. With `options`, a reply that restarts the object from its first
  // byte gets a new deadline for the whole object (the first one covered only the rest).
  void set_deadline(std::optional<TransferDeadline> deadline,
                    const ClientOptions* options = nullptr) {
    deadline_ = std::move(deadline);
    rearm_options_ = options;
  }
  [[nodiscard]] const TransferDeadline* deadline() const override {
    return deadline_ ? &*deadline_ : nullptr;
  }

  // Called after every `step` bytes of body.
  void set_checkpoint(std::uint64_t step, std::function<Expected<void>()> checkpoint) {
    step_ = std::max<std::uint64_t>(step, 1);
    checkpoint_ = std::move(checkpoint);
    checkpointed_ = writer_.written();
  }

  Expected<void> OnHead(const ResponseHead& head) override {
    if (head.status == 200 || head.status == 206) {
      auto offset =
          protocol::ObjectBodyOffset(head.status, size_, writer_.written(),
                                     head.Header("content-range"), head.Header("content-length"));
      if (!offset) return std::unexpected(std::move(offset).error());
      if (*offset == writer_.written()) {
        if (head.status == 200 && *offset > 0) {
          spdlog::info("the server sent only the {} bytes from byte {} (200): appending them",
                       size_ - *offset, *offset);
        }
        return {};
      }
      spdlog::info("the server sent the whole object instead of a range: starting over");
      restarted_ = true;
      if (deadline_ && rearm_options_ != nullptr) {
        deadline_ = DownloadDeadline(*rearm_options_, size_);
      }
      return writer_.Restart();
    }
    if (head.status == 416) {
      // What is on disk is not a prefix of the server's object: it must go.
      return Fail(Errc::kIntegrity, "the server refused to resume from byte " +
                                        std::to_string(writer_.written()) + " (416)");
    }
    unwanted_.Begin(head.status);
    return {};
  }

  Expected<void> OnBody(std::string_view data) override {
    if (unwanted_.active()) return unwanted_.Add(data);
    if (data.size() > size_ - writer_.written()) {
      return Fail(Errc::kIntegrity,
                  "the server sent more than the object's " + std::to_string(size_) + " bytes");
    }
    UH_TRY(writer_.Write(data));
    if (checkpoint_ && writer_.written() - checkpointed_ >= step_) {
      checkpointed_ = writer_.written();
      return checkpoint_();
    }
    return {};
  }

  [[nodiscard]] std::optional<Error> unwanted() const { return unwanted_.error(); }
  // The reply to a range was taken for the whole object, written from the start.
  [[nodiscard]] bool restarted() const { return restarted_; }

 private:
  Writer& writer_;
  std::uint64_t size_;
  UnwantedReply unwanted_;
  std::function<Expected<void>()> checkpoint_;
  std::uint64_t step_ = 0;
  std::uint64_t checkpointed_ = 0;
  bool restarted_ = false;
  std::optional<TransferDeadline> deadline_;
  const ClientOptions* rearm_options_ = nullptr;
};

// The GET of an object from byte `start`: no whole-request limit (objects can be large; the
// sink holds a deadline reckoned from the object's size instead).
HttpRequest ObjectRequest(const std::string& url, std::uint64_t start,
                          const DownloadControl& control) {
  HttpRequest request;
  request.url = url;
  if (start > 0) request.range_start = start;
  request.whole_request_timeout = false;
  request.abort = control.abort;
  return request;
}

// Writes all of `bytes` at byte `offset` of the file (its own offset unchanged).
Expected<void> WriteAllAt(File& file, std::span<const std::byte> bytes, std::uint64_t offset) {
  while (!bytes.empty()) {
    const auto n = ::pwrite(file.fd(), bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno("write");
    if (n == 0) return Fail(Errc::kNoSpace, "no room left to write");
    bytes = bytes.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

// The existing file or device an object is copied into as it downloads (never created nor
// truncated).
Expected<File> OpenCopy(const ObjectDownload& d) {
  const int fd = ::open(d.copy->path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return FailErrno("open " + d.copy->path.string());
  return File(fd);
}

// Hashes the first `length` bytes of the file, leaving its offset after them; with `copy`, also
// writes them there from byte `copy_offset` on.
Expected<Sha256> HashPrefix(File& file, std::uint64_t length, File* copy = nullptr,
                            std::uint64_t copy_offset = 0) {
  Sha256 hasher;
  std::vector<std::byte> buffer(kIoBufferSize);
  std::uint64_t done = 0;
  while (done < length) {
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - done));
    auto got = file.Read(std::span(buffer.data(), want));
    if (!got) return std::unexpected(std::move(got).error());
    if (*got == 0) return Fail(Errc::kIo, "the file shrank while being read");
    hasher.Update(std::span<const std::byte>(buffer.data(), *got));
    if (copy != nullptr) {
      UH_TRY(
          WriteAllAt(*copy, std::span<const std::byte>(buffer.data(), *got), copy_offset + done));
    }
    done += *got;
  }
  return hasher;
}

Expected<void> Truncate(File& file, std::uint64_t length) {
  if (::ftruncate(file.fd(), static_cast<off_t>(length)) != 0) return FailErrno("truncate");
  if (::lseek(file.fd(), static_cast<off_t>(length), SEEK_SET) < 0) return FailErrno("seek");
  return {};
}

Expected<void> Download(CurlSession& session, const std::string& url, const ObjectDownload& d,
                        const DownloadControl& control) {
  if (d.stream && d.copy) {
    return Fail(Errc::kInvalidArgument, "an object streamed into a target has no copy");
  }
  auto file = OpenDestination(d);
  if (!file) return std::unexpected(std::move(file).error());
  std::optional<File> copy;
  if (d.copy) {
    auto opened = OpenCopy(d);
    if (!opened) return std::unexpected(std::move(opened).error());
    copy = std::move(*opened);
  }
  File* const copy_file = copy ? &*copy : nullptr;
  const std::uint64_t copy_offset = d.copy ? d.copy->offset : 0;
  const std::uint64_t base = d.stream ? d.stream->offset : 0;
  std::uint64_t start = 0;
  if (d.stream) {
    start = ReadStreamProgress(d);
    if (::lseek(file->fd(), static_cast<off_t>(base), SEEK_SET) < 0) {
      return FailErrno("seek " + d.dest.string());
    }
  } else {
    struct stat st {};
    if (::fstat(file->fd(), &st) != 0) return FailErrno("stat " + d.dest.string());
    start = static_cast<std::uint64_t>(st.st_size);
    if (start > d.size) start = 0;  // not a prefix of this object
  }

  // What a resume keeps goes into the copy again (it may hold anything after a restart).
  auto hasher = HashPrefix(*file, start, copy_file, copy_offset);
  if (!hasher && d.stream && start > 0) {
    // The target is shorter than its record says (replaced since?): start over.
    spdlog::info("{}: cannot read back the {} bytes recorded ({}): streaming it again",
                 d.dest.string(), start, hasher.error().message());
    start = 0;
    hasher = Sha256();
  }
  if (!hasher) return std::unexpected(std::move(hasher).error());
  if (start == d.size) {
    // Already complete (an earlier call was interrupted after the transfer).
    if (hasher->HexDigest() == d.sha256) {
      if (copy) UH_TRY(copy->Sync());
      if (control.progress) control.progress(d.size, d.size);
      return {};
    }
    spdlog::info("{} is complete but does not match its hash: downloading it again",
                 d.dest.string());
    start = 0;
    hasher = Sha256();
  }
  if (d.stream) {
    if (::lseek(file->fd(), static_cast<off_t>(base + start), SEEK_SET) < 0) {
      return FailErrno("seek " + d.dest.string());
    }
  } else {
    UH_TRY(Truncate(*file, start));
    UH_TRY(CheckFreeSpace(DirectoryOf(d.dest), d.size - start));
    if (copy) {
      // The rest's blocks reserved now, past the file's end (its size stays what arrived, which
      // a resume reads): unwritten extents, which the sync of the copy does not have to wait for
      // on a journalling file system that orders data before metadata. A hint: where it cannot
      // be done nothing changes.
      (void)::fallocate(file->fd(), FALLOC_FL_KEEP_SIZE, static_cast<off_t>(start),
                        static_cast<off_t>(d.size - start));
    }
  }

  FileWriter writer(*file, std::move(*hasher), start, d.size, control);
  if (d.stream) writer.set_base(base);
  if (copy) writer.set_copy(*copy, copy_offset);
  writer.ReportProgress(true);
  ObjectSink<FileWriter> sink(writer, d.size);
  // What is synced is recorded: a resume after a power cut trusts the record, not the target.
  const auto keep = [&]() -> Expected<void> {
    UH_TRY(writer.Flush());
    UH_TRY(file->Sync());
    if (d.stream) UH_TRY(WriteStreamProgress(d, writer.written()));
    return {};
  };
  if (d.stream) sink.set_checkpoint(d.stream->checkpoint_bytes, keep);
  // Reckoned from the bytes still to fetch: a resumed download is not charged for earlier ones.
  sink.set_deadline(DownloadDeadline(session.options(), d.size - start), &session.options());
  auto head = session.Perform(ObjectRequest(url, start, control), sink);

  // Whatever arrived stays (synced, as a crash must not leave a longer file of zeroes behind, and
  // recorded for a streamed object), so that the next call resumes after it. A whole object with
  // a copy is done once the copy is synced: the file is hashed before any later use, so a crash
  // that damages it costs a download, never a wrong install.
  const bool whole = head && !sink.unwanted() && writer.written() == d.size;
  const auto keep_copy = [&]() -> Expected<void> {
    UH_TRY(writer.Flush());
    return copy->Sync();
  };
  auto kept = whole && copy ? keep_copy() : keep();
  if (auto refused = sink.unwanted()) return std::unexpected(std::move(*refused));
  if (!head) return std::unexpected(std::move(head).error());
  if (!kept) return kept;
  if (writer.written() != d.size && sink.restarted()) {
    // A complete reply to the range (chunked, so taken for the whole object) that is shorter
    // than the object: not the object but something else, updatehub-ce's rest for one. What it
    // left is no prefix to resume from; the next attempt asks for the whole object.
    return Fail(Errc::kIntegrity, "the server answered the range with " +
                                      std::to_string(writer.written()) + " bytes of an object of " +
                                      std::to_string(d.size));
  }
  if (writer.written() != d.size) {
    return Fail(Errc::kIo, "the transfer ended after " + std::to_string(writer.written()) + " of " +
                               std::to_string(d.size) + " bytes");
  }
  UH_TRY(file->Close());
  if (copy) UH_TRY(copy->Close());
  if (const std::string digest = writer.HexDigest(); digest != d.sha256) {
    return Fail(Errc::kIntegrity, "the downloaded object hashes to " + digest);
  }
  writer.ReportProgress(true);
  return {};
}

// Waits `delay` unless the download is aborted first; false when it is.
bool PauseUnlessAborted(const DownloadControl& control, std::chrono::milliseconds delay) {
  const auto until = std::chrono::steady_clock::now() + delay;
  while (std::chrono::steady_clock::now() < until) {
    if (Aborted(control)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !Aborted(control);
}

Expected<void> Stream(CurlSession& session, const std::string& url, const ObjectDownload& d,
                      const Client::ObjectConsumer& consume, const DownloadControl& control) {
  ConsumerWriter writer(consume, d.size, control);
  // One deadline for the whole call, resumes included: nothing outlives it (the next call starts
  // from byte 0), and a server that keeps trickling and cutting cannot hold the install forever.
  const auto deadline = DownloadDeadline(session.options(), d.size);
  int fruitless = 0;  // resumes in a row that brought nothing
  for (;;) {
    const auto before = writer.written();
    ObjectSink<ConsumerWriter> sink(writer, d.size);
    sink.set_deadline(deadline);
    auto head = session.Perform(ObjectRequest(url, before, control), sink);
    auto flushed = writer.Flush();
    if (auto refused = sink.unwanted()) return std::unexpected(std::move(*refused));
    if (writer.consumer_failed()) return flushed;
    if (head && !flushed) return flushed;
    if (head) break;
    // Everything arrived before the connection failed: there is nothing left to ask for.
    if (writer.written() == d.size) break;
    const auto code = head.error().code();
    if (writer.written() > before) fruitless = 0;
    const bool past_deadline = deadline && std::chrono::steady_clock::now() >= deadline->at;
    if ((code != Errc::kIo && code != Errc::kTimeout) || past_deadline || writer.written() == 0 ||
        fruitless >= Client::kStreamResumes) {
      return std::unexpected(std::move(head).error());
    }
    ++fruitless;
    spdlog::warn("{} after {} of {} bytes; resuming", head.error().message(), writer.written(),
                 d.size);
    if (!PauseUnlessAborted(control, kStreamResumeDelay)) return Fail(Errc::kCancelled, "aborted");
  }
  if (writer.written() != d.size) {
    return Fail(Errc::kIo, "the transfer ended after " + std::to_string(writer.written()) + " of " +
                               std::to_string(d.size) + " bytes");
  }
  if (const std::string digest = writer.HexDigest(); digest != d.sha256) {
    return Fail(Errc::kIntegrity, "the downloaded object hashes to " + digest);
  }
  if (control.progress) control.progress(d.size, d.size);
  return {};
}

}  // namespace

Expected<void> RunStreamObject(CurlSession& session, const ObjectDownload& download,
                               const Client::ObjectConsumer& consume,
                               const DownloadControl& control) {
  const std::string context = "streaming object " + download.sha256.substr(0, 64);
  auto path = protocol::ObjectPath(download.product_uid, download.package_uid, download.sha256);
  if (!path) return std::unexpected(std::move(path).error().WithContext(context));
  if (Aborted(control)) return Fail(Errc::kCancelled, context + ": aborted");
  auto done = Stream(session, protocol::JoinUrl(session.options().server_url, *path), download,
                     consume, control);
  if (!done) return std::unexpected(std::move(done).error().WithContext(context));
  return {};
}

Expected<void> RunDownloadObject(CurlSession& session, const ObjectDownload& download,
                                 const DownloadControl& control) {
  const std::string context = "downloading object " + download.sha256.substr(0, 64);
  auto path = protocol::ObjectPath(download.product_uid, download.package_uid, download.sha256);
  if (!path) return std::unexpected(std::move(path).error().WithContext(context));
  if (Aborted(control)) return Fail(Errc::kCancelled, context + ": aborted");

  auto done =
      Download(session, protocol::JoinUrl(session.options().server_url, *path), download, control);
  if (!done) {
    // A file that cannot become the object is useless for a resume.
    // (For a streamed object that is its progress record; the target itself stays.)
    if (done.error().code() == Errc::kIntegrity) {
      std::error_code ignored;
      std::filesystem::remove(download.stream ? download.stream->progress_file : download.dest,
                              ignored);
    }
    return std::unexpected(std::move(done).error().WithContext(context));
  }
  return {};
}

}  // namespace uh::agent::detail
