#include "agent/daemon/update_state.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/hash.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

UpdateState Sample() {
  UpdateState state;
  state.phase = UpdatePhase::kInstalling;
  state.metadata = R"({"product": "x", "version": "1.0"})";
  state.package_uid = Sha256Hex(state.metadata);
  state.signature = "c2ln";
  state.remote = true;
  state.target_slot = 1;
  state.previous_slot = 0;
  state.installed_while_downloading = {std::string(64, 'a'), std::string(64, 'b')};
  state.plan = DeliveryPlan(
      {{std::string(64, 'a'), Delivery::kPipe}, {std::string(64, 'c'), Delivery::kIntoTarget}});
  return state;
}

Expected<LoadedUpdateState> Load(const std::filesystem::path& path) {
  return LoadUpdateState(path, [](std::string_view metadata) { return Sha256Hex(metadata); });
}

TEST(UpdateState, RoundTripsAndClears) {
  uh::testing::TempDir dir;
  const auto path = dir / "state" / "state.json";
  auto none = Load(path);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->state);
  ASSERT_TRUE(SaveUpdateState(path, Sample()));
  auto loaded = Load(path);
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_TRUE(loaded->state);
  EXPECT_EQ(loaded->state->phase, UpdatePhase::kInstalling);
  EXPECT_EQ(loaded->state->metadata, Sample().metadata);
  EXPECT_EQ(loaded->state->target_slot, 1);
  EXPECT_EQ(loaded->state->installed_while_downloading, Sample().installed_while_downloading);
  EXPECT_EQ(loaded->state->plan, Sample().plan);
  ASSERT_TRUE(ClearUpdateState(path));
  EXPECT_FALSE(Load(path)->state);
  EXPECT_TRUE(ClearUpdateState(path));
}

TEST(UpdateState, CorruptOrTamperedFilesAreMovedAside) {
  uh::testing::TempDir dir;
  const auto path = dir / "state.json";
  ASSERT_TRUE(SaveUpdateState(path, Sample()));
  std::string text = uh::testing::ReadFile(path);
  const std::vector<std::string> bad = {
      "", "garbage", text.substr(0, text.size() / 2), R"({"phase": "flying"})",
      // The metadata changed after the fact: it no longer hashes to the package uid.
      std::string(text).replace(text.find("1.0"), 3, "6.6"),
      // Objects installed while downloading: a list of sha256 or nothing.
      std::string(text).replace(text.find(std::string(64, 'b')), 64, "../../etc/passwd"),
      std::string(text).replace(text.find("\"piped\":["), 9, "\"piped\":7,\"x\":["),
      // The plan: a list of sha256 and a delivery this agent knows.
      std::string(text).replace(text.find("\"into_target\""), 13, "\"stream\""),
      std::string(text).replace(text.find("\"plan\":["), 8, "\"plan\":7,\"y\":[")};
  for (const auto& content : bad) {
    uh::testing::WriteFile(path, content);
    auto loaded = Load(path);
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_FALSE(loaded->state) << content;
    EXPECT_TRUE(loaded->warning) << content;
    EXPECT_TRUE(std::filesystem::exists(dir / "state.json.old"));
    EXPECT_FALSE(std::filesystem::exists(path));
  }
}

// A state saved by an agent that had no delivery plans loads without one (the daemon derives it
// from the config as that agent did: DaemonUpdateTest.AnOldStateFileWithoutAPlan...).
TEST(UpdateState, AnOldFileWithoutAPlanLoads) {
  uh::testing::TempDir dir;
  const auto path = dir / "state.json";
  const std::string metadata = R"({"product": "x", "version": "1.0"})";
  uh::testing::WriteFile(path, nlohmann::json{{"phase", "downloading"},
                                              {"package_uid", Sha256Hex(metadata)},
                                              {"metadata", metadata},
                                              {"signature", ""},
                                              {"remote", true},
                                              {"target_slot", 1},
                                              {"previous_slot", 0},
                                              {"boot_id", ""},
                                              {"piped", {std::string(64, 'a')}},
                                              {"package_file", ""}}
                                   .dump());
  auto loaded = Load(path);
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_TRUE(loaded->state);
  EXPECT_FALSE(loaded->warning);
  EXPECT_EQ(loaded->state->plan, std::nullopt);
  EXPECT_EQ(loaded->state->installed_while_downloading, std::vector{std::string(64, 'a')});
}

// The daemon asks its worker for the hash: when the worker cannot answer, the saved update is
// not thrown away for that (its objects are verified again before they are installed).
TEST(UpdateState, KeptWhenItsUidCannotBeChecked) {
  uh::testing::TempDir dir;
  const auto path = dir / "state.json";
  UpdateState state = Sample();
  state.package_uid = std::string(64, 'a');
  ASSERT_TRUE(SaveUpdateState(path, state));
  EXPECT_FALSE(Load(path)->state);  // checked: moved aside
  ASSERT_TRUE(SaveUpdateState(path, state));
  auto kept = LoadUpdateState(path, [](std::string_view) { return std::nullopt; });
  ASSERT_TRUE(kept) << kept.error().message();
  ASSERT_TRUE(kept->state);
  EXPECT_EQ(kept->state->package_uid, state.package_uid);
}

// Found by fuzz/probe_reply_fuzz (fuzz/regressions/daemon-signature-not-utf8.reply): a
// signature header that is not UTF-8 made saving the update throw, and the agent crash at every
// start. Now it is an error, and nothing is written.
TEST(UpdateState, TextThatIsNotUtf8IsAnErrorNotACrash) {
  uh::testing::TempDir dir;
  const auto path = dir / "state.json";
  UpdateState state = Sample();
  state.signature = std::string("\xff\xfe", 2);
  auto saved = SaveUpdateState(path, state);
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code(), Errc::kMalformed);
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace uh::agent
