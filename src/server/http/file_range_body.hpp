#pragma once

// A Beast body that sends [offset, offset + length) of an open file with pread, one bounded
// chunk at a time, so a response of any size costs one buffer of memory. A file that shrinks
// while being sent fails the write (the announced Content-Length can no longer be honoured).

#include <unistd.h>

#include <algorithm>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <utility>

#include "core/fs.hpp"

namespace uh::server::http {

struct FileRangeBody {
  struct value_type {
    File file;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };

  static std::uint64_t size(const value_type& body) { return body.length; }

  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;

    template <bool isRequest, class Fields>
    writer(const boost::beast::http::header<isRequest, Fields>& /*header*/, const value_type& body)
        : body_(body) {}

    void init(boost::beast::error_code& ec) {
      buffer_size_ = static_cast<std::size_t>(std::min<std::uint64_t>(body_.length, kIoBufferSize));
      buffer_ = std::make_unique<char[]>(std::max<std::size_t>(buffer_size_, 1));
      ec = {};
    }

    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec) {
      const std::uint64_t remaining = body_.length - sent_;
      if (remaining == 0) {
        ec = {};
        return boost::none;
      }
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buffer_size_));
      ssize_t n = 0;
      do {
        n = ::pread(body_.file.fd(), buffer_.get(), want, static_cast<off_t>(body_.offset + sent_));
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        ec = boost::beast::error_code(errno, boost::system::system_category());
        return boost::none;
      }
      if (n == 0) {  // the file is shorter than when the response was built
        ec = boost::beast::error_code(EIO, boost::system::system_category());
        return boost::none;
      }
      sent_ += static_cast<std::uint64_t>(n);
      ec = {};
      return std::pair{const_buffers_type(buffer_.get(), static_cast<std::size_t>(n)),
                       sent_ < body_.length};
    }

   private:
    const value_type& body_;
    std::uint64_t sent_ = 0;
    std::size_t buffer_size_ = 0;
    std::unique_ptr<char[]> buffer_;
  };
};

}  // namespace uh::server::http
