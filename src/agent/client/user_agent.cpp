// Apart from client.cpp, so that the daemon can name its version without linking the client.

#include "agent/client/client.hpp"

namespace uh::agent {

std::string DefaultUserAgent() { return "updatehub/" UH_AGENT_VERSION " Linux"; }

}  // namespace uh::agent
