#include "iam/policy.h"

#include <arpa/inet.h>
#include <simdjson.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <ctime>
#include <unordered_map>

namespace millrace::iam {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

enum class Op {
  kStringEquals,
  kStringNotEquals,
  kStringEqualsIgnoreCase,
  kStringNotEqualsIgnoreCase,
  kStringLike,
  kStringNotLike,
  kNumericEquals,
  kNumericNotEquals,
  kNumericLessThan,
  kNumericLessThanEquals,
  kNumericGreaterThan,
  kNumericGreaterThanEquals,
  kDateEquals,
  kDateNotEquals,
  kDateLessThan,
  kDateLessThanEquals,
  kDateGreaterThan,
  kDateGreaterThanEquals,
  kBool,
  kIpAddress,
  kNotIpAddress,
  kArnEquals,
  kArnLike,
  kArnNotEquals,
  kArnNotLike,
  kNull,
};

struct OpName {
  const char* name;
  Op op;
  bool negated;
};
constexpr OpName kOps[] = {
    {"StringEquals", Op::kStringEquals, false},
    {"StringNotEquals", Op::kStringNotEquals, true},
    {"StringEqualsIgnoreCase", Op::kStringEqualsIgnoreCase, false},
    {"StringNotEqualsIgnoreCase", Op::kStringNotEqualsIgnoreCase, true},
    {"StringLike", Op::kStringLike, false},
    {"StringNotLike", Op::kStringNotLike, true},
    {"NumericEquals", Op::kNumericEquals, false},
    {"NumericNotEquals", Op::kNumericNotEquals, true},
    {"NumericLessThan", Op::kNumericLessThan, false},
    {"NumericLessThanEquals", Op::kNumericLessThanEquals, false},
    {"NumericGreaterThan", Op::kNumericGreaterThan, false},
    {"NumericGreaterThanEquals", Op::kNumericGreaterThanEquals, false},
    {"DateEquals", Op::kDateEquals, false},
    {"DateNotEquals", Op::kDateNotEquals, true},
    {"DateLessThan", Op::kDateLessThan, false},
    {"DateLessThanEquals", Op::kDateLessThanEquals, false},
    {"DateGreaterThan", Op::kDateGreaterThan, false},
    {"DateGreaterThanEquals", Op::kDateGreaterThanEquals, false},
    {"Bool", Op::kBool, false},
    {"IpAddress", Op::kIpAddress, false},
    {"NotIpAddress", Op::kNotIpAddress, true},
    {"ArnEquals", Op::kArnEquals, false},
    {"ArnLike", Op::kArnLike, false},
    {"ArnNotEquals", Op::kArnNotEquals, true},
    {"ArnNotLike", Op::kArnNotLike, true},
    {"Null", Op::kNull, false},
};

// "2019-12-31T23:59:59Z", "2019-12-31T23:59:59.123Z", "2019-12-31" (UTC) or epoch seconds;
// milliseconds since the epoch.
std::optional<int64_t> ParseDate(std::string_view s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos && s.size() < 15)
    return std::stoll(std::string(s)) * 1000;
  int y, mo, d, h = 0, mi = 0, sec = 0;
  char tail[16] = {0};
  std::string str(s.substr(0, 40));
  int n = std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%15s", &y, &mo, &d, &h, &mi, &sec, tail);
  if (n != 3 && n < 6) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  int64_t ms = 0;
  if (n == 7) {
    std::string_view t = tail;
    if (t.starts_with(".")) {
      size_t i = 1;
      int64_t frac = 0, scale = 1000;
      while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
        if (scale > 1) frac = frac * 10 + (t[i] - '0'), scale /= 10;
        ++i;
      }
      ms = frac * scale;
      t.remove_prefix(i);
    }
    if (t != "Z" && t != "+00:00" && !t.empty()) return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<int64_t>(::timegm(&tm)) * 1000 + ms;
}

// An address or CIDR block as 16 bytes (IPv4 mapped into ::ffff:0:0/96) and a prefix length.
struct Cidr {
  uint8_t addr[16];
  int bits;
};

std::optional<Cidr> ParseCidr(std::string_view s, bool allow_prefix) {
  Cidr c{};
  std::string text(s.substr(0, 64));
  int bits = -1;
  if (size_t slash = text.find('/'); slash != std::string::npos) {
    if (!allow_prefix) return std::nullopt;
    std::string b = text.substr(slash + 1);
    if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    bits = std::stoi(b);
    text.resize(slash);
  }
  in_addr v4;
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    std::memset(c.addr, 0, 10);
    c.addr[10] = c.addr[11] = 0xff;
    std::memcpy(c.addr + 12, &v4, 4);
    if (bits > 32) return std::nullopt;
    c.bits = bits < 0 ? 128 : 96 + bits;
    return c;
  }
  if (::inet_pton(AF_INET6, text.c_str(), c.addr) == 1) {
    if (bits > 128) return std::nullopt;
    c.bits = bits < 0 ? 128 : bits;
    return c;
  }
  return std::nullopt;
}

bool CidrContains(const Cidr& block, const Cidr& addr) {
  int bits = block.bits;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((block.addr[i] & mask) != (addr.addr[i] & mask)) return false;
  }
  return true;
}

std::atomic<uint64_t> g_policy_ids{1};  // Policy::id_

struct Condition {
  Op op;
  bool negated = false;
  bool if_exists = false;
  enum class Set { kSingle, kAny, kAll } set = Set::kSingle;
  std::string key;  // lower-case
  std::vector<std::string> values;
};

}  // namespace

struct Policy::Statement {
  Effect effect = Effect::kAllow;
  bool not_action = false;
  std::vector<std::string> actions;
  bool has_resource = false;
  bool not_resource = false;
  std::vector<std::string> resources;
  // How much of each resource pattern is literal (before its first '*', '?' or '$'): a
  // resource that does not start with it cannot match, and is told so without expanding
  // variables.
  std::vector<size_t> literal_prefix;
  bool has_principal = false;
  bool not_principal = false;
  bool any_principal = false;
  std::vector<std::string> principals;  // ARNs; an account id becomes arn:aws:iam::A:root
  std::vector<Condition> conditions;
};

Policy::Policy() = default;
Policy::~Policy() = default;

const std::string* RequestContext::Key(std::string_view lower_name) const {
  if (auto it = keys.find(lower_name); it != keys.end()) return &it->second;
  if (!who) return nullptr;
  if (auto it = computed_.find(lower_name); it != computed_.end()) return &it->second;
  std::string value;
  if (!GlobalKey(*this, lower_name, &value)) return nullptr;
  return &computed_.emplace(std::string(lower_name), std::move(value)).first->second;
}

bool WildcardMatch(std::string_view p, std::string_view t, bool ignore_case) {
  // Iterative glob with one backtrack point: linear in practice, O(p*t) at worst.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() &&
        (p[pi] == '?' || (ignore_case ? Lower(p[pi]) == Lower(t[ti]) : p[pi] == t[ti]))) {
      ++pi, ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

namespace {

// ${aws:username} and the like, replaced from the request's keys. nullopt: a variable
// names a key the request does not have, and the element it is in does not match.
std::optional<std::string> Expand(std::string_view s, const RequestContext& r, bool variables) {
  if (!variables || s.find("${") == std::string_view::npos) return std::string(s);
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t open = s.find("${", i);
    if (open == std::string_view::npos) break;
    size_t close = s.find('}', open);
    if (close == std::string_view::npos) break;
    out.append(s.substr(i, open - i));
    std::string_view name = s.substr(open + 2, close - open - 2);
    if (name == "*" || name == "?" || name == "$") {
      out.append(name);  // the literal character (a wildcard here, a known approximation)
    } else {
      const std::string* v = r.Key(ToLower(name));
      if (!v) return std::nullopt;
      out.append(*v);
    }
    i = close + 1;
  }
  out.append(s.substr(i));
  return out;
}

bool ValueMatches(const Condition& c, const std::string& pattern, const std::string& actual) {
  switch (c.op) {
    case Op::kStringEquals:
    case Op::kStringNotEquals:
      return pattern == actual;
    case Op::kStringEqualsIgnoreCase:
    case Op::kStringNotEqualsIgnoreCase:
      return EqualsIgnoreCase(pattern, actual);
    case Op::kStringLike:
    case Op::kStringNotLike:
    case Op::kArnLike:
    case Op::kArnNotLike:
    case Op::kArnEquals:  // AWS treats ArnEquals like ArnLike (wildcards allowed)
    case Op::kArnNotEquals:
      return WildcardMatch(pattern, actual, false);
    case Op::kNumericEquals:
    case Op::kNumericNotEquals:
    case Op::kNumericLessThan:
    case Op::kNumericLessThanEquals:
    case Op::kNumericGreaterThan:
    case Op::kNumericGreaterThanEquals: {
      char* e1;
      char* e2;
      double want = std::strtod(pattern.c_str(), &e1);
      double have = std::strtod(actual.c_str(), &e2);
      if (*e1 || *e2 || pattern.empty() || actual.empty()) return false;
      switch (c.op) {
        case Op::kNumericEquals:
        case Op::kNumericNotEquals:
          return have == want;
        case Op::kNumericLessThan:
          return have < want;
        case Op::kNumericLessThanEquals:
          return have <= want;
        case Op::kNumericGreaterThan:
          return have > want;
        default:
          return have >= want;
      }
    }
    case Op::kDateEquals:
    case Op::kDateNotEquals:
    case Op::kDateLessThan:
    case Op::kDateLessThanEquals:
    case Op::kDateGreaterThan:
    case Op::kDateGreaterThanEquals: {
      auto want = ParseDate(pattern);
      auto have = ParseDate(actual);
      if (!want || !have) return false;
      switch (c.op) {
        case Op::kDateEquals:
        case Op::kDateNotEquals:
          return *have == *want;
        case Op::kDateLessThan:
          return *have < *want;
        case Op::kDateLessThanEquals:
          return *have <= *want;
        case Op::kDateGreaterThan:
          return *have > *want;
        default:
          return *have >= *want;
      }
    }
    case Op::kBool:
      return EqualsIgnoreCase(pattern, actual);
    case Op::kIpAddress:
    case Op::kNotIpAddress: {
      auto block = ParseCidr(pattern, true);
      auto addr = ParseCidr(actual, false);
      return block && addr && CidrContains(*block, *addr);
    }
    case Op::kNull:
      return false;  // handled by the caller
  }
  return false;
}

bool ConditionHolds(const Condition& c, const RequestContext& r, bool variables) {
  const std::string* actual = r.Key(c.key);
  if (c.op == Op::kNull) {
    for (const std::string& v : c.values)
      if (EqualsIgnoreCase(v, "true") == (actual == nullptr)) return true;
    return false;
  }
  if (!actual) {
    // A missing key: IfExists and negated operators hold, positive ones do not; a
    // ForAllValues set over no values holds (AWS's documented pitfall).
    return c.if_exists || c.negated || c.set == Condition::Set::kAll;
  }
  bool any = false;
  for (const std::string& raw : c.values) {
    if (!variables || raw.find("${") == std::string::npos) {  // no copy on the common path
      if (ValueMatches(c, raw, *actual)) {
        any = true;
        break;
      }
      continue;
    }
    auto v = Expand(raw, r, variables);
    if (v && ValueMatches(c, *v, *actual)) {
      any = true;
      break;
    }
  }
  return c.negated ? !any : any;
}

// Strings of an element that is a string or an array of strings; false if it is neither.
bool Strings(simdjson::dom::element e, std::vector<std::string>* out) {
  if (e.is_string()) {
    out->emplace_back(std::string_view(e.get_string().value()));
    return true;
  }
  simdjson::dom::array a;
  if (e.get_array().get(a) != simdjson::SUCCESS) return false;
  for (simdjson::dom::element v : a) {
    if (!v.is_string()) return false;
    out->emplace_back(std::string_view(v.get_string().value()));
  }
  return true;
}

// Condition values may be strings, numbers or booleans (JSON's, as AWS accepts them).
bool ConditionValues(simdjson::dom::element e, std::vector<std::string>* out) {
  auto one = [&](simdjson::dom::element v) {
    if (v.is_string()) {
      out->emplace_back(std::string_view(v.get_string().value()));
    } else if (v.is_bool()) {
      out->emplace_back(v.get_bool().value() ? "true" : "false");
    } else if (v.is_int64()) {
      out->emplace_back(std::to_string(v.get_int64().value()));
    } else if (v.is_double()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v.get_double().value());
      out->emplace_back(buf);
    } else {
      return false;
    }
    return true;
  };
  simdjson::dom::array a;
  if (e.get_array().get(a) == simdjson::SUCCESS) {
    for (simdjson::dom::element v : a)
      if (!one(v)) return false;
    return true;
  }
  return one(e);
}

Status Malformed(std::string message) { return Status::InvalidArgument(std::move(message)); }

bool IsAccountId(std::string_view s) {
  return s.size() == 12 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

Result<std::shared_ptr<const Policy>> Policy::Parse(std::string_view json, bool resource_policy) {
  if (json.size() > 20480) return Malformed("Policy document exceeds the maximum length.");
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS || !doc.is_object())
    return Malformed("This policy contains invalid Json");
  auto policy = std::make_shared<Policy>();
  policy->id_ = g_policy_ids.fetch_add(1);
  policy->text_ = std::string(json);
  policy->resource_policy_ = resource_policy;
  std::string_view version = "2008-10-17";
  if (auto v = doc["Version"]; v.error() == simdjson::SUCCESS) {
    if (!v.is_string() ||
        (v.get_string().value() != "2012-10-17" && v.get_string().value() != "2008-10-17"))
      return Malformed("The policy failed legacy parsing");
    version = v.get_string().value();
  }
  policy->variables_ = version == "2012-10-17";
  simdjson::dom::element st;
  if (doc["Statement"].get(st) != simdjson::SUCCESS)
    return Malformed("Missing required field Statement");
  std::vector<simdjson::dom::element> items;
  if (st.is_object()) {
    items.push_back(st);
  } else if (st.is_array()) {
    simdjson::dom::array arr = st.get_array().value_unsafe();
    for (simdjson::dom::element e : arr) items.push_back(e);
  } else {
    return Malformed("Syntax errors in policy.");
  }
  if (items.empty()) return Malformed("Missing required field Statement");
  for (simdjson::dom::element item : items) {
    if (!item.is_object()) return Malformed("Syntax errors in policy.");
    Statement s;
    simdjson::dom::object obj = item.get_object().value_unsafe();
    for (auto field : obj) {
      std::string_view k = field.key;
      if (k != "Sid" && k != "Effect" && k != "Action" && k != "NotAction" && k != "Resource" &&
          k != "NotResource" && k != "Principal" && k != "NotPrincipal" && k != "Condition")
        return Malformed("Syntax errors in policy.");
    }
    std::string_view effect;
    if (obj["Effect"].get(effect) != simdjson::SUCCESS)
      return Malformed("Missing required field Effect");
    if (effect == "Allow") {
      s.effect = Effect::kAllow;
    } else if (effect == "Deny") {
      s.effect = Effect::kDeny;
    } else {
      return Malformed("Invalid effect: " + std::string(effect.substr(0, 16)));
    }
    simdjson::dom::element e;
    const bool has_action = obj["Action"].get(e) == simdjson::SUCCESS;
    const bool has_not_action = !has_action && obj["NotAction"].get(e) == simdjson::SUCCESS;
    if (!has_action && !has_not_action) return Malformed("Policy statement must contain actions.");
    s.not_action = has_not_action;
    if (!Strings(e, &s.actions) || s.actions.empty())
      return Malformed("Policy statement must contain actions.");
    for (const std::string& a : s.actions)
      if (a != "*" && a.find(':') == std::string::npos)
        return Malformed(
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
    const bool has_resource = obj["Resource"].get(e) == simdjson::SUCCESS;
    const bool has_not_resource = !has_resource && obj["NotResource"].get(e) == simdjson::SUCCESS;
    s.has_resource = has_resource || has_not_resource;
    s.not_resource = has_not_resource;
    if (s.has_resource && (!Strings(e, &s.resources) || s.resources.empty()))
      return Malformed("Syntax errors in policy.");
    for (const std::string& pattern : s.resources)
      s.literal_prefix.push_back(std::min(pattern.find_first_of("*?$"), pattern.size()));
    if (!s.has_resource && !resource_policy)
      return Malformed("Policy statement must contain resources.");
    const bool has_principal = obj["Principal"].get(e) == simdjson::SUCCESS;
    const bool has_not_principal =
        !has_principal && obj["NotPrincipal"].get(e) == simdjson::SUCCESS;
    s.has_principal = has_principal || has_not_principal;
    s.not_principal = has_not_principal;
    if (s.has_principal && !resource_policy)
      return Malformed("Policy document should not specify a principal.");
    if (!s.has_principal && resource_policy) return Malformed("Missing required field Principal");
    if (s.has_principal) {
      if (e.is_string()) {
        if (e.get_string().value() != "*") return Malformed("Invalid principal in policy");
        s.any_principal = true;
      } else if (e.is_object()) {
        simdjson::dom::object principal = e.get_object().value_unsafe();
        for (auto kv : principal) {
          std::vector<std::string> ids;
          if (!Strings(kv.value, &ids)) return Malformed("Invalid principal in policy");
          if (kv.key != "AWS") continue;  // Service, Federated: nothing here is one
          for (std::string& id : ids) {
            if (id == "*") {
              s.any_principal = true;
            } else if (IsAccountId(id)) {
              s.principals.push_back("arn:aws:iam::" + id + ":root");
            } else if (id.starts_with("arn:aws:iam::") || id.starts_with("arn:aws:sts::")) {
              s.principals.push_back(std::move(id));
            } else {
              return Malformed("Invalid principal in policy: \"AWS\":\"" + id.substr(0, 64) + "\"");
            }
          }
        }
      } else {
        return Malformed("Invalid principal in policy");
      }
    }
    if (obj["Condition"].get(e) == simdjson::SUCCESS) {
      if (!e.is_object()) return Malformed("Syntax errors in policy.");
      simdjson::dom::object ops = e.get_object().value_unsafe();
      for (auto op_field : ops) {
        std::string_view name = op_field.key;
        Condition proto;
        if (name.starts_with("ForAnyValue:")) {
          proto.set = Condition::Set::kAny;
          name.remove_prefix(12);
        } else if (name.starts_with("ForAllValues:")) {
          proto.set = Condition::Set::kAll;
          name.remove_prefix(13);
        }
        if (name.ends_with("IfExists") && name != "IfExists") {
          proto.if_exists = true;
          name.remove_suffix(8);
        }
        const OpName* found = nullptr;
        for (const OpName& o : kOps)
          if (name == o.name) found = &o;
        if (!found || (found->op == Op::kNull && proto.if_exists) || !op_field.value.is_object())
          return Malformed("Syntax errors in policy.");
        proto.op = found->op;
        proto.negated = found->negated;
        simdjson::dom::object keys = op_field.value.get_object().value_unsafe();
        for (auto key_field : keys) {
          Condition c = proto;
          c.key = ToLower(key_field.key);
          if (c.key.find(':') == std::string::npos)
            return Malformed(
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
          if (!ConditionValues(key_field.value, &c.values) || c.values.empty())
            return Malformed("Syntax errors in policy.");
          s.conditions.push_back(std::move(c));
        }
      }
    }
    policy->statements_.push_back(std::move(s));
  }
  return std::shared_ptr<const Policy>(std::move(policy));
}

namespace {

// Which statements of a policy name an action (Action or NotAction), per thread, so that a
// request looks at only those: a policy's statements are scanned once per action a thread
// sees, not once per request. Keyed by the policy's unique id (never reused) and the
// action; cleared when it grows past 8,192 entries.
struct IndexKey {
  uint64_t policy;
  std::string action;
};
struct IndexProbe {
  uint64_t policy;
  std::string_view action;
};
struct IndexHash {
  using is_transparent = void;
  size_t operator()(const IndexKey& k) const { return Mix(k.policy, k.action); }
  size_t operator()(const IndexProbe& k) const { return Mix(k.policy, k.action); }
  static size_t Mix(uint64_t id, std::string_view a) {
    return std::hash<std::string_view>()(a) ^ (id * 0x9e3779b97f4a7c15ull);
  }
};
struct IndexEq {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return a.policy == b.policy && std::string_view(a.action) == std::string_view(b.action);
  }
};
thread_local std::unordered_map<IndexKey, std::vector<uint16_t>, IndexHash, IndexEq> t_index;

}  // namespace

const std::vector<uint16_t>& Policy::StatementsFor(std::string_view action) const {
  auto it = t_index.find(IndexProbe{id_, action});
  if (it != t_index.end()) return it->second;
  if (t_index.size() >= 8192) t_index.clear();
  std::vector<uint16_t> list;
  for (size_t i = 0; i < statements_.size(); ++i) {
    const Statement& s = statements_[i];
    bool named = false;
    for (const std::string& a : s.actions)
      if (WildcardMatch(a, action, true)) {
        named = true;
        break;
      }
    if (named != s.not_action) list.push_back(static_cast<uint16_t>(i));
  }
  return t_index.emplace(IndexKey{id_, std::string(action)}, std::move(list)).first->second;
}

Policy::Match Policy::Evaluate(const RequestContext& r) const {
  Match m;
  for (uint16_t index : StatementsFor(r.action)) {
    const Statement& s = statements_[index];
    // Already decided both ways this statement could add to: skip it.
    if (s.effect == Effect::kDeny ? m.deny : (m.allow && (m.allow_direct || !resource_policy_)))
      continue;
    bool direct = false;
    if (resource_policy_) {
      bool named = s.any_principal;
      direct = s.any_principal;
      if (!named && !r.principal.anonymous) {
        for (const std::string& p : s.principals) {
          if (p == r.principal.arn ||
              (!r.principal.role_arn.empty() && p == r.principal.role_arn)) {
            named = direct = true;
            break;
          }
          if (p.ends_with(":root") && p.size() == 13 + 12 + 5 &&
              std::string_view(p).substr(13, 12) == r.principal.account)
            named = true;
        }
      }
      if (named == s.not_principal) continue;
      if (s.not_principal) direct = true;
    }
    if (s.has_resource) {
      bool resource = false;
      for (size_t i = 0; i < s.resources.size(); ++i) {
        const std::string& pattern = s.resources[i];
        const size_t literal = s.literal_prefix[i];
        if (r.resource.compare(0, literal, pattern, 0, literal) != 0) continue;
        if (!variables_ || pattern.find("${") == std::string::npos) {
          if (WildcardMatch(pattern, r.resource, false)) {
            resource = true;
            break;
          }
          continue;
        }
        auto p = Expand(pattern, r, variables_);
        if (p && WildcardMatch(*p, r.resource, false)) {
          resource = true;
          break;
        }
      }
      if (resource == s.not_resource) continue;
    }
    bool conditions = true;
    for (const Condition& c : s.conditions)
      if (!ConditionHolds(c, r, variables_)) {
        conditions = false;
        break;
      }
    if (!conditions) continue;
    if (s.effect == Effect::kDeny) {
      m.deny = true;
    } else {
      m.allow = true;
      m.allow_direct = m.allow_direct || direct;
    }
  }
  return m;
}

bool Policy::MayAllowAction(std::string_view action) const {
  for (uint16_t index : StatementsFor(action))
    if (statements_[index].effect == Effect::kAllow) return true;
  return false;
}

Decision Evaluate(const PolicySet& set, const RequestContext& r) {
  bool identity_allow = set.identity_allows_all;
  for (const Policy* p : set.identity) {
    Policy::Match m = p->Evaluate(r);
    if (m.deny) return Decision::kExplicitDeny;
    identity_allow = identity_allow || m.allow;
  }
  Policy::Match session;
  if (set.session) {
    session = set.session->Evaluate(r);
    if (session.deny) return Decision::kExplicitDeny;
  }
  Policy::Match resource;
  if (set.resource) {
    resource = set.resource->Evaluate(r);
    if (resource.deny) return Decision::kExplicitDeny;
  }
  if (set.session && !session.allow) return Decision::kImplicitDeny;
  if (set.resource_required && !resource.allow) return Decision::kImplicitDeny;
  const bool same_account = !r.principal.anonymous && r.principal.account == set.resource_account;
  bool allowed;
  if (same_account) {
    allowed = identity_allow || resource.allow_direct;
  } else if (r.principal.anonymous) {
    allowed = resource.allow_direct;  // only a Principal "*" statement admits anyone
  } else {
    allowed = identity_allow && resource.allow;
  }
  return allowed ? Decision::kAllow : Decision::kImplicitDeny;
}

}  // namespace millrace::iam
