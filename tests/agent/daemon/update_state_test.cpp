#include "agent/daemon/update_state.hpp"

#include <gtest/gtest.h>

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
  state.piped = {std::string(64, 'a'), std::string(64, 'b')};
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
  EXPECT_EQ(loaded->state->piped, Sample().piped);
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
      std::string(text).replace(text.find("\"piped\":["), 9, "\"piped\":7,\"x\":[")};
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
