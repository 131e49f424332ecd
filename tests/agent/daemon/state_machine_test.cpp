#include "agent/daemon/state_machine.hpp"

#include <gtest/gtest.h>

namespace uh::agent {
namespace {

TEST(StateMachine, TheUpdatePathLeadsFromProbeToReboot) {
  EXPECT_EQ(NextState(StateId::kEntryPoint, Event::kReady), StateId::kPoll);
  EXPECT_EQ(NextState(StateId::kPoll, Event::kProbeNow), StateId::kProbe);
  EXPECT_EQ(NextState(StateId::kProbe, Event::kUpdate), StateId::kValidation);
  EXPECT_EQ(NextState(StateId::kValidation, Event::kValid), StateId::kDownload);
  EXPECT_EQ(NextState(StateId::kDownload, Event::kDownloaded), StateId::kInstall);
  EXPECT_EQ(NextState(StateId::kInstall, Event::kInstalled), StateId::kReboot);
  // A one-set package, installed over the running system: no reboot, back to polling.
  EXPECT_EQ(NextState(StateId::kInstall, Event::kInstalledInPlace), StateId::kPoll);
  EXPECT_EQ(NextState(StateId::kEntryPoint, Event::kFirstBoot), StateId::kValidate);
  EXPECT_EQ(NextState(StateId::kValidate, Event::kValidated), StateId::kProbe);
  EXPECT_EQ(NextState(StateId::kValidate, Event::kRolledBack), StateId::kReboot);
}

TEST(StateMachine, EveryFailureOfTheUpdateGoesToErrorAndErrorToPoll) {
  for (StateId state : {StateId::kValidation, StateId::kDownload, StateId::kInstall,
                        StateId::kReboot, StateId::kValidate, StateId::kEntryPoint}) {
    EXPECT_EQ(NextState(state, Event::kFailed), StateId::kError) << NameOf(state);
  }
  // A failed probe is only a retry.
  EXPECT_EQ(NextState(StateId::kProbe, Event::kFailed), StateId::kPoll);
  EXPECT_EQ(NextState(StateId::kError, Event::kRecovered), StateId::kPoll);
}

TEST(StateMachine, ResumesAfterARestartAtTheRightStep) {
  EXPECT_EQ(NextState(StateId::kEntryPoint, Event::kResumeDownload), StateId::kDownload);
  EXPECT_EQ(NextState(StateId::kEntryPoint, Event::kResumeInstall), StateId::kInstall);
  EXPECT_EQ(NextState(StateId::kEntryPoint, Event::kResumeReboot), StateId::kReboot);
}

TEST(StateMachine, UnknownTransitionsAreAbsentAndOnlyIdleStatesTakeRequests) {
  EXPECT_FALSE(NextState(StateId::kDownload, Event::kNoUpdate));
  EXPECT_FALSE(NextState(StateId::kError, Event::kFailed));
  EXPECT_TRUE(IsIdle(StateId::kPoll));
  EXPECT_TRUE(IsIdle(StateId::kPark));
  EXPECT_FALSE(IsIdle(StateId::kDownload));
  EXPECT_FALSE(IsIdle(StateId::kInstall));
  EXPECT_FALSE(IsIdle(StateId::kReboot));
  EXPECT_EQ(NameOf(StateId::kEntryPoint), "entry_point");
}

}  // namespace
}  // namespace uh::agent
