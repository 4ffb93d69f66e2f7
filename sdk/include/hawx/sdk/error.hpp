#pragma once
/// \file
/// The one exception type that crosses the plugin boundary.
#include <stdexcept>
#include <string>

/// Types whose identity must be the same in the core and every plugin (exceptions caught
/// across the boundary, interfaces) keep default visibility even in plugins built with
/// -fvisibility=hidden.
#define HAWX_VISIBLE __attribute__((visibility("default")))

namespace hawx {

/// A user-facing error: bad input, a broken plugin, an impossible parameter.
/// Contract: `what()` is one line that names the offending input and the problem.
/// Library code (core and plugins) throws this and never calls exit(); the CLI turns
/// it into "hawx: <what>" on stderr and exit status 2.
class HAWX_VISIBLE Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace hawx
