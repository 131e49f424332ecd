// A whole package by URL (remote_install): streamed to a file within a size limit. Without a
// hash to check a resumed file against, nothing is resumed.

#include <filesystem>
#include <utility>

#include "agent/client/file_writer.hpp"
#include "agent/client/operations.hpp"
#include "protocol/replies.hpp"
#include "protocol/url.hpp"

namespace uh::agent::detail {
namespace {

class UrlSink final : public ResponseSink {
 public:
  // Until the reply says how large the package is, the deadline is reckoned from `max_size`.
  UrlSink(FileWriter& writer, std::filesystem::path directory, std::uint64_t max_size,
          const ClientOptions& options)
      : writer_(writer),
        directory_(std::move(directory)),
        max_size_(max_size),
        options_(options),
        deadline_(DownloadDeadline(options, max_size)) {}

  [[nodiscard]] const TransferDeadline* deadline() const override {
    return deadline_ ? &*deadline_ : nullptr;
  }

  Expected<void> OnHead(const ResponseHead& head) override {
    if (head.status != 200) {
      unwanted_.Begin(head.status);
      return {};
    }
    const auto value = head.Header("content-length");
    if (!value) return {};  // chunked: the limit is enforced as the body comes
    const auto length = protocol::ParseDecimal(*value);
    if (!length) return Fail(Errc::kMalformed, "invalid Content-Length");
    if (*length > max_size_) return TooLarge();
    UH_TRY(CheckFreeSpace(directory_, *length));
    writer_.set_total(*length);
    if (deadline_) deadline_ = DownloadDeadline(options_, *length);
    return {};
  }

  Expected<void> OnBody(std::string_view data) override {
    if (unwanted_.active()) return unwanted_.Add(data);
    if (data.size() > max_size_ - writer_.written()) return TooLarge();
    return writer_.Write(data);
  }

  [[nodiscard]] std::optional<Error> unwanted() const { return unwanted_.error(); }

 private:
  [[nodiscard]] std::unexpected<Error> TooLarge() const {
    return Fail(Errc::kTooLarge,
                "larger than the limit of " + std::to_string(max_size_) + " bytes");
  }

  FileWriter& writer_;
  std::filesystem::path directory_;
  std::uint64_t max_size_;
  const ClientOptions& options_;
  std::optional<TransferDeadline> deadline_;
  UnwantedReply unwanted_;
};

Expected<void> Download(CurlSession& session, const std::string& url,
                        const std::filesystem::path& dest, const DownloadControl& control,
                        std::uint64_t max_size) {
  auto file = OpenReadWrite(dest, true);
  if (!file) return std::unexpected(std::move(file).error());
  FileWriter writer(*file, Sha256(), 0, 0, control);
  UrlSink sink(writer, DirectoryOf(dest), max_size, session.options());
  HttpRequest request;
  request.url = url;
  request.api_headers = false;  // any web server, not necessarily an UpdateHub one
  request.whole_request_timeout = false;
  request.abort = control.abort;
  auto head = session.Perform(request, sink);
  if (auto refused = sink.unwanted()) return std::unexpected(std::move(*refused));
  if (!head) return std::unexpected(std::move(head).error());
  UH_TRY(writer.Flush());
  UH_TRY(file->Sync());
  UH_TRY(file->Close());
  writer.ReportProgress(true);
  return {};
}

}  // namespace

Expected<void> RunDownloadUrl(CurlSession& session, const std::string& url,
                              const std::filesystem::path& dest, const DownloadControl& control,
                              std::uint64_t max_size) {
  const std::string context = "downloading " + protocol::Excerpt(url, 200);
  if (!protocol::IsHttpUrl(url)) {
    return Fail(Errc::kInvalidArgument, context + ": not an http or https url");
  }
  if (control.abort != nullptr && control.abort->load()) {
    return Fail(Errc::kCancelled, context + ": aborted");
  }
  auto done = Download(session, url, dest, control, max_size);
  if (!done) {
    std::error_code ignored;
    std::filesystem::remove(dest, ignored);
    return std::unexpected(std::move(done).error().WithContext(context));
  }
  return {};
}

}  // namespace uh::agent::detail
