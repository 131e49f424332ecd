#include <iostream>

#include "tools/pkg/commands.hpp"

namespace uh::tools {

int ReportError(const Error& error) {
  std::cerr << "updatehub-pkg: error: " << error.message() << "\n";
  switch (error.code()) {
    case Errc::kMalformed:
    case Errc::kIntegrity:
    case Errc::kTooLarge:
      return kExitMalformed;
    case Errc::kSignature:
      return kExitSignature;
    default:
      return kExitError;
  }
}

}  // namespace uh::tools
