#include "agent/daemon/request_channel.hpp"

#include <utility>

namespace uh::agent {

void RequestChannel::Enter(StateId state) {
  std::lock_guard lock(mutex_);
  state_ = state;
  request_taken_ = false;  // the request (if any) moved the daemon on
}

bool RequestChannel::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void RequestChannel::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  abort_download_ = true;
  wake_.notify_all();
}

std::optional<DaemonRequest> RequestChannel::WaitForRequest(
    std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::unique_lock lock(mutex_);
  const auto ready = [this] { return stopping_ || request_.has_value(); };
  if (deadline) {
    wake_.wait_until(lock, *deadline, ready);
  } else {
    wake_.wait(lock, ready);
  }
  if (stopping_) return std::nullopt;
  if (request_) request_taken_ = true;
  return std::exchange(request_, std::nullopt);
}

bool RequestChannel::WaitBeforeDownloadRetry(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [this] { return stopping_ || abort_download_.load(); });
}

void RequestChannel::FinishProbe(ProbeOutcome outcome) {
  std::lock_guard lock(mutex_);
  if (!probe_waiting_ || probe_outcome_) return;
  probe_outcome_ = std::move(outcome);
  wake_.notify_all();
}

void RequestChannel::StartDownload() {
  abort_download_ = false;
  downloading_ = true;
}

bool RequestChannel::AcceptsRequest() const {
  const StateId now = state_.load();
  return (now == StateId::kPoll || now == StateId::kPark) && !request_ && !request_taken_;
}

ProbeOutcome RequestChannel::AskProbe(std::optional<std::string> custom_server,
                                      std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  const StateId now = state_.load();
  if (!AcceptsRequest() || probe_waiting_) return ProbeOutcome::Busy(std::string(NameOf(now)));
  request_ = DaemonRequest{DaemonRequest::Kind::kProbe, custom_server.value_or("")};
  probe_waiting_ = true;
  probe_outcome_.reset();
  wake_.notify_all();
  wake_.wait_for(lock, wait, [this] { return probe_outcome_.has_value() || stopping_; });
  probe_waiting_ = false;
  if (!probe_outcome_) return ProbeOutcome::Failed("no answer in time");
  return *std::exchange(probe_outcome_, std::nullopt);
}

InstallOutcome RequestChannel::AskInstall(DaemonRequest request) {
  std::lock_guard lock(mutex_);
  const std::string now(NameOf(state_.load()));
  if (!AcceptsRequest()) return InstallOutcome::Busy(now);
  request_ = std::move(request);
  wake_.notify_all();
  return InstallOutcome::Accepted(now);
}

bool RequestChannel::AbortDownload() {
  if (!downloading_.load()) return false;
  {
    std::lock_guard lock(mutex_);
    abort_download_ = true;
  }
  wake_.notify_all();
  return true;
}

}  // namespace uh::agent
