#include "core/error.hpp"

#include <cerrno>
#include <cstring>

namespace uh {

std::string_view ErrcName(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return "invalid-argument";
    case Errc::kMalformed:
      return "malformed";
    case Errc::kSignature:
      return "signature";
    case Errc::kIntegrity:
      return "integrity";
    case Errc::kNotFound:
      return "not-found";
    case Errc::kAlreadyExists:
      return "already-exists";
    case Errc::kTooLarge:
      return "too-large";
    case Errc::kNoSpace:
      return "no-space";
    case Errc::kUnsupported:
      return "unsupported";
    case Errc::kIo:
      return "io";
    case Errc::kTimeout:
      return "timeout";
    case Errc::kCancelled:
      return "cancelled";
    case Errc::kForbidden:
      return "forbidden";
    case Errc::kInternal:
      return "internal";
  }
  return "unknown";
}

Error Error::WithContext(std::string_view context) const& {
  return Error(code_, std::string(context) + ": " + message_);
}

Error Error::WithContext(std::string_view context) && {
  message_.insert(0, std::string(context) + ": ");
  return std::move(*this);
}

std::unexpected<Error> FailErrno(std::string_view what) {
  const int err = errno;
  Errc code = Errc::kIo;
  if (err == ENOENT) code = Errc::kNotFound;
  if (err == EEXIST) code = Errc::kAlreadyExists;
  if (err == ENOSPC) code = Errc::kNoSpace;
  return Fail(code, std::string(what) + ": " + std::strerror(err));
}

}  // namespace uh
