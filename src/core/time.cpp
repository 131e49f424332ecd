#include "core/time.hpp"

#include <cstdio>
#include <ctime>

namespace uh {
namespace {

// The digits text[at, at + count) as a number, or -1 if any is not a digit.
int Digits(const std::string& text, std::size_t at, std::size_t count) {
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

std::string FormatTime(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

Expected<std::chrono::system_clock::time_point> ParseTime(const std::string& text) {
  using namespace std::chrono;
  auto malformed = [&text] {
    return Fail(Errc::kMalformed,
                "'" + text + "' is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)");
  };
  // Fixed positions, digits only: no signs, spaces or short fields.
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z') {
    return malformed();
  }
  const int y = Digits(text, 0, 4);
  const int mo = Digits(text, 5, 2);
  const int d = Digits(text, 8, 2);
  const int h = Digits(text, 11, 2);
  const int mi = Digits(text, 14, 2);
  const int s = Digits(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0 || h > 23 || mi > 59 || s > 60) {
    return malformed();
  }
  const year_month_day date{year(y), month(static_cast<unsigned>(mo)),
                            day(static_cast<unsigned>(d))};
  if (!date.ok()) return malformed();
  // In seconds, years 0000-9999 cannot overflow; the clock's own range (nanoseconds: about
  // 1677-2262) is checked before converting.
  const sys_seconds at = sys_days(date) + hours(h) + minutes(mi) + seconds(s);
  if (at < floor<seconds>(system_clock::time_point::min()) + seconds(1) ||
      at > floor<seconds>(system_clock::time_point::max()) - seconds(1)) {
    return Fail(Errc::kMalformed, "'" + text + "' is out of the supported range of times");
  }
  return time_point_cast<system_clock::duration>(at);
}

}  // namespace uh
