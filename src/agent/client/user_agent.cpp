// Apart from client.cpp, so that the daemon can name its version without linking the client.

#include "agent/client/client.hpp"
#include "protocol/names.hpp"

namespace uh::agent {

std::string DefaultUserAgent() { return protocol::UserAgent(UH_AGENT_VERSION); }

}  // namespace uh::agent
