// libFuzzer target for the Kinesis request validation (kinesis/schema.h): arbitrary bytes
// as a JSON body, validated against every action's schema. Besides "no crash": a refusal's
// message stays bounded whatever the input (at most ten errors, each value quoted up to a
// limit).
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>

#include "kinesis/action.h"
#include "kinesis/schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace millrace;
  static simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(reinterpret_cast<const char*>(data), size).get(doc) != simdjson::SUCCESS)
    return 0;
  for (const kinesis::Action* a : kinesis::AllActions()) {
    auto failure = kinesis::Validate(doc, *a->schema);
    if (failure && failure->message.size() > 64 * 1024) std::abort();
  }
  return 0;
}
