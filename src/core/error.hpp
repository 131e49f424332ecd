#pragma once

// The one error idiom of the project: functions that can fail return `Expected<T>`, whose error
// is an `Error` with a code (what kind of failure, for callers that branch on it) and a message
// (for people). Context is prepended as the error travels up: "reading pkg.uhupkg: metadata: ...".

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace uh {

enum class Errc {
  kInvalidArgument,  // the caller (user, config, command line) asked for something invalid
  kMalformed,        // untrusted input is not well formed (package, JSON, HTTP body...)
  kSignature,        // a signature is missing, or does not verify
  kIntegrity,        // content does not match its declared size or hash
  kNotFound,
  kAlreadyExists,
  kTooLarge,     // a size limit was exceeded
  kNoSpace,      // not enough room on disk for a declared size
  kUnsupported,  // well formed but not something this build can do
  kIo,           // the operating system said no
  kTimeout,      // a deadline passed (a process, a network transfer)
  kCancelled,    // stopped on request (an aborted download, a cancelling callback)
  kForbidden,    // the caller is known but may not do this
  kInternal,
};

[[nodiscard]] std::string_view ErrcName(Errc code);

class Error {
 public:
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  [[nodiscard]] Errc code() const { return code_; }
  [[nodiscard]] const std::string& message() const { return message_; }

  // Returns the same error with "context: " in front of its message.
  [[nodiscard]] Error WithContext(std::string_view context) const&;
  [[nodiscard]] Error WithContext(std::string_view context) &&;

 private:
  Errc code_;
  std::string message_;
};

template <typename T = void>
using Expected = std::expected<T, Error>;

[[nodiscard]] inline std::unexpected<Error> Fail(Errc code, std::string message) {
  return std::unexpected<Error>(std::in_place, code, std::move(message));
}

// The error of `errno` after a failed system call: "open /x: No such file or directory".
[[nodiscard]] std::unexpected<Error> FailErrno(std::string_view what);

}  // namespace uh

// Propagates the error of an Expected, adding context; otherwise yields nothing.
#define UH_TRY_CTX(expr, context)                                                     \
  do {                                                                                \
    if (auto uh_try_result_ = (expr); !uh_try_result_) {                              \
      return std::unexpected(std::move(uh_try_result_.error()).WithContext(context)); \
    }                                                                                 \
  } while (false)

#define UH_TRY(expr)                                             \
  do {                                                           \
    if (auto uh_try_result_ = (expr); !uh_try_result_) {         \
      return std::unexpected(std::move(uh_try_result_.error())); \
    }                                                            \
  } while (false)
