#include "model/tokenizer_json/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"
#include "model/tokenizer_json/utf8.h"

namespace lowbit::tok {

namespace {

// Oniguruma's Unicode classes as PCRE2 class items (doc/RE of Oniguruma 6.9).
constexpr std::string_view kOnigSpaceItems = "\\t\\n\\x{0B}\\f\\r\\x{85}\\p{Zs}\\p{Zl}\\p{Zp}";
constexpr std::string_view kOnigWordItems = "\\p{L}\\p{M}\\p{N}\\p{Pc}";
constexpr std::string_view kOnigHexItems = "0-9a-fA-F";

// Generous bounds: real tokenizer patterns need a few steps per character.
constexpr uint32_t kMatchLimit = 50'000'000;
constexpr uint32_t kDepthLimit = 100'000;
constexpr size_t kJitStackMaxBytes = 8u << 20;

struct MatchState {
  pcre2_match_context* ctx = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  pcre2_match_data* data = nullptr;
  MatchState() {
    ctx = pcre2_match_context_create(nullptr);
    jit_stack = pcre2_jit_stack_create(32 * 1024, kJitStackMaxBytes, nullptr);
    data = pcre2_match_data_create(1, nullptr);
    if (!ctx || !jit_stack || !data) throw std::bad_alloc();
    pcre2_set_match_limit(ctx, kMatchLimit);
    pcre2_set_depth_limit(ctx, kDepthLimit);
    pcre2_jit_stack_assign(ctx, nullptr, jit_stack);
  }
  ~MatchState() {
    pcre2_match_data_free(data);
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_context_free(ctx);
  }
  MatchState(const MatchState&) = delete;
  MatchState& operator=(const MatchState&) = delete;
};

// One per thread: match data and the JIT stack must not be shared between threads.
MatchState& match_state() {
  thread_local MatchState s;
  return s;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  if (pcre2_get_error_message(code, buf, sizeof buf) < 0) return "error " + std::to_string(code);
  return std::string(reinterpret_cast<const char*>(buf));
}

}  // namespace

struct Regex::Code {
  pcre2_code* re = nullptr;
  ~Code() { pcre2_code_free(re); }
};

std::string onig_to_pcre2(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  int class_depth = 0;  // > 0 inside [...]
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      std::string_view items;
      bool negated = false;
      switch (e) {
        case 's': items = kOnigSpaceItems; break;
        case 'S': items = kOnigSpaceItems, negated = true; break;
        case 'w': items = kOnigWordItems; break;
        case 'W': items = kOnigWordItems, negated = true; break;
        case 'h': items = kOnigHexItems; break;
        case 'H': items = kOnigHexItems, negated = true; break;
        default: break;
      }
      if (!items.empty() && class_depth == 0) {
        out += negated ? "[^" : "[";
        out += items;
        out += ']';
        ++i;
        continue;
      }
      if (!items.empty() && !negated) {  // inside a class: splice the items in
        out += items;
        ++i;
        continue;
      }
      // Negated forms inside a class have no item list; keep PCRE2's reading.
      out += c;
      out += e;
      ++i;
      continue;
    }
    if (c == '[') {
      // A ']' right after '[' or '[^' is a literal in both dialects.
      out += c;
      ++class_depth;
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (c == ']' && class_depth > 0) --class_depth;
    out += c;
  }
  return out;
}

Regex::Regex(std::string_view pattern, bool onig_syntax, const std::string& origin) : pattern_(pattern) {
  const std::string src = onig_syntax ? onig_to_pcre2(pattern) : std::string(pattern);
  int err = 0;
  PCRE2_SIZE err_off = 0;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(src.data()), src.size(), PCRE2_UTF | PCRE2_UCP,
                                 &err, &err_off, nullptr);
  if (!re) {
    std::string shown(pattern.substr(0, 120));
    fail(origin, "invalid regex \"" + utf8_lossy(shown) + "\": " + pcre2_message(err));
  }
  auto code = std::make_shared<Code>();
  code->re = re;
  // JIT is an optimisation; if it is unavailable the interpreter gives the same matches.
  (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
  code_ = std::move(code);
}

Regex Regex::literal(std::string_view literal, const std::string& origin) {
  std::string p;
  p.reserve(literal.size() * 2);
  for (char ch : literal) {
    const auto b = static_cast<unsigned char>(ch);
    const bool plain = b >= 0x80 || (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
    if (b == 0) {
      p += "\\x{0}";
      continue;
    }
    if (!plain) p += '\\';
    p += ch;
  }
  Regex r(p, false, origin);
  r.pattern_ = std::string(literal);
  return r;
}

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  MatchState& st = match_state();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  size_t last_match_end = SIZE_MAX;
  while (pos <= text.size()) {
    const int rc = pcre2_match(code_->re, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, st.data, st.ctx);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) fail("", "regex \"" + utf8_lossy(pattern_.substr(0, 80)) + "\" failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    const size_t start = ov[0], end = ov[1];
    if (start == end && end == last_match_end) {
      if (pos >= text.size()) break;
      pos += utf8_lead_len(static_cast<unsigned char>(text[pos]));
      continue;
    }
    out.emplace_back(start, end);
    pos = end;
    last_match_end = end;
  }
}

}  // namespace lowbit::tok
