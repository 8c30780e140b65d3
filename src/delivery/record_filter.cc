#include "delivery/record_filter.h"

extern "C" {
#include <jq.h>
#include <jv.h>
}

#include <climits>

#include "delivery/jq_messages.h"

namespace millrace::delivery {

Result<std::unique_ptr<RecordFilter>> RecordFilter::Compile(std::string_view expression,
                                                            bool fast) {
  if (expression.size() > kMaxExpressionBytes)
    return Status::InvalidArgument("is longer than " + std::to_string(kMaxExpressionBytes) +
                                   " bytes");
  if (expression.find('\0') != std::string_view::npos)
    return Status::InvalidArgument("must not contain a NUL character");
  std::unique_ptr<RecordFilter> f(new RecordFilter());
  f->jq_ = jq_init();
  if (f->jq_ == nullptr) return Status::ResourceExhausted("jq_init failed");
  jq_set_error_cb(f->jq_, CollectJqMessage, &f->messages_);
  const std::string text(expression);
  if (!jq_compile(f->jq_, text.c_str())) {
    std::string why = f->messages_.empty() ? "does not compile" : f->messages_;
    return Status::InvalidArgument("is not a valid jq expression: " + why);
  }
  if (fast) f->fast_ = FastFilter::Compile(expression);
  return f;
}

RecordFilter::~RecordFilter() {
  if (jq_ != nullptr) jq_teardown(&jq_);
}

bool RecordFilter::Keep(std::string_view record, std::string* error) {
  if (error) error->clear();
  if (fast_) {
    FastFilter::Result r = fast_->Evaluate(record, error);
    if (r != FastFilter::Result::kUndecided) return r == FastFilter::Result::kKeep;
  }
  if (record.size() > static_cast<size_t>(INT_MAX)) {
    if (error) *error = "the record is too large to evaluate";
    return false;
  }
  jv value = jv_parse_sized(record.data(), static_cast<int>(record.size()));
  if (!jv_is_valid(value)) {
    if (error) {
      jv msg = jv_invalid_get_msg(jv_copy(value));
      *error = "the record is not one JSON value";
      if (jv_get_kind(msg) == JV_KIND_STRING) *error += std::string(": ") + jv_string_value(msg);
      jv_free(msg);
    }
    jv_free(value);
    return false;
  }
  messages_.clear();
  jq_start(jq_, value, 0);  // takes `value`
  jv out = jq_next(jq_);
  bool keep = false;
  if (jv_is_valid(out)) {
    jv_kind k = jv_get_kind(out);
    keep = k != JV_KIND_FALSE && k != JV_KIND_NULL;
  } else if (jv_invalid_has_msg(jv_copy(out)) && error) {
    jv msg = jv_invalid_get_msg(jv_copy(out));
    jv text = jv_get_kind(msg) == JV_KIND_STRING ? jv_copy(msg) : jv_dump_string(jv_copy(msg), 0);
    *error = std::string("jq: ") + jv_string_value(text);
    jv_free(text);
    jv_free(msg);
  }
  jv_free(out);
  return keep;
}

}  // namespace millrace::delivery
