#pragma once

// The update context: the one thing the daemon's states share. It is what the update is doing
// (the offer, the persisted update state, the server it came from, the failure carried to the
// error state); what the device is and has lives in the Environment (environment.hpp).

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/daemon/delivery_plan.hpp"
#include "agent/daemon/state_machine.hpp"
#include "agent/daemon/update_state.hpp"
#include "core/error.hpp"
#include "package/metadata.hpp"

namespace uh::agent {

// The package being handled by validation, download, install.
struct Offer {
  std::string metadata;
  std::string signature;
  bool remote = true;
  package::Metadata parsed;
  std::string package_uid;  // sha256 of metadata
  // A package read in place (UpdateState::package_file); empty otherwise.
  std::string package_file{};
};

// A state's failure on its way to the error state. What an "error" report says of it is derived
// from `state` (FailedStepOf), in Environment::ReportFailure.
struct Failure {
  uh::Error error;
  StateId state = StateId::kError;  // the state whose step failed
};

struct UpdateContext {
  // The offer being handled; from a probe, a local API install, or the saved update state.
  std::optional<Offer> offer;
  // The update in progress, as persisted (storage.state_file) from validation on.
  std::optional<UpdateState> update;
  // The server of the update in progress (its reports go there): the one probed last; empty
  // after a restart, when the configured server is used.
  std::string server;
  // Set by the run loop when a state fails; taken up (and cleared) by the error state.
  std::optional<Failure> failure;
  // The objects (sha256) whose bytes this run of the agent saw hash right where they are now
  // (downloaded, streamed into their target, extracted or checked): the install does not hash
  // them a second time. Never saved: after a restart (a power cut may have damaged what was
  // written) every object is hashed again before it is installed or its slot activated.
  std::set<std::string> verified;

  // The update is over (installed, cancelled, failed, validated): offer, update and what was
  // verified of it go.
  void EndUpdate();
  // The objects of the offer's set for the target slot.
  [[nodiscard]] const std::vector<package::Object>& ObjectsForSlot() const;
  // Whether the offer is installed over the running system instead of into the inactive slot.
  // The one rule for it: a package with one installation set has no set per slot, so it holds
  // no system of its own to boot (typically application files): no slot switch, no reboot. A
  // package with two sets installs the inactive slot's set and switches to it.
  [[nodiscard]] bool InPlace() const;
  // How `object` travels in the update in progress: its saved plan.
  [[nodiscard]] Delivery DeliveryOf(const package::Object& object) const;
  // Whether the update in progress installed `object` while downloading it.
  [[nodiscard]] bool InstalledWhileDownloading(const package::Object& object) const;
};

// The offer an update state saved (the package it is about), from its metadata as parsed.
[[nodiscard]] Offer OfferOf(const UpdateState& update, package::Metadata parsed);

// The distinct objects of a set (two objects may share content).
[[nodiscard]] std::vector<const package::Object*> Distinct(
    const std::vector<package::Object>& objects);

}  // namespace uh::agent
