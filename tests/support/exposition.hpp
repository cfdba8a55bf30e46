#pragma once

// A strict reader of the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/, "Text-based format"),
// written from the format's description and not from our renderer, so the two can
// disagree. parse_exposition() accepts a document only when:
// - it is empty or ends with a newline, and has no blank lines or trailing spaces;
// - every line is `# HELP NAME TEXT`, `# TYPE NAME TYPE` or a sample `NAME[{LABELS}] VALUE`
//   (no other comments, no timestamps: node_exporter's textfile collector rejects them);
// - metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and do
//   not start with `__`;
// - label values are double-quoted with only the escapes \\, \" and \n; HELP text has only
//   \\ and \n; no label name repeats within a sample;
// - each family has exactly one HELP and one TYPE (counter, gauge, histogram, summary,
//   untyped), both before its first sample, and its samples form one contiguous group;
// - no series (name + label set) appears twice;
// - values are numbers (decimal or exponent, NaN, +Inf, -Inf); a counter's are finite and
//   not negative.
// A violation returns the line number and what is wrong. (Histogram and summary samples,
// whose names carry suffixes beside their family's, are not read: we emit none.)

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include <vector>
#include "support/catch.hpp"

namespace squib::test {

struct ExpositionSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family → type
  std::map<std::string, std::string> helps;  // family → help (unescaped)
  std::vector<ExpositionSample> samples;     // in document order

  // The value of the one sample named `name` whose labels include all of `labels`, or
  // nullopt when none or several match.
  [[nodiscard]] std::optional<double> value(const std::string& name,
                                            const std::map<std::string, std::string>& labels = {}) const {
    std::optional<double> found;
    for (const auto& sample : samples) {
      if (sample.name != name) continue;
      bool match = true;
      for (const auto& [key, want] : labels) {
        const auto it = sample.labels.find(key);
        if (it == sample.labels.end() || it->second != want) match = false;
      }
      if (!match) continue;
      if (found) return std::nullopt;
      found = sample.value;
    }
    return found;
  }
  // Every distinct value of label `key` among samples named `name`.
  [[nodiscard]] std::set<std::string> label_values(const std::string& name, const std::string& key) const {
    std::set<std::string> out;
    for (const auto& sample : samples) {
      if (sample.name == name && sample.labels.contains(key)) out.insert(sample.labels.at(key));
    }
    return out;
  }
};

struct ExpositionError {
  std::size_t line = 0;
  std::string message;
};

namespace exposition_detail {

inline bool metric_name_ok(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool first_ok = std::isalpha(c) != 0 || c == '_' || c == ':';
    if (!(first_ok || (i > 0 && std::isdigit(c) != 0))) return false;
  }
  return true;
}

inline bool label_name_ok(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool first_ok = std::isalpha(c) != 0 || c == '_';
    if (!(first_ok || (i > 0 && std::isdigit(c) != 0))) return false;
  }
  return true;
}

// Go's strconv.ParseFloat as Prometheus uses it, restricted to what a strict reader
// expects: [+-]digits[.digits][e[+-]digits], NaN, +Inf, -Inf.
inline std::optional<double> parse_value(std::string_view text) {
  if (text == "NaN") return std::nan("");
  if (text == "+Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  const std::size_t digits_start = i;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) ++i;
  bool any_digits = i > digits_start;
  if (i < text.size() && text[i] == '.') {
    ++i;
    const std::size_t fraction_start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) ++i;
    any_digits = any_digits || i > fraction_start;
  }
  if (!any_digits) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    const std::size_t exponent_start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) ++i;
    if (i == exponent_start) return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  return std::strtod(std::string(text).c_str(), nullptr);
}

// Unescapes `text`, allowing only the escapes in `allowed` (besides the backslash itself).
inline std::optional<std::string> unescape(std::string_view text, std::string_view allowed) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i == text.size()) return std::nullopt;
    const char c = text[i];
    if (c == '\\') {
      out += '\\';
    } else if (c == 'n' && allowed.find('n') != std::string_view::npos) {
      out += '\n';
    } else if (c == '"' && allowed.find('"') != std::string_view::npos) {
      out += '"';
    } else {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace exposition_detail

inline std::variant<Exposition, ExpositionError> parse_exposition(std::string_view text) {
  using namespace exposition_detail;
  Exposition out;
  if (!text.empty() && !text.ends_with('\n')) return ExpositionError{0, "does not end with a newline"};
  std::set<std::string> series;    // name + canonical labels
  std::set<std::string> finished;  // families whose group of samples has ended
  std::string current;             // the family of the previous sample line
  std::size_t number = 0;
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = text.find('\n', begin);
    const std::string_view line = text.substr(begin, end - begin);
    begin = end + 1;
    ++number;
    const auto fail = [&](std::string message) {
      return ExpositionError{number, message + ": '" + std::string(line) + "'"};
    };
    if (line.empty()) return fail("blank line");
    if (line.back() == ' ' || line.back() == '\t') return fail("trailing whitespace");
    if (line.starts_with("#")) {
      const bool help = line.starts_with("# HELP ");
      const bool type = line.starts_with("# TYPE ");
      if (!help && !type) return fail("a comment that is neither HELP nor TYPE");
      const std::string_view rest = line.substr(7);
      const std::size_t space = rest.find(' ');
      if (space == std::string_view::npos) return fail("HELP/TYPE without a name and text");
      const std::string name(rest.substr(0, space));
      const std::string_view value = rest.substr(space + 1);
      if (!metric_name_ok(name)) return fail("invalid metric name");
      if (out.samples.size() > 0 && (current == name || finished.contains(name))) {
        return fail("HELP/TYPE after the family's samples");
      }
      if (help) {
        if (out.helps.contains(name)) return fail("second HELP");
        auto unescaped = unescape(value, "n");
        if (!unescaped) return fail("invalid escape in HELP");
        out.helps[name] = *unescaped;
      } else {
        if (out.types.contains(name)) return fail("second TYPE");
        static const std::set<std::string_view> k_types = {"counter", "gauge", "histogram", "summary", "untyped"};
        if (!k_types.contains(value)) return fail("unknown TYPE");
        out.types[name] = std::string(value);
      }
      continue;
    }
    // A sample: NAME[{LABELS}] VALUE
    ExpositionSample sample;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    sample.name = std::string(line.substr(0, i));
    if (!metric_name_ok(sample.name)) return fail("invalid metric name");
    std::string canonical = sample.name + "{";
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t name_end = i;
        while (name_end < line.size() && line[name_end] != '=') ++name_end;
        const std::string label(line.substr(i, name_end - i));
        if (!label_name_ok(label)) return fail("invalid label name '" + label + "'");
        if (name_end + 1 >= line.size() || line[name_end + 1] != '"') return fail("label value not quoted");
        std::size_t value_end = name_end + 2;
        while (value_end < line.size() && line[value_end] != '"')
          value_end += line[value_end] == '\\' ? std::size_t{2} : std::size_t{1};
        if (value_end >= line.size()) return fail("unterminated label value");
        auto value = unescape(line.substr(name_end + 2, value_end - name_end - 2), "n\"");
        if (!value) return fail("invalid escape in label value");
        if (!sample.labels.emplace(label, *value).second) return fail("label '" + label + "' repeated");
        i = value_end + 1;
        if (i < line.size() && line[i] == ',')
          ++i;
        else if (i >= line.size() || line[i] != '}')
          return fail("expected , or } after a label");
      }
      if (i >= line.size()) return fail("unterminated label set");
      ++i;  // '}'
    }
    for (const auto& [key, value] : sample.labels) canonical += key + "=" + value + "\x1f";
    if (i >= line.size() || line[i] != ' ') return fail("expected one space before the value");
    const std::string_view value_text = line.substr(i + 1);
    if (value_text.find(' ') != std::string_view::npos) return fail("more than a value (a timestamp?)");
    const auto value = parse_value(value_text);
    if (!value) return fail("value is not a number");
    sample.value = *value;
    if (!out.types.contains(sample.name)) return fail("sample before its family's TYPE");
    if (!out.helps.contains(sample.name)) return fail("sample before its family's HELP");
    if (out.types[sample.name] == "counter" && (!std::isfinite(*value) || *value < 0)) {
      return fail("counter value is not a finite non-negative number");
    }
    if (sample.name != current) {
      if (finished.contains(sample.name)) return fail("family's samples are not one contiguous group");
      if (!current.empty()) finished.insert(current);
      current = sample.name;
    }
    if (!series.insert(canonical).second) return fail("duplicate series");
    out.samples.push_back(std::move(sample));
  }
  return out;
}

// The parsed exposition of `text`, or a failed test naming the offending line.
inline Exposition require_exposition(const std::string& text) {
  auto result = parse_exposition(text);
  if (const auto* error = std::get_if<ExpositionError>(&result)) {
    FAIL("line " << error->line << ": " << error->message << "\n" << text);
  }
  return std::get<Exposition>(result);
}

}  // namespace squib::test
