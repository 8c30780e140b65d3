// Helpers shared by the control_* tests: capturing an answer and reading its JSON.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>

#include <future>
#include <string>
#include <string_view>

#include "http/message.h"

namespace millrace::control {

// Captures the one answer to a request.
class Capture : public http::Responder::Sink {
 public:
  void Deliver(http::Response r) override { promise.set_value(std::move(r)); }
  std::promise<http::Response> promise;
};

// An answer with its body parsed.
struct Reply {
  int status = 0;
  std::string body;
  simdjson::dom::parser parser;
  simdjson::dom::element root;

  simdjson::dom::element At(std::string_view pointer) const {
    simdjson::dom::element e;
    EXPECT_EQ(root.at_pointer(pointer).get(e), simdjson::SUCCESS) << pointer << " in " << body;
    return e;
  }
  std::string Str(std::string_view pointer) const {
    std::string_view s;
    EXPECT_EQ(At(pointer).get(s), simdjson::SUCCESS) << pointer << " in " << body;
    return std::string(s);
  }
  int64_t Int(std::string_view pointer) const {
    int64_t i = -1;
    EXPECT_EQ(At(pointer).get(i), simdjson::SUCCESS) << pointer << " in " << body;
    return i;
  }
  size_t Len(std::string_view pointer) const {
    simdjson::dom::array a;
    EXPECT_EQ(At(pointer).get(a), simdjson::SUCCESS) << pointer << " in " << body;
    return a.size();
  }
  bool Has(std::string_view pointer) const {
    simdjson::dom::element e;
    return root.at_pointer(pointer).get(e) == simdjson::SUCCESS;
  }
};

}  // namespace millrace::control
