#pragma once

// A request of the local API, taken by an idle state (park, poll).

#include "agent/daemon/request_channel.hpp"
#include "agent/daemon/states/state.hpp"

namespace uh::agent {

// What the request leads to: a probe (of the server it names, handed to the probe state), or
// an update of the package it names, made the offer (its objects unpacked into the download
// directory, or left in the package file when objects are streamed).
[[nodiscard]] Outcome TakeRequest(Environment& env, UpdateContext& context,
                                  const DaemonRequest& request);

}  // namespace uh::agent
