#pragma once
// Result files are never half-written and run folders never overwritten.
#include <string>

namespace hawx {

/// Writes `content` to `path` through a temporary file in the same folder that is flushed,
/// fsync'd and renamed into place. Throws hawx::Error naming the file.
void write_file_atomic(const std::string& path, const std::string& content);

/// Creates a new run folder `<base>/<name>`, or `<base>/<name>-2`, `-3`, ... when taken
/// (creation is atomic, so two concurrent runs never share a folder). Returns its path.
std::string create_run_dir(const std::string& base, const std::string& name);

}  // namespace hawx
