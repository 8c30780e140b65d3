// The python3 runtime's worker program, run as `python3 -u -c <kBootstrapPy> <code_dir>
// <module.function>`: it imports the handler from code_dir and answers one invocation per
// request line (docs/transform-protocol.md, "Worker wire protocol").
#pragma once

namespace millrace::transform {

extern const char kBootstrapPy[];

}  // namespace millrace::transform
