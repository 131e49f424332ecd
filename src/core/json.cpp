#include "core/json.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

namespace uh {
namespace {

struct ParseAbort {
  Error error;
};

void AppendEscaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto escape_unit = [&](std::uint32_t unit) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(unit >> shift) & 0xf]);
  };
  out.push_back('"');
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            escape_unit(c);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      continue;
    }
    // Decode one UTF-8 sequence (nlohmann has validated the string already).
    std::size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    if (i + len > text.size()) len = text.size() - i;
    std::uint32_t cp = c & (0xff >> (len + 1));
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (text[i + k] & 0x3f);
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      escape_unit(0xd800 + (cp >> 10));
      escape_unit(0xdc00 + (cp & 0x3ff));
    } else {
      escape_unit(cp);
    }
  }
  out.push_back('"');
}

void AppendFloat(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "Infinity" : "-Infinity";
    return;
  }
  // Python's repr: shortest round-trip digits, exponent from 1e16 on or below 1e-4.
  char buffer[64];
  const double magnitude = std::fabs(value);
  const bool scientific = magnitude != 0 && (magnitude >= 1e16 || magnitude < 1e-4);
  auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value,
                    scientific ? std::chars_format::scientific : std::chars_format::fixed);
  std::string text(buffer, result.ptr);
  if (scientific) {
    // to_chars writes "1e+16" like Python, but "1.5e-05" where Python writes "1.5e-05" too.
    out += text;
    return;
  }
  if (text.find('.') == std::string::npos) text += ".0";
  out += text;
}

void Dump(std::string& out, const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      out += "null";
      break;
    case nlohmann::json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      break;
    case nlohmann::json::value_t::number_integer:
      out += std::to_string(value.get<std::int64_t>());
      break;
    case nlohmann::json::value_t::number_unsigned:
      out += std::to_string(value.get<std::uint64_t>());
      break;
    case nlohmann::json::value_t::number_float:
      AppendFloat(out, value.get<double>());
      break;
    case nlohmann::json::value_t::string:
      AppendEscaped(out, value.get_ref<const std::string&>());
      break;
    case nlohmann::json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : value) {
        if (!first) out += ", ";
        first = false;
        Dump(out, item);
      }
      out.push_back(']');
      break;
    }
    case nlohmann::json::value_t::object: {
      // nlohmann's default object is a std::map: keys already in byte order, which for UTF-8
      // is code point order, which is Python's sort order.
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : value.items()) {
        if (!first) out += ", ";
        first = false;
        AppendEscaped(out, key);
        out += ": ";
        Dump(out, item);
      }
      out.push_back('}');
      break;
    }
    case nlohmann::json::value_t::binary:
    case nlohmann::json::value_t::discarded:
      out += "null";
      break;
  }
}

}  // namespace

Expected<nlohmann::json> ParseJson(std::string_view text, JsonLimits limits) {
  if (text.size() > limits.max_bytes) {
    return Fail(Errc::kTooLarge,
                "JSON document is larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  // nlohmann's lexer stops at a NUL byte and ignores the rest, where other parsers (Python's,
  // serde's, Go's) refuse the document: a signed document must mean one thing to all of them.
  if (text.find('\0') != std::string_view::npos) {
    return Fail(Errc::kMalformed, "invalid JSON: NUL byte in the document");
  }
  std::vector<std::set<std::string>> keys;  // keys seen in each open object
  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if ((event == Event::object_start || event == Event::array_start) &&
        static_cast<std::size_t>(depth) >= limits.max_depth) {
      throw ParseAbort{Error(Errc::kMalformed, "JSON nesting is deeper than " +
                                                   std::to_string(limits.max_depth) + " levels")};
    }
    if (event == Event::object_start) keys.emplace_back();
    if (event == Event::object_end && !keys.empty()) keys.pop_back();
    if (event == Event::key && !keys.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!keys.back().insert(key).second) {
        throw ParseAbort{Error(Errc::kMalformed, "duplicate JSON key \"" + key + "\"")};
      }
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), callback);
  } catch (const ParseAbort& abort) {
    return std::unexpected(abort.error);
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    // Strip nlohmann's "[json.exception.parse_error.101] " prefix.
    if (auto pos = what.find("] "); pos != std::string::npos) what.erase(0, pos + 2);
    return Fail(Errc::kMalformed, "invalid JSON: " + what);
  }
}

std::string PythonJsonDumps(const nlohmann::json& value) {
  std::string out;
  Dump(out, value);
  return out;
}

std::string_view JsonTypeName(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::boolean:
      return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "integer";
    case nlohmann::json::value_t::number_float:
      return "number";
    case nlohmann::json::value_t::string:
      return "string";
    case nlohmann::json::value_t::array:
      return "array";
    case nlohmann::json::value_t::object:
      return "object";
    default:
      return "value";
  }
}

std::string DumpJson(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace uh
