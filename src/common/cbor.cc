#include "common/cbor.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>

#include "common/encoding.h"
#include "common/json_writer.h"

namespace millrace {
namespace {

constexpr uint8_t kBreak = 0xff;

class Decoder {
 public:
  Decoder(std::string_view in, std::string* out, CborBlobs* blobs)
      : in_(in), out_(out), blobs_(blobs) {}

  std::optional<std::string> Top() {
    if (auto e = Item(0)) return e;
    if (pos_ != in_.size()) return "bytes after the end of the CBOR item";
    return std::nullopt;
  }

 private:
  // Reads an item's head: major type, additional info, argument.
  std::optional<std::string> Head(uint8_t* major, uint8_t* info, uint64_t* arg) {
    if (pos_ >= in_.size()) return "truncated CBOR";
    const uint8_t b = static_cast<uint8_t>(in_[pos_++]);
    *major = b >> 5;
    *info = b & 0x1f;
    if (*info < 24) {
      *arg = *info;
      return std::nullopt;
    }
    if (*info > 27) {
      if (*info == 31) return std::nullopt;  // indefinite length, or a break
      return "reserved CBOR additional information";
    }
    const size_t n = size_t{1} << (*info - 24);
    if (in_.size() - pos_ < n) return "truncated CBOR";
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(in_[pos_ + i]);
    pos_ += n;
    *arg = v;
    return std::nullopt;
  }

  bool AtBreak() const { return pos_ < in_.size() && static_cast<uint8_t>(in_[pos_]) == kBreak; }

  // The bytes of a (possibly indefinite) byte or text string of major type `major`.
  std::optional<std::string> StringBytes(uint8_t major, uint8_t info, uint64_t arg,
                                         std::string* bytes) {
    if (info != 31) {
      if (in_.size() - pos_ < arg) return "truncated CBOR";
      bytes->append(in_.data() + pos_, arg);
      pos_ += arg;
      return std::nullopt;
    }
    while (true) {
      if (pos_ >= in_.size()) return "truncated CBOR";
      if (AtBreak()) {
        ++pos_;
        return std::nullopt;
      }
      uint8_t m, i;
      uint64_t a;
      if (auto e = Head(&m, &i, &a)) return e;
      if (m != major || i == 31) return "a malformed chunk in an indefinite-length CBOR string";
      if (in_.size() - pos_ < a) return "truncated CBOR";
      bytes->append(in_.data() + pos_, a);
      pos_ += a;
    }
  }

  void Number(double d) {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.17g", d);
    out_->append(buf, static_cast<size_t>(n));
  }

  std::optional<std::string> Item(int depth) {
    if (depth > kCborMaxDepth) return "CBOR nested too deeply";
    uint8_t major, info;
    uint64_t arg;
    if (auto e = Head(&major, &info, &arg)) return e;
    if (info == 31 && (major == 0 || major == 1 || major == 6))
      return "indefinite length on a CBOR integer or tag";
    switch (major) {
      case 0:
        out_->append(std::to_string(arg));
        return std::nullopt;
      case 1:  // -1 - arg
        if (arg == UINT64_MAX) {
          out_->append("-18446744073709551616");
        } else {
          out_->push_back('-');
          out_->append(std::to_string(arg + 1));
        }
        return std::nullopt;
      case 2: {
        std::string bytes;
        if (auto e = StringBytes(2, info, arg, &bytes)) return e;
        if (blobs_) {
          out_->append("\"\\u0001");
          out_->append(blobs_->tag);
          out_->append(std::to_string(blobs_->bytes.size()));
          out_->push_back('"');
          blobs_->bytes.push_back(std::move(bytes));
          return std::nullopt;
        }
        out_->push_back('"');
        Base64Encode(bytes, out_);
        out_->push_back('"');
        return std::nullopt;
      }
      case 3: {
        std::string text;
        if (auto e = StringBytes(3, info, arg, &text)) return e;
        JsonWriter w(out_);
        w.String(text);
        return std::nullopt;
      }
      case 4: {
        out_->push_back('[');
        for (uint64_t i = 0; info == 31 ? !AtBreak() : i < arg; ++i) {
          if (info == 31 && pos_ >= in_.size()) return "truncated CBOR";
          if (i > 0) out_->push_back(',');
          if (auto e = Item(depth + 1)) return e;
        }
        if (info == 31) ++pos_;
        out_->push_back(']');
        return std::nullopt;
      }
      case 5: {
        out_->push_back('{');
        for (uint64_t i = 0; info == 31 ? !AtBreak() : i < arg; ++i) {
          if (info == 31 && pos_ >= in_.size()) return "truncated CBOR";
          if (i > 0) out_->push_back(',');
          if (pos_ >= in_.size()) return "truncated CBOR";
          if ((static_cast<uint8_t>(in_[pos_]) >> 5) != 3) return "a CBOR map key that is not text";
          if (auto e = Item(depth + 1)) return e;
          out_->push_back(':');
          if (auto e = Item(depth + 1)) return e;
        }
        if (info == 31) ++pos_;
        out_->push_back('}');
        return std::nullopt;
      }
      case 6: {
        if (arg != 1) return Item(depth + 1);  // a tag we do not know: its content
        // A timestamp: integer epoch milliseconds (the Java SDK), or float epoch seconds.
        uint8_t m, i;
        uint64_t a;
        if (auto e = Head(&m, &i, &a)) return e;
        if (m == 0 || m == 1) {
          if (a > (uint64_t{1} << 53)) return "a CBOR timestamp out of range";
          const int64_t ms = m == 0 ? static_cast<int64_t>(a) : -1 - static_cast<int64_t>(a);
          char buf[40];
          const int64_t whole = ms / 1000, frac = ms % 1000;
          int n = std::snprintf(buf, sizeof buf, "%s%lld.%03lld", ms < 0 && whole == 0 ? "-" : "",
                                static_cast<long long>(whole),
                                static_cast<long long>(frac < 0 ? -frac : frac));
          out_->append(buf, static_cast<size_t>(n));
          return std::nullopt;
        }
        if (m == 7 && i >= 25 && i <= 27) return Float(i, a);
        return "a CBOR timestamp (tag 1) that is not a number";
      }
      default:  // 7
        switch (info) {
          case 20:
            out_->append("false");
            return std::nullopt;
          case 21:
            out_->append("true");
            return std::nullopt;
          case 22:
          case 23:
            out_->append("null");
            return std::nullopt;
          case 25:
          case 26:
          case 27:
            return Float(info, arg);
          case 31:
            return "a CBOR break outside an indefinite-length item";
          default:
            return "an unassigned CBOR simple value";
        }
    }
  }

  std::optional<std::string> Float(uint8_t info, uint64_t arg) {
    double d;
    if (info == 25) {  // half precision (RFC 8949 appendix D)
      const int exp = (arg >> 10) & 0x1f;
      const int mant = arg & 0x3ff;
      if (exp == 0) {
        d = std::ldexp(mant, -24);
      } else if (exp != 31) {
        d = std::ldexp(mant + 1024, exp - 25);
      } else {
        d = mant == 0 ? INFINITY : NAN;
      }
      if (arg & 0x8000) d = -d;
    } else if (info == 26) {
      uint32_t bits = static_cast<uint32_t>(arg);
      float f;
      std::memcpy(&f, &bits, sizeof f);
      d = f;
    } else {
      std::memcpy(&d, &arg, sizeof d);
    }
    if (!std::isfinite(d)) return "a CBOR number that is NaN or infinite";
    Number(d);
    return std::nullopt;
  }

  std::string_view in_;
  size_t pos_ = 0;
  std::string* out_;
  CborBlobs* blobs_;  // byte strings go here, referenced from the JSON (or null)
};

void PutHead(uint8_t major, uint64_t arg, std::string* out) {
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (arg < 24) {
    out->push_back(static_cast<char>(m | arg));
    return;
  }
  int bytes = arg <= 0xff ? 1 : arg <= 0xffff ? 2 : arg <= 0xffffffffu ? 4 : 8;
  out->push_back(static_cast<char>(m | (bytes == 1 ? 24 : bytes == 2 ? 25 : bytes == 4 ? 26 : 27)));
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((arg >> (8 * i)) & 0xff));
}

void PutInt(int64_t v, std::string* out) {
  if (v >= 0) {
    PutHead(0, static_cast<uint64_t>(v), out);
  } else {
    PutHead(1, static_cast<uint64_t>(-1 - v), out);
  }
}

void PutDouble(double d, std::string* out) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  out->push_back(static_cast<char>(0xfb));
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

bool Encode(simdjson::dom::element v, CborMember member, const CborClassifier& kind,
            std::string* out) {
  using T = simdjson::dom::element_type;
  if (member == CborMember::kBlob && v.type() == T::STRING) {
    std::string_view s = v.get_string().value_unsafe();
    std::string bytes;
    if (!Base64Decode(s, &bytes)) return false;
    PutHead(2, bytes.size(), out);
    out->append(bytes);
    return true;
  }
  if (member == CborMember::kTimestamp) {
    double seconds;
    if (v.get_double().get(seconds) != simdjson::SUCCESS) return false;
    PutHead(6, 1, out);
    PutInt(std::llround(seconds * 1000), out);
    return true;
  }
  switch (v.type()) {
    case T::OBJECT: {
      simdjson::dom::object o = v.get_object().value_unsafe();
      PutHead(5, o.size(), out);
      for (auto field : o) {
        PutHead(3, field.key.size(), out);
        out->append(field.key);
        if (!Encode(field.value, kind(field.key), kind, out)) return false;
      }
      return true;
    }
    case T::ARRAY: {
      simdjson::dom::array a = v.get_array().value_unsafe();
      PutHead(4, a.size(), out);
      for (auto e : a)  // an array's elements are what its member is (Records[].Data: plain)
        if (!Encode(e, member, kind, out)) return false;
      return true;
    }
    case T::STRING: {
      std::string_view s = v.get_string().value_unsafe();
      PutHead(3, s.size(), out);
      out->append(s);
      return true;
    }
    case T::INT64:
      PutInt(v.get_int64().value_unsafe(), out);
      return true;
    case T::UINT64:
      PutHead(0, v.get_uint64().value_unsafe(), out);
      return true;
    case T::DOUBLE:
      PutDouble(v.get_double().value_unsafe(), out);
      return true;
    case T::BOOL:
      out->push_back(v.get_bool().value_unsafe() ? static_cast<char>(0xf5)
                                                 : static_cast<char>(0xf4));
      return true;
    case T::NULL_VALUE:
      out->push_back(static_cast<char>(0xf6));
      return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> CborToJson(std::string_view in, std::string* out, CborBlobs* blobs) {
  return Decoder(in, out, blobs).Top();
}

CborBlobs::CborBlobs() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t r = rng();
  for (int i = 0; i < 16; ++i, r >>= 4) tag.push_back(kHex[r & 15]);
  tag.push_back(':');
}

const std::string* CborBlobs::Resolve(std::string_view value) const {
  if (value.size() < tag.size() + 2 || value[0] != '\x01' || value.substr(1, tag.size()) != tag)
    return nullptr;
  size_t index = 0;
  std::string_view digits = value.substr(1 + tag.size());
  if (digits.size() > 9) return nullptr;
  for (char c : digits) {
    if (c < '0' || c > '9') return nullptr;
    index = index * 10 + static_cast<size_t>(c - '0');
  }
  return index < bytes.size() ? &bytes[index] : nullptr;
}

bool JsonToCbor(simdjson::dom::element value, const CborClassifier& kind, std::string* out) {
  return Encode(value, CborMember::kPlain, kind, out);
}

}  // namespace millrace
