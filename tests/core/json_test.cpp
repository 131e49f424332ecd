#include "core/json.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace uh {
namespace {

using ::testing::HasSubstr;

TEST(PythonJsonDumps, SortsKeysAndUsesPythonSeparators) {
  auto value = nlohmann::json::parse(R"({"b": [1, 2, {"z": null, "a": true}], "a": "x"})");
  EXPECT_EQ(PythonJsonDumps(value), R"({"a": "x", "b": [1, 2, {"a": true, "z": null}]})");
}

TEST(PythonJsonDumps, EmptyContainers) {
  EXPECT_EQ(PythonJsonDumps(nlohmann::json::object()), "{}");
  EXPECT_EQ(PythonJsonDumps(nlohmann::json::array()), "[]");
}

TEST(PythonJsonDumps, EscapesLikeEnsureAscii) {
  // What Python prints for json.dumps("é\u20ac\U0001F600\t\x01\x7f\"\\/").
  nlohmann::json value = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\t\x01\x7f\"\\/";
  EXPECT_EQ(PythonJsonDumps(value), R"("\u00e9\u20ac\ud83d\ude00\t\u0001\u007f\"\\/")");
}

TEST(PythonJsonDumps, Numbers) {
  EXPECT_EQ(PythonJsonDumps(nlohmann::json(-1)), "-1");
  EXPECT_EQ(PythonJsonDumps(nlohmann::json(18446744073709551615ULL)), "18446744073709551615");
  EXPECT_EQ(PythonJsonDumps(nlohmann::json(1.0)), "1.0");
  EXPECT_EQ(PythonJsonDumps(nlohmann::json(0.5)), "0.5");
  EXPECT_EQ(PythonJsonDumps(nlohmann::json(1e16)), "1e+16");
  EXPECT_EQ(PythonJsonDumps(nlohmann::json(1.5e-05)), "1.5e-05");
}

TEST(ParseJson, AcceptsValidDocument) {
  auto value = ParseJson(R"({"a": [1, "two", {"b": false}]})");
  ASSERT_TRUE(value) << value.error().message();
  EXPECT_EQ((*value)["a"][1], "two");
}

TEST(ParseJson, RejectsSyntaxErrors) {
  for (const char* text : {"", "{", "{\"a\": }", "[1,]", "nul", "{\"a\" 1}", "\"\xff\""}) {
    auto value = ParseJson(text);
    ASSERT_FALSE(value) << text;
    EXPECT_EQ(value.error().code(), Errc::kMalformed);
    EXPECT_THAT(value.error().message(), HasSubstr("invalid JSON"));
  }
}

TEST(ParseJson, RejectsDuplicateKeysAtAnyDepth) {
  for (const char* text : {R"({"a": 1, "a": 2})", R"({"x": [{"k": 1, "k": 1}]})"}) {
    auto value = ParseJson(text);
    ASSERT_FALSE(value) << text;
    EXPECT_THAT(value.error().message(), HasSubstr("duplicate JSON key"));
  }
  // The same key in sibling objects is fine.
  EXPECT_TRUE(ParseJson(R"([{"k": 1}, {"k": 2}])"));
}

TEST(ParseJson, RejectsDeepNestingWithoutRecursing) {
  const std::string deep(200000, '[');
  auto value = ParseJson(deep, {.max_depth = 32, .max_bytes = 1 << 20});
  ASSERT_FALSE(value);
  EXPECT_THAT(value.error().message(), HasSubstr("nesting"));
  std::string ok = std::string(31, '[') + std::string(31, ']');
  EXPECT_TRUE(ParseJson(ok, {.max_depth = 32, .max_bytes = 1 << 20}));
}

TEST(ParseJson, RejectsNulBytesAndWhatFollowsThem) {
  // nlohmann alone would stop at the NUL and accept {"a": 1}.
  const std::string text = std::string(R"({"a": 1})") + '\0' + R"({"a": 2})";
  auto value = ParseJson(text);
  ASSERT_FALSE(value);
  EXPECT_THAT(value.error().message(), HasSubstr("NUL"));
}

TEST(ParseJson, RejectsOversizedDocument) {
  const std::string big = "\"" + std::string(2000, 'a') + "\"";
  auto value = ParseJson(big, {.max_depth = 4, .max_bytes = 1000});
  ASSERT_FALSE(value);
  EXPECT_EQ(value.error().code(), Errc::kTooLarge);
}

}  // namespace
}  // namespace uh
