// The shipped A/B scripts (dist/ab), run as the agent runs them, against fake fw_printenv,
// fw_setenv and grub-editenv: shell scripts over a text file, first on PATH.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "device_test_util.hpp"
#include "support/test_support.hpp"

namespace uh::agent {
namespace {

using test::Ran;
using test::WriteScript;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

const fs::path kDist = UH_DIST_AB_DIR;

// libubootenv's tools over the file $FAKE_UBOOT_ENV (name=value lines). Each fw_setenv call
// appends a line to $FAKE_UBOOT_ENV.writes; $FAKE_UBOOT_ENV.fail makes both tools fail.
constexpr std::string_view kFakeFwPrintenv = R"(env="$FAKE_UBOOT_ENV"
if [ -e "$env.fail" ]; then echo "Cannot read environment, using default" >&2; exit 1; fi
[ $# -eq 0 ] || { echo "fake fw_printenv: only the no-argument form is faked" >&2; exit 1; }
[ -f "$env" ] && cat "$env"
exit 0
)";
constexpr std::string_view kFakeFwSetenv = R"(env="$FAKE_UBOOT_ENV"
if [ -e "$env.fail" ]; then echo "Cannot write environment" >&2; exit 1; fi
echo "$*" >> "$env.writes"
work="$env.work"
if [ -f "$env" ]; then cp "$env" "$work"; else : > "$work"; fi
assign() {
  name=$1; shift
  grep -v "^$name=" "$work" > "$work.2"
  if [ $# -gt 0 ]; then echo "$name=$*" >> "$work.2"; fi
  mv "$work.2" "$work"
}
if [ "$1" = "-s" ]; then
  while read -r name value; do
    case "$name" in ''|\#*) continue ;; esac
    if [ -n "$value" ]; then assign "$name" "$value"; else assign "$name"; fi
  done < "$2"
else
  assign "$@"
fi
mv "$work" "$env"
)";
// grub-editenv FILE list|set NAME=VALUE...|unset NAME..., the file in grubenv's text form.
constexpr std::string_view kFakeGrubEditenv = R"(file=$1; command=$2; shift 2
case "$command" in
  list) [ -f "$file" ] || { echo "grub-editenv: cannot open $file" >&2; exit 1; }
        grep -v '^#' "$file" ;;
  set) [ -f "$file" ] || echo '# GRUB Environment Block' > "$file"
       for kv in "$@"; do
         grep -v "^${kv%%=*}=" "$file" > "$file.new"; echo "$kv" >> "$file.new"
         mv "$file.new" "$file"
       done ;;
  *) echo "fake grub-editenv: $command not faked" >&2; exit 1 ;;
esac
)";

class AbScriptsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteScript(dir_ / "bin" / "fw_printenv", kFakeFwPrintenv);
    WriteScript(dir_ / "bin" / "fw_setenv", kFakeFwSetenv);
    WriteScript(dir_ / "bin" / "grub-editenv", kFakeGrubEditenv);
  }

  // Runs a shipped script with the fakes first on PATH.
  Ran Run(const fs::path& script, std::vector<std::string> args = {},
          std::vector<std::pair<std::string, std::string>> env = {}) const {
    std::vector<std::string> argv = {script.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    // The test's own variables come last: later ones win.
    std::vector<std::pair<std::string, std::string>> all = {
        {"PATH", test::PathWith(dir_ / "bin")},
        {"FAKE_UBOOT_ENV", UbootEnv().string()},
        {"UPDATEHUB_GRUBENV", Grubenv().string()},
        {"UPDATEHUB_AB_ENV", FileEnv().string()}};
    all.insert(all.end(), env.begin(), env.end());
    return test::RunWithEnv(argv, std::move(all));
  }

  [[nodiscard]] fs::path UbootEnv() const { return dir_ / "uboot.env"; }
  [[nodiscard]] fs::path Grubenv() const { return dir_ / "grubenv"; }
  [[nodiscard]] fs::path FileEnv() const { return dir_ / "ab.env"; }
  [[nodiscard]] int UbootWrites() const {
    if (!fs::exists(dir_ / "uboot.env.writes")) return 0;
    const auto text = uh::testing::ReadFile(dir_ / "uboot.env.writes");
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }

  uh::testing::TempDir dir_;
};

TEST_F(AbScriptsTest, EveryScriptIsAnExecutableShScript) {
  for (const char* backend : {"uboot", "grub", "file"}) {
    for (const char* command :
         {"updatehub-active-get", "updatehub-active-set", "updatehub-active-validated"}) {
      const auto path = kDist / backend / command;
      struct stat st {};
      ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
      EXPECT_TRUE(S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR) && (st.st_mode & S_IXOTH)) << path;
      EXPECT_TRUE(uh::testing::ReadFile(path).starts_with("#!/bin/sh\n")) << path;
      const Ran syntax = test::RunWithEnv({"sh", "-n", path.string()}, {});
      EXPECT_EQ(syntax.status, 0) << path << ": " << syntax.err;
    }
  }
}

TEST_F(AbScriptsTest, UBootGetPrintsTheActiveSlot) {
  uh::testing::WriteFile(UbootEnv(), "bootdelay=3\nupdatehub_active=1\n");
  const Ran ran = Run(kDist / "uboot" / "updatehub-active-get");
  EXPECT_EQ(ran.status, 0) << ran.err;
  EXPECT_EQ(ran.out, "1\n");
}

TEST_F(AbScriptsTest, UBootGetFailsRatherThanGuess) {
  uh::testing::WriteFile(UbootEnv(), "bootdelay=3\n");
  Ran ran = Run(kDist / "uboot" / "updatehub-active-get");
  EXPECT_NE(ran.status, 0);
  EXPECT_THAT(ran.err, HasSubstr("updatehub_active is not set"));

  uh::testing::WriteFile(UbootEnv(), "updatehub_active=7\n");
  ran = Run(kDist / "uboot" / "updatehub-active-get");
  EXPECT_NE(ran.status, 0);
  EXPECT_THAT(ran.err, HasSubstr("updatehub_active is '7', not 0 or 1"));

  uh::testing::WriteFile(dir_ / "uboot.env.fail", "");
  ran = Run(kDist / "uboot" / "updatehub-active-get");
  EXPECT_NE(ran.status, 0);
  EXPECT_THAT(ran.err, HasSubstr("cannot read the U-Boot environment"));
  EXPECT_EQ(ran.out, "");
}

TEST_F(AbScriptsTest, UBootSetStartsATrialInOneWrite) {
  uh::testing::WriteFile(UbootEnv(), "bootdelay=3\nupdatehub_active=0\nbootcount=5\n");
  const Ran ran = Run(kDist / "uboot" / "updatehub-active-set", {"1"});
  ASSERT_EQ(ran.status, 0) << ran.err;
  EXPECT_EQ(uh::testing::ReadFile(UbootEnv()),
            "bootdelay=3\nupdatehub_active=1\nupgrade_available=1\nbootcount=0\n");
  EXPECT_EQ(UbootWrites(), 1);
  const Ran get = Run(kDist / "uboot" / "updatehub-active-get");
  EXPECT_EQ(get.out, "1\n");
}

TEST_F(AbScriptsTest, UBootSetRejectsBadSlotsWithoutWriting) {
  for (const char* arg : {"2", "", "1 0", "-1"}) {
    const Ran ran = Run(kDist / "uboot" / "updatehub-active-set", {arg});
    EXPECT_EQ(ran.status, 2) << arg;
    EXPECT_THAT(ran.err, HasSubstr("usage")) << arg;
  }
  EXPECT_EQ(Run(kDist / "uboot" / "updatehub-active-set").status, 2);
  EXPECT_EQ(UbootWrites(), 0);
}

TEST_F(AbScriptsTest, UBootSetReportsAFailedWrite) {
  uh::testing::WriteFile(dir_ / "uboot.env.fail", "");
  const Ran ran = Run(kDist / "uboot" / "updatehub-active-set", {"0"});
  EXPECT_NE(ran.status, 0);
  EXPECT_THAT(ran.err, HasSubstr("fw_setenv cannot write the U-Boot environment"));
}

TEST_F(AbScriptsTest, UBootValidatedEndsTheTrialAndThenWritesNothing) {
  uh::testing::WriteFile(UbootEnv(), "updatehub_active=1\nupgrade_available=1\nbootcount=1\n");
  Ran ran = Run(kDist / "uboot" / "updatehub-active-validated");
  ASSERT_EQ(ran.status, 0) << ran.err;
  EXPECT_EQ(uh::testing::ReadFile(UbootEnv()),
            "updatehub_active=1\nupgrade_available=0\nbootcount=0\n");
  EXPECT_EQ(UbootWrites(), 1);
  ran = Run(kDist / "uboot" / "updatehub-active-validated");
  ASSERT_EQ(ran.status, 0) << ran.err;
  EXPECT_EQ(UbootWrites(), 1);
}

TEST_F(AbScriptsTest, GrubGetAndSetUseTheGrubenvFile) {
  Ran ran = Run(kDist / "grub" / "updatehub-active-get");
  EXPECT_NE(ran.status, 0);
  EXPECT_THAT(ran.err, HasSubstr(Grubenv().string() + " does not exist"));

  ran = Run(kDist / "grub" / "updatehub-active-set", {"1"});
  ASSERT_EQ(ran.status, 0) << ran.err;
  EXPECT_EQ(uh::testing::ReadFile(Grubenv()), "# GRUB Environment Block\nupdatehub_active=1\n");
  ran = Run(kDist / "grub" / "updatehub-active-get");
  EXPECT_EQ(ran.status, 0) << ran.err;
  EXPECT_EQ(ran.out, "1\n");

  ran = Run(kDist / "grub" / "updatehub-active-set", {"0"});
  ASSERT_EQ(ran.status, 0) << ran.err;
  EXPECT_EQ(Run(kDist / "grub" / "updatehub-active-get").out, "0\n");
  EXPECT_EQ(Run(kDist / "grub" / "updatehub-active-validated").status, 0);
  EXPECT_EQ(Run(kDist / "grub" / "updatehub-active-set", {"x"}).status, 2);
}

TEST_F(AbScriptsTest, GrubGetFailsOnAMissingOrBadVariable) {
  uh::testing::WriteFile(Grubenv(), "# GRUB Environment Block\nother=1\n");
  Ran ran = Run(kDist / "grub" / "updatehub-active-get");
  EXPECT_NE(ran.status, 0);
  EXPECT_THAT(ran.err, HasSubstr("updatehub_active is not set"));
  uh::testing::WriteFile(Grubenv(), "# GRUB Environment Block\nupdatehub_active=B\n");
  ran = Run(kDist / "grub" / "updatehub-active-get");
  EXPECT_NE(ran.status, 0);
  EXPECT_THAT(ran.err, HasSubstr("'B'"));
}

TEST_F(AbScriptsTest, FileBackendRunsAFullUpdateCycle) {
  const auto file = kDist / "file";
  uh::testing::WriteFile(FileEnv(), "# simulated device 7\nserial=7\n");
  EXPECT_EQ(Run(file / "updatehub-active-get").out, "0\n");  // unset: a fresh device
  ASSERT_EQ(Run(file / "updatehub-active-set", {"1"}).status, 0);
  EXPECT_EQ(uh::testing::ReadFile(FileEnv()),
            "# simulated device 7\nserial=7\nupdatehub_active=1\nupgrade_available=1\n"
            "bootcount=0\n");
  ASSERT_EQ(Run(file / "updatehub-ab-file", {"boot"}).status, 0);
  EXPECT_EQ(Run(file / "updatehub-active-get").out, "1\n");
  ASSERT_EQ(Run(file / "updatehub-active-validated").status, 0);
  ASSERT_EQ(Run(file / "updatehub-ab-file", {"boot"}).status, 0);
  EXPECT_EQ(Run(file / "updatehub-active-get").out, "1\n");
  EXPECT_EQ(uh::testing::ReadFile(FileEnv()),
            "# simulated device 7\nserial=7\nupdatehub_active=1\nupgrade_available=0\n"
            "bootcount=0\n");
  // Only the env file: every write went through a temporary file renamed over it.
  EXPECT_FALSE(fs::exists(FileEnv().string() + ".tmp"));
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    files += entry.path().filename().string().starts_with("ab.env") ? 1 : 0;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(AbScriptsTest, FileBackendFallsBackAfterTwoUnconfirmedBoots) {
  const auto file = kDist / "file";
  ASSERT_EQ(Run(file / "updatehub-active-set", {"1"}).status, 0);
  ASSERT_EQ(Run(file / "updatehub-ab-file", {"boot"}).status, 0);
  EXPECT_EQ(Run(file / "updatehub-active-get").out, "1\n");
  ASSERT_EQ(Run(file / "updatehub-ab-file", {"boot"}).status, 0);
  EXPECT_EQ(Run(file / "updatehub-active-get").out, "0\n");
  // The fallback ends the trial: later boots stay on the old slot.
  EXPECT_EQ(uh::testing::ReadFile(FileEnv()),
            "updatehub_active=0\nupgrade_available=0\nbootcount=2\n");
  for (int boot = 0; boot < 3; ++boot) {
    ASSERT_EQ(Run(file / "updatehub-ab-file", {"boot"}).status, 0);
    EXPECT_EQ(Run(file / "updatehub-active-get").out, "0\n");
  }
}

TEST_F(AbScriptsTest, FileBackendHonoursBootlimit) {
  const auto file = kDist / "file";
  uh::testing::WriteFile(FileEnv(), "bootlimit=3\n");
  ASSERT_EQ(Run(file / "updatehub-active-set", {"1"}).status, 0);
  for (int boot = 1; boot <= 3; ++boot) {
    ASSERT_EQ(Run(file / "updatehub-ab-file", {"boot"}).status, 0);
    EXPECT_EQ(Run(file / "updatehub-active-get").out, "1\n") << "boot " << boot;
  }
  ASSERT_EQ(Run(file / "updatehub-ab-file", {"boot"}).status, 0);
  EXPECT_EQ(Run(file / "updatehub-active-get").out, "0\n");
  uh::testing::WriteFile(FileEnv(), "bootlimit=many\nupgrade_available=1\n");
  Ran ran = Run(file / "updatehub-ab-file", {"boot"});
  EXPECT_NE(ran.status, 0);
  EXPECT_THAT(ran.err, HasSubstr("bootlimit is 'many', not a number"));
}

TEST_F(AbScriptsTest, FileBackendErrors) {
  const auto file = kDist / "file";
  Ran ran = Run(file / "updatehub-active-get", {}, {{"UPDATEHUB_AB_ENV", ""}});
  EXPECT_NE(ran.status, 0);
  EXPECT_THAT(ran.err, HasSubstr("set UPDATEHUB_AB_ENV"));
  EXPECT_EQ(Run(file / "updatehub-active-set", {"3"}).status, 2);
  EXPECT_FALSE(fs::exists(FileEnv()));
  uh::testing::WriteFile(FileEnv(), "updatehub_active=garbage\n");
  ran = Run(file / "updatehub-active-get");
  EXPECT_NE(ran.status, 0);
  EXPECT_THAT(ran.err, HasSubstr("'garbage'"));
  EXPECT_EQ(ran.out, "");
  uh::testing::WriteFile(FileEnv(), "updatehub_active=0\nupgrade_available=1\nbootcount=x\n");
  ran = Run(file / "updatehub-ab-file", {"boot"});
  EXPECT_NE(ran.status, 0);
  EXPECT_THAT(ran.err, HasSubstr("bootcount is 'x', not a number"));
  EXPECT_EQ(Run(file / "updatehub-ab-file", {"frobnicate"}).status, 2);
}

}  // namespace
}  // namespace uh::agent
