#include "delivery/fast_filter.h"

#include <cctype>
#include <cmath>
#include <optional>

namespace millrace::delivery {

using simdjson::dom::element;
using simdjson::dom::element_type;

struct FastFilter::Node {
  enum Kind { kOr, kAnd, kCompare, kPath, kLiteral } kind = kLiteral;
  enum Op { kEq, kNe, kLt, kLe, kGt, kGe } op = kEq;
  std::unique_ptr<Node> left, right;
  std::vector<std::string> path;  // kPath: the member names
  // kLiteral
  enum LitKind { kNull, kFalse, kTrue, kNumber, kString } lit = kNull;
  double number = 0;
  std::string string;
};

namespace {

using Node = FastFilter::Node;

// A value met while evaluating: a scalar, or "an array/object" (which the fast path does
// not compare: kOther makes the evaluation undecided).
struct Value {
  enum Kind { kNull = 0, kFalse = 1, kTrue = 2, kNumber = 3, kString = 4, kOther = 5 } kind = kNull;
  double number = 0;
  std::string_view string;
  bool Truthy() const { return kind != kNull && kind != kFalse; }
};

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  std::unique_ptr<Node> ParseAll() {
    auto e = Or();
    Skip();
    if (!e || pos_ != s_.size()) return nullptr;
    return e;
  }

 private:
  void Skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Word(std::string_view w) {
    Skip();
    if (s_.substr(pos_, w.size()) != w) return false;
    size_t end = pos_ + w.size();
    if (end < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '_'))
      return false;
    pos_ = end;
    return true;
  }
  std::unique_ptr<Node> Binary(Node::Kind kind, std::unique_ptr<Node> l, std::unique_ptr<Node> r) {
    if (!l || !r) return nullptr;
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->left = std::move(l);
    n->right = std::move(r);
    return n;
  }
  std::unique_ptr<Node> Or() {
    auto l = And();
    while (l && Word("or")) l = Binary(Node::kOr, std::move(l), And());
    return l;
  }
  std::unique_ptr<Node> And() {
    auto l = Comparison();
    while (l && Word("and")) l = Binary(Node::kAnd, std::move(l), Comparison());
    return l;
  }
  std::unique_ptr<Node> Comparison() {
    auto l = Operand();
    if (!l) return nullptr;
    Skip();
    static const std::pair<std::string_view, Node::Op> kOps[] = {
        {"==", Node::kEq}, {"!=", Node::kNe}, {"<=", Node::kLe},
        {">=", Node::kGe}, {"<", Node::kLt},  {">", Node::kGt}};
    for (const auto& [text, op] : kOps) {
      if (s_.substr(pos_, text.size()) != text) continue;
      pos_ += text.size();
      auto n = Binary(Node::kCompare, std::move(l), Operand());
      if (n) n->op = op;
      return n;
    }
    return l;
  }
  std::unique_ptr<Node> Operand() {
    Skip();
    if (pos_ >= s_.size()) return nullptr;
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      auto e = Or();
      Skip();
      if (!e || pos_ >= s_.size() || s_[pos_] != ')') return nullptr;
      ++pos_;
      return e;
    }
    auto n = std::make_unique<Node>();
    if (c == '.') {
      n->kind = Node::kPath;
      ++pos_;
      if (pos_ < s_.size() &&
          (std::isalpha(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) {
        for (;;) {
          size_t start = pos_;
          while (pos_ < s_.size() &&
                 (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
            ++pos_;
          n->path.emplace_back(s_.substr(start, pos_ - start));
          if (pos_ + 1 < s_.size() && s_[pos_] == '.' &&
              (std::isalpha(static_cast<unsigned char>(s_[pos_ + 1])) || s_[pos_ + 1] == '_')) {
            ++pos_;
            continue;
          }
          break;
        }
      }
      // ".a[0]", ".a?", ".a.\"b\"", ".a | f": not in the subset.
      if (pos_ < s_.size() &&
          (s_[pos_] == '[' || s_[pos_] == '?' || s_[pos_] == '.' || s_[pos_] == '"'))
        return nullptr;
      return n;
    }
    if (c == '"') {
      ++pos_;
      n->lit = Node::kString;
      while (pos_ < s_.size() && s_[pos_] != '"') {
        char ch = s_[pos_++];
        if (ch != '\\') {
          n->string.push_back(ch);
          continue;
        }
        if (pos_ >= s_.size()) return nullptr;
        char e = s_[pos_++];
        switch (e) {
          case '"':
          case '\\':
          case '/':
            n->string.push_back(e);
            break;
          case 'n':
            n->string.push_back('\n');
            break;
          case 't':
            n->string.push_back('\t');
            break;
          case 'r':
            n->string.push_back('\r');
            break;
          case 'b':
            n->string.push_back('\b');
            break;
          case 'f':
            n->string.push_back('\f');
            break;
          default:
            return nullptr;  // \uXXXX, \( interpolation: jq's
        }
      }
      if (pos_ >= s_.size()) return nullptr;
      ++pos_;
      return n;
    }
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
      size_t start = pos_;
      if (c == '-') ++pos_;
      if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) return nullptr;
      while (pos_ < s_.size() &&
             (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.'))
        ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E' ||
                               std::isalpha(static_cast<unsigned char>(s_[pos_]))))
        return nullptr;  // exponents and oddities: jq's
      std::string text(s_.substr(start, pos_ - start));
      char* end = nullptr;
      n->number = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size()) return nullptr;
      n->lit = Node::kNumber;
      return n;
    }
    if (Word("true"))
      n->lit = Node::kTrue;
    else if (Word("false"))
      n->lit = Node::kFalse;
    else if (Word("null"))
      n->lit = Node::kNull;
    else
      return nullptr;
    return n;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

const char* KindName(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "array";
    case element_type::OBJECT:
      return "object";
    case element_type::STRING:
      return "string";
    case element_type::BOOL:
      return "boolean";
    case element_type::NULL_VALUE:
      return "null";
    default:
      return "number";
  }
}

class Evaluator {
 public:
  Evaluator(element root, std::string* error) : root_(root), error_(error) {}
  bool undecided = false;
  bool failed = false;

  // The truthiness of `n` (after `failed`/`undecided` are checked by the caller).
  bool Test(const Node& n) {
    switch (n.kind) {
      case Node::kOr:
        return Test(*n.left) || (!failed && !undecided && Test(*n.right));
      case Node::kAnd:
        return Test(*n.left) && !failed && !undecided && Test(*n.right);
      default:
        return Eval(n).Truthy();
    }
  }

 private:
  Value Eval(const Node& n) {
    Value v;
    switch (n.kind) {
      case Node::kOr:
      case Node::kAnd:
        v.kind = Test(n) ? Value::kTrue : Value::kFalse;
        return v;
      case Node::kLiteral:
        v.kind = static_cast<Value::Kind>(n.lit);  // same order
        v.number = n.number;
        v.string = n.string;
        return v;
      case Node::kPath:
        return Path(n);
      case Node::kCompare: {
        // jq evaluates a comparison's right side first (whose error is then the one seen).
        Value b = Eval(*n.right);
        if (failed || undecided) return v;
        Value a = Eval(*n.left);
        if (failed || undecided) return v;
        if (a.kind == Value::kOther || b.kind == Value::kOther) {
          undecided = true;
          return v;
        }
        int c = Compare(a, b);
        bool r = n.op == Node::kEq   ? c == 0
                 : n.op == Node::kNe ? c != 0
                 : n.op == Node::kLt ? c < 0
                 : n.op == Node::kLe ? c <= 0
                 : n.op == Node::kGt ? c > 0
                                     : c >= 0;
        v.kind = r ? Value::kTrue : Value::kFalse;
        return v;
      }
    }
    return v;
  }

  static int Compare(const Value& a, const Value& b) {
    if (a.kind != b.kind) return a.kind < b.kind ? -1 : 1;
    if (a.kind == Value::kNumber) return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
    if (a.kind == Value::kString) return a.string < b.string ? -1 : a.string > b.string ? 1 : 0;
    return 0;
  }

  Value Path(const Node& n) {
    element cur = root_;
    Value v;
    for (const std::string& key : n.path) {
      element_type t = cur.type();
      if (t == element_type::NULL_VALUE) return v;  // .a of null is null
      if (t != element_type::OBJECT) {
        failed = true;
        if (error_)
          *error_ = std::string("jq: Cannot index ") + KindName(t) + " with string \"" + key + "\"";
        return v;
      }
      std::optional<element> found;
      for (auto field : simdjson::dom::object(cur))
        if (field.key == key) found = field.value;  // the last of duplicates, as jq
      if (!found) return v;                         // null
      cur = *found;
    }
    switch (cur.type()) {
      case element_type::NULL_VALUE:
        v.kind = Value::kNull;
        break;
      case element_type::BOOL:
        v.kind = bool(cur) ? Value::kTrue : Value::kFalse;
        break;
      case element_type::STRING:
        v.kind = Value::kString;
        v.string = std::string_view(cur);
        break;
      case element_type::INT64:
        v.kind = Value::kNumber;
        v.number = double(int64_t(cur));
        break;
      case element_type::UINT64:
        v.kind = Value::kNumber;
        v.number = double(uint64_t(cur));
        break;
      case element_type::DOUBLE:
        v.kind = Value::kNumber;
        v.number = double(cur);
        break;
      default:
        v.kind = Value::kOther;
        break;
    }
    return v;
  }

  element root_;
  std::string* error_;
};

}  // namespace

FastFilter::~FastFilter() = default;

std::unique_ptr<FastFilter> FastFilter::Compile(std::string_view expression) {
  Parser p(expression);
  auto root = p.ParseAll();
  if (!root) return nullptr;
  std::unique_ptr<FastFilter> f(new FastFilter());
  f->root_ = std::move(root);
  // jq 1.6 refuses JSON nested deeper than 256 (MAX_PARSING_DEPTH): so does this parser,
  // leaving such records to jq.
  if (f->parser_.allocate(64 * 1024, 256) != simdjson::SUCCESS) return nullptr;
  return f;
}

FastFilter::Result FastFilter::Evaluate(std::string_view record, std::string* error) {
  element root;
  if (parser_.parse(record.data(), record.size()).get(root) != simdjson::SUCCESS)
    return Result::kUndecided;  // jq says why (or parses what simdjson would not)
  std::string message;
  Evaluator ev(root, &message);
  bool keep = ev.Test(*root_);
  if (ev.undecided) return Result::kUndecided;
  if (ev.failed) {
    if (error) *error = std::move(message);
    return Result::kReject;
  }
  return keep ? Result::kKeep : Result::kReject;
}

}  // namespace millrace::delivery
