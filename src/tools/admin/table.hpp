#pragma once

// Readable output of API replies: aligned tables and "key: value" lists. Every text that came
// from the server goes through Printable() first, so that a reply cannot send escape sequences
// to the terminal.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace uh::admin {

// `text` with control characters (terminal escapes, newlines) replaced by '?'.
[[nodiscard]] std::string Printable(std::string_view text);

// A JSON value as one printable cell: strings as they are, null and "" as "-", booleans as
// yes/no, lists joined with ",", objects as "key=value" joined with "," (empty values left out).
[[nodiscard]] std::string Cell(const nlohmann::json& value);

// `object[key]` as a Cell, "-" when absent or when `object` is not an object.
[[nodiscard]] std::string Field(const nlohmann::json& object, std::string_view key);

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  [[nodiscard]] bool empty() const { return rows_.empty(); }
  // Columns separated by two spaces, padded to their widest cell; the last one unpadded.
  [[nodiscard]] std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "name:    value" lines, the names padded to the longest.
[[nodiscard]] std::string KeyValues(const std::vector<std::pair<std::string, std::string>>& items);

// A byte count for people: "1.5 MiB".
[[nodiscard]] std::string HumanBytes(double bytes);

}  // namespace uh::admin
