#pragma once

// updatehub-sim's command line: options to FleetOptions, the run, the summary, the exit status.

#include <ostream>

namespace uh::tools {

inline constexpr int kSimGoalMet = 0;  // the goal was met (or a run without goal ended cleanly)
inline constexpr int kSimGoalMissed = 1;
inline constexpr int kSimUsage = 2;  // the command line was not understood

// Progress lines go to stderr; the summary to `out` (text, or JSON with --json).
[[nodiscard]] int RunSimCli(int argc, const char* const* argv, std::ostream& out,
                            std::ostream& err);

}  // namespace uh::tools
