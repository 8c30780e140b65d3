// The python3 runtime's worker program, written to <sandbox work dir>/bootstrap.py and run
// as `python3 -u <that file> <code_dir> <module.function>`: it imports the handler from code_dir
// and answers one invocation per request line (docs/transform-protocol.md, "Worker wire protocol").
#pragma once

namespace millrace::transform {

extern const char kBootstrapPy[];

}  // namespace millrace::transform
