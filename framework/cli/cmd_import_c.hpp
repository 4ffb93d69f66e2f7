#pragma once
/// \file
/// `hawx blocks import-c`: EvoApproxLib C circuits -> table files, or -> a plugin source
/// (the mode hawx_add_c_blocks uses).
#include <string>
#include <vector>

namespace hawx::cli {

/// Runs `hawx blocks import-c` with the arguments that follow "import-c". Prints its
/// report on stdout (warnings on stderr) and returns the exit status (0; --help: 0).
/// Errors, including published-figure mismatches under --strict, are thrown as
/// hawx::Error (the caller prints "hawx: <msg>" and exits 2).
int import_c_command(const std::vector<std::string>& args);

}  // namespace hawx::cli
