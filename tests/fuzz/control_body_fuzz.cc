// libFuzzer target for the control API's bodies (delivery/spec.h): arbitrary bytes as a
// dataset or consumer document. Besides "no crash": an accepted document's name is one that
// cannot leave its folder.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "delivery/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace millrace;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto check = [](const std::string& name) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
        name.find('\0') != std::string::npos)
      std::abort();
  };
  if (auto d = delivery::ParseDataset(in); d.ok()) check(d->name);
  if (auto c = delivery::ParseConsumer(in); c.ok()) check(c->name);
  return 0;
}
