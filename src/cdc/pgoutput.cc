#include "cdc/pgoutput.h"

#include <cstdio>

namespace millrace::cdc {

namespace {

// Big-endian reads over a message, failing once past its end.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == b_.size(); }

  uint64_t Int(int bytes) {
    if (!Need(bytes)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = v << 8 | static_cast<unsigned char>(b_[pos_++]);
    return v;
  }
  char Byte() { return static_cast<char>(Int(1)); }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string_view v = b_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::string CString() {
    size_t end = b_.find('\0', pos_);
    if (end == std::string_view::npos) {
      ok_ = false;
      return {};
    }
    std::string s(b_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  std::string_view Rest() {
    std::string_view v = b_.substr(pos_);
    pos_ = b_.size();
    return v;
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || b_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::string_view b_;
  size_t pos_ = 0;
  bool ok_ = true;
};

bool ReadTuple(Reader& r, std::vector<TupleValue>* out) {
  uint64_t n = r.Int(2);
  out->clear();
  out->reserve(n);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    TupleValue v;
    char kind = r.Byte();
    switch (kind) {
      case 'n':
      case 'u':
        v.kind = static_cast<TupleValue::Kind>(kind);
        break;
      case 't':
      case 'b':
        v.kind = static_cast<TupleValue::Kind>(kind);
        v.data = r.Bytes(static_cast<uint32_t>(r.Int(4)));
        break;
      default:
        return false;
    }
    out->push_back(v);
  }
  return r.ok();
}

int64_t UnixMicros(uint64_t pg_micros) {
  return static_cast<int64_t>(pg_micros) + kPgEpochOffsetMicros;
}

void PutInt(uint64_t v, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

}  // namespace

std::string LsnString(Lsn lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

std::optional<Lsn> ParseLsn(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size() || slash > 8 ||
      s.size() - slash - 1 > 8)
    return std::nullopt;
  uint64_t hi = 0, lo = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == slash) continue;
    char c = s[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (d < 0) return std::nullopt;
    uint64_t& part = i < slash ? hi : lo;
    part = part * 16 + d;
  }
  return hi << 32 | lo;
}

Status DecodePgOutput(std::string_view bytes, PgOutputMessage* m) {
  Reader r(bytes);
  char type = r.Byte();
  m->type = static_cast<PgOutputMessage::Type>(type);
  m->old_kind = 0;
  switch (type) {
    case 'B':
      m->final_lsn = r.Int(8);
      m->commit_time_us = UnixMicros(r.Int(8));
      m->xid = static_cast<uint32_t>(r.Int(4));
      break;
    case 'C':
      r.Int(1);  // flags (unused)
      m->commit_lsn = r.Int(8);
      m->end_lsn = r.Int(8);
      m->commit_time_us = UnixMicros(r.Int(8));
      break;
    case 'O':
      r.Int(8);
      r.CString();
      break;
    case 'R': {
      m->relation_id = static_cast<uint32_t>(r.Int(4));
      m->schema = r.CString();
      m->name = r.CString();
      m->replica_identity = r.Byte();
      uint64_t n = r.Int(2);
      m->columns.clear();
      for (uint64_t i = 0; i < n && r.ok(); ++i) {
        RelationColumn c;
        c.key = (r.Int(1) & 1) != 0;
        c.name = r.CString();
        c.type_oid = static_cast<uint32_t>(r.Int(4));
        c.type_mod = static_cast<int32_t>(r.Int(4));
        m->columns.push_back(std::move(c));
      }
      break;
    }
    case 'Y':
      m->type_oid = static_cast<uint32_t>(r.Int(4));
      m->schema = r.CString();
      m->name = r.CString();
      break;
    case 'I':
      m->relation_id = static_cast<uint32_t>(r.Int(4));
      if (r.Byte() != 'N' || !ReadTuple(r, &m->new_tuple))
        return Status::Corruption("pgoutput: malformed Insert");
      break;
    case 'U': {
      m->relation_id = static_cast<uint32_t>(r.Int(4));
      char k = r.Byte();
      m->old_tuple.clear();
      if (k == 'K' || k == 'O') {
        m->old_kind = k;
        if (!ReadTuple(r, &m->old_tuple)) return Status::Corruption("pgoutput: malformed Update");
        k = r.Byte();
      }
      if (k != 'N' || !ReadTuple(r, &m->new_tuple))
        return Status::Corruption("pgoutput: malformed Update");
      break;
    }
    case 'D': {
      m->relation_id = static_cast<uint32_t>(r.Int(4));
      char k = r.Byte();
      if (k != 'K' && k != 'O') return Status::Corruption("pgoutput: malformed Delete");
      m->old_kind = k;
      m->new_tuple.clear();
      if (!ReadTuple(r, &m->old_tuple)) return Status::Corruption("pgoutput: malformed Delete");
      break;
    }
    case 'T': {
      uint64_t n = r.Int(4);
      r.Int(1);  // options: CASCADE, RESTART IDENTITY
      m->truncated.clear();
      for (uint64_t i = 0; i < n && r.ok(); ++i)
        m->truncated.push_back(static_cast<uint32_t>(r.Int(4)));
      break;
    }
    case 'M':
      r.Rest();
      break;
    default:
      return Status::Corruption(std::string("pgoutput: unknown message type '") + type + "'");
  }
  if (!r.ok()) return Status::Corruption(std::string("pgoutput: truncated message '") + type + "'");
  return Status::Ok();
}

Status DecodeReplicationMessage(std::string_view bytes, ReplicationMessage* out) {
  Reader r(bytes);
  char kind = r.Byte();
  if (kind == 'w') {
    out->kind = ReplicationMessage::kXLogData;
    out->wal_start = r.Int(8);
    out->wal_end = r.Int(8);
    r.Int(8);  // send time
    out->reply_requested = false;
    out->data = r.Rest();
  } else if (kind == 'k') {
    out->kind = ReplicationMessage::kKeepalive;
    out->wal_end = r.Int(8);
    r.Int(8);
    out->reply_requested = r.Int(1) != 0;
    out->data = {};
  } else {
    return Status::Corruption(std::string("replication stream: unknown message '") + kind + "'");
  }
  if (!r.ok()) return Status::Corruption("replication stream: truncated message");
  return Status::Ok();
}

std::string EncodeStandbyStatus(Lsn lsn, int64_t now_us, bool reply_requested) {
  std::string out;
  out.push_back('r');
  PutInt(lsn, 8, &out);  // written
  PutInt(lsn, 8, &out);  // flushed
  PutInt(lsn, 8, &out);  // applied
  PutInt(static_cast<uint64_t>(now_us - kPgEpochOffsetMicros), 8, &out);
  out.push_back(reply_requested ? 1 : 0);
  return out;
}

}  // namespace millrace::cdc
