#pragma once
// Internal to the dataset readers: bounded whole-file reads and safe quoting of file content.
#include <cstddef>
#include <string>

namespace hawx::detail {

/// Makes arbitrary file content safe to quote in a one-line message.
std::string printable(const std::string& s, std::size_t max_len = 40);
/// Reads a whole regular file; the allocation is bounded by the file's real size.
std::string read_whole_file(const std::string& path);

}  // namespace hawx::detail
