// CodeStore: a transformation's code on disk, one directory per version:
//
//   <data_dir>/transformations/<name>/<version>/   the unpacked code (FunctionSpec::code_dir)
//
// Install writes the code into a temporary directory beside the version's
// (<name>/.tmp-<version>-<pid>-<n>), runs the caller's check on it, and renames it into
// place, so a version directory is either complete or absent. A `.zip` is extracted; any
// other file is written as is under its own name (a `.py` module, an executable).
//
// Extraction is refused (InvalidArgument naming the entry) for: absolute paths, a ".."
// component, backslashes, symlinks (by the entry's Unix mode), more than kMaxFiles entries,
// more than kMaxUnpackedBytes in all (counted on the bytes actually read, not on what the
// archive claims), and duplicate entries. Files get mode 0600, or 0700 when the archive
// marks them executable.
//
// Stateless functions; calls for different names may run concurrently, calls for the same
// name and version must not (the control API runs one request at a time).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace millrace::transform {

class CodeStore {
 public:
  static constexpr uint64_t kMaxUnpackedBytes = 50ull << 20;
  static constexpr size_t kMaxFiles = 2000;

  // Runs on the unpacked code before it is put in place; a failure is returned by Install
  // and nothing is left on disk.
  using Check = std::function<Status(const std::string& dir)>;

  // Unpacks `content` (named `file_name`, a plain file name) as `version` of `name`, and
  // returns the version's directory (an absolute path). A directory left there by an
  // earlier attempt that failed after the rename is replaced. InvalidArgument for bad
  // input (the message says which), IoError or NoSpace for the disk.
  [[nodiscard]] static Result<std::string> Install(const std::string& data_dir,
                                                   const std::string& name, int64_t version,
                                                   const std::string& file_name,
                                                   std::string_view content,
                                                   const Check& check = {});

  // <data_dir>/transformations/<name>
  static std::string Dir(const std::string& data_dir, const std::string& name);

  // Removes every version of `name` (nothing to remove is not an error).
  [[nodiscard]] static Status Remove(const std::string& data_dir, const std::string& name);
  // Removes one version's directory, e.g. versions no longer in use.
  [[nodiscard]] static Status RemoveVersion(const std::string& data_dir, const std::string& name,
                                            int64_t version);
};

}  // namespace millrace::transform
