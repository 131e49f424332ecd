#include "agent/api/install_watch.hpp"

#include <string_view>

namespace uh::agent {
namespace {

struct Transition {
  std::string_view from;
  std::string_view event;
  std::string_view to;
};

// "FROM --EVENT--> TO", as the daemon logs every transition.
std::optional<Transition> ParseTransition(std::string_view message) {
  const auto open = message.find(" --");
  if (open == std::string_view::npos) return std::nullopt;
  const auto close = message.find("--> ", open + 3);
  if (close == std::string_view::npos) return std::nullopt;
  Transition transition{message.substr(0, open), message.substr(open + 3, close - open - 3),
                        message.substr(close + 4)};
  // States are named like "entry_point", events like "polling disabled".
  const auto is_name = [](std::string_view name, std::string_view letters) {
    return !name.empty() && name.find_first_not_of(letters) == name.npos;
  };
  constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyz_";
  constexpr std::string_view kWords = "abcdefghijklmnopqrstuvwxyz_ ";
  if (!is_name(transition.from, kLetters) || !is_name(transition.event, kWords) ||
      !is_name(transition.to, kLetters)) {
    return std::nullopt;
  }
  return transition;
}

bool IsIdle(std::string_view state) { return state == "poll" || state == "park"; }

}  // namespace

void InstallWatch::Decide(Verdict verdict, std::string detail, bool done) {
  verdict_ = verdict;
  detail_ = std::move(detail);
  done_ = done;
}

std::optional<std::string> InstallWatch::Read(const nlohmann::json& entry) {
  if (done_ || !entry.is_object()) return std::nullopt;
  const auto it = entry.find("message");
  if (it == entry.end() || !it->is_string()) return std::nullopt;
  const std::string_view message = it->get_ref<const std::string&>();

  constexpr std::string_view kFailed = "update failed: ";
  if (message.starts_with(kFailed)) {
    Decide(Verdict::kFailed, std::string(message.substr(kFailed.size())), true);
    return std::nullopt;
  }
  const auto transition = ParseTransition(message);
  if (!transition) return std::nullopt;
  state_ = transition->to;
  if (transition->to == "error") {
    // The reason follows, in the error state's "update failed: ..." entry.
    Decide(Verdict::kFailed, "failed in state " + std::string(transition->from), false);
    return std::nullopt;
  }
  if (verdict_ == Verdict::kFailed) {  // left the error state without saying why
    done_ = true;
    return std::nullopt;
  }
  if (transition->event == "cancelled") {
    Decide(Verdict::kFailed,
           "cancelled in state " + std::string(transition->from) +
               " (by the state-change-callback, or the download was aborted)",
           true);
    return std::nullopt;
  }
  if (transition->event == "already applied") {
    Decide(Verdict::kInstalled, "already installed", true);
    return std::nullopt;
  }
  if (transition->to == "reboot") {
    Decide(Verdict::kInstalled, "installed; the device reboots into it", true);
    return std::nullopt;
  }
  if (transition->from == "install" && IsIdle(transition->to)) {
    Decide(Verdict::kInstalled, "installed", true);
    return std::nullopt;
  }
  if (transition->to == "validation") return "Validating the package";
  if (transition->to == "download") return "Package valid; getting its objects";
  if (transition->to == "install") return "Installing";
  return std::nullopt;
}

}  // namespace uh::agent
