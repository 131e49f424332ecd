#include "agent/install/tools.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "core/log.hpp"

namespace uh::agent {
namespace {

bool IsExecutableFile(const std::filesystem::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::string SearchPath(const InstallContext& ctx) {
  if (!ctx.tool_path.empty()) return ctx.tool_path;
  const char* env = std::getenv("PATH");
  return env != nullptr ? env : "/usr/sbin:/usr/bin:/sbin:/bin";
}

}  // namespace

Expected<std::filesystem::path> FindTool(std::string_view name, const InstallContext& ctx) {
  if (name.empty() || name.find('/') != std::string_view::npos) {
    return Fail(Errc::kInvalidArgument, "invalid tool name '" + std::string(name) + "'");
  }
  const std::string search = SearchPath(ctx);
  std::size_t start = 0;
  while (start <= search.size()) {
    auto end = search.find(':', start);
    if (end == std::string::npos) end = search.size();
    const std::string dir = search.substr(start, end - start);
    start = end + 1;
    if (dir.empty()) continue;  // an empty entry would mean the current directory: never
    auto candidate = std::filesystem::path(dir) / name;
    if (IsExecutableFile(candidate)) return candidate;
  }
  return Fail(Errc::kNotFound, "'" + std::string(name) + "' not found on PATH");
}

Expected<void> RequireTools(std::initializer_list<std::string_view> names,
                            const InstallContext& ctx) {
  for (const auto name : names) {
    auto found = FindTool(name, ctx);
    if (!found) return std::unexpected(std::move(found.error()));
  }
  return {};
}

Expected<ProcessResult> RunToolAnyStatus(std::vector<std::string> argv, const InstallContext& ctx) {
  if (argv.empty()) return Fail(Errc::kInvalidArgument, "no tool to run");
  const std::string name = argv[0];
  auto path = FindTool(name, ctx);
  if (!path) return std::unexpected(std::move(path.error()));
  argv[0] = path->string();
  ProcessOptions options;
  if (!ctx.tool_path.empty()) options.env.emplace_back("PATH", ctx.tool_path);
  options.timeout = ctx.tool_timeout;
  options.output_limit = 64 * 1024;
  spdlog::debug("running {}", name);
  auto result = RunProcess(argv, options);
  if (!result) return std::unexpected(std::move(result.error()).WithContext("running " + name));
  return result;
}

Expected<ProcessResult> RunTool(std::vector<std::string> argv, const InstallContext& ctx) {
  const std::string name = argv.empty() ? std::string() : argv[0];
  auto result = RunToolAnyStatus(std::move(argv), ctx);
  if (!result) return std::unexpected(std::move(result.error()));
  if (!result->Succeeded()) {
    std::string message = name + " " + result->Describe();
    const auto tail = Tail(result->err);
    if (!tail.empty()) message += ": " + tail;
    return Fail(Errc::kIo, std::move(message));
  }
  return result;
}

Expected<std::vector<std::string>> SplitWords(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote == '\'') {
      if (c == '\'') {
        quote = 0;
      } else {
        word.push_back(c);
      }
      continue;
    }
    if (c == '\\') {
      if (i + 1 == text.size()) return Fail(Errc::kMalformed, "options end with a backslash");
      const char next = text[++i];
      // Inside double quotes a backslash only escapes what the shell would escape there.
      if (quote == '"' && next != '"' && next != '\\' && next != '$' && next != '`') {
        word.push_back('\\');
      }
      word.push_back(next);
      in_word = true;
      continue;
    }
    if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else {
        word.push_back(c);
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word.push_back(c);
      in_word = true;
    }
  }
  if (quote != 0) return Fail(Errc::kMalformed, "unbalanced quote in options");
  if (in_word) words.push_back(std::move(word));
  return words;
}

std::string Tail(std::string_view text, std::size_t max_bytes) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  if (text.size() > max_bytes) text = text.substr(text.size() - max_bytes);
  return std::string(text);
}

}  // namespace uh::agent
