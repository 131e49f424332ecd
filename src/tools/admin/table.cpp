#include "tools/admin/table.hpp"

#include <algorithm>
#include <cstdio>

namespace uh::admin {

using nlohmann::json;

namespace {

// Display width of UTF-8 text, counting code points (good enough for names and versions).
std::size_t Width(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

}  // namespace

std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte == 0x7F) ? '?' : c;
  }
  return out;
}

std::string Cell(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "-";
    case json::value_t::string: {
      const auto& text = value.get_ref<const std::string&>();
      return text.empty() ? "-" : Printable(text);
    }
    case json::value_t::boolean:
      return value.get<bool>() ? "yes" : "no";
    case json::value_t::array: {
      std::string out;
      for (const auto& item : value) out += (out.empty() ? "" : ",") + Cell(item);
      return out.empty() ? "-" : out;
    }
    case json::value_t::object: {
      std::string out;
      for (const auto& [key, item] : value.items()) {
        const std::string text = Cell(item);
        if (text != "-") out += (out.empty() ? "" : ",") + Printable(key) + "=" + text;
      }
      return out.empty() ? "-" : out;
    }
    case json::value_t::number_float: {
      char text[32];
      std::snprintf(text, sizeof text, "%g", value.get<double>());
      return text;
    }
    default:
      return Printable(value.dump());
  }
}

std::string Field(const json& object, std::string_view key) {
  if (!object.is_object()) return "-";
  const auto found = object.find(key);
  return found == object.end() ? "-" : Cell(*found);
}

std::string Table::Render() const {
  std::vector<std::size_t> widths(header_.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string text;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      text += cell;
      if (i + 1 < widths.size()) text += std::string(widths[i] - Width(cell) + 2, ' ');
    }
    while (text.ends_with(' ')) text.pop_back();
    out += text + "\n";
  };
  line(header_);
  for (const auto& row : rows_) line(row);
  return out;
}

std::string KeyValues(const std::vector<std::pair<std::string, std::string>>& items) {
  std::size_t width = 0;
  for (const auto& [key, value] : items) width = std::max(width, Width(key));
  std::string out;
  for (const auto& [key, value] : items) {
    out += key + ":" + std::string(width - Width(key) + 2, ' ') + value + "\n";
  }
  return out;
}

std::string HumanBytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[unit]);
  return text;
}

}  // namespace uh::admin
