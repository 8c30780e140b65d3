// Status and Result<T>: how every fallible operation in Millrace reports failure.
//
// Errors the input or the environment can cause are values, never exceptions or asserts.
// A Status carries a code (what kind of failure, for mapping to the wire) and a message
// (what a human needs to fix it). Both types are [[nodiscard]]: ignoring one is a bug.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace millrace {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong; retrying it unchanged will fail again
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // the named thing exists already
  kFailedPrecondition,  // the thing exists but is not in a state that allows this
  kResourceExhausted,   // a limit was reached (throughput, count, size)
  kPermissionDenied,    // the caller is known but not allowed
  kUnauthenticated,     // the caller could not be identified
  kIoError,             // the operating system refused a file operation
  kNoSpace,             // the disk is full; retry once space returns
  kCorruption,          // stored data failed its checksum or does not parse
  kUnavailable,         // transient; retry
  kThrottled,           // a rate limit was passed; retry later
  kExpired,             // a token (iterator, signature) is too old
  kInternal,            // a bug
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {Code::kFailedPrecondition, std::move(m)};
  }
  static Status ResourceExhausted(std::string m) {
    return {Code::kResourceExhausted, std::move(m)};
  }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
  static Status NoSpace(std::string m) { return {Code::kNoSpace, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Throttled(std::string m) { return {Code::kThrottled, std::move(m)}; }
  static Status Expired(std::string m) { return {Code::kExpired, std::move(m)}; }
  // An IoError or NoSpace built from errno, naming the operation and the path.
  static Status FromErrno(int err, const std::string& what);

  // The exception name the wire answers with, where the code alone does not say it (a
  // KMSDisabledException and a ResourceInUseException are both failed preconditions).
  Status WithType(std::string type) && {
    type_ = std::move(type);
    return std::move(*this);
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& type() const { return type_; }  // empty unless WithType set it
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string type_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "a Result built from a Status must carry an error");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

#define MILLRACE_RETURN_IF_ERROR(expr) \
  do {                                 \
    ::millrace::Status _st = (expr);   \
    if (!_st.ok()) return _st;         \
  } while (0)

}  // namespace millrace
