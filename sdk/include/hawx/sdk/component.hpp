#pragma once
/// \file
/// Metadata every component declares about itself (name, kind, version, summary, schema).
#include <string>
#include <vector>

#include "hawx/sdk/params.hpp"

namespace hawx {

/// The four component kinds.
enum class Kind { Block, Metric, Search, Accelerator };

inline const char* to_string(Kind k) {
    switch (k) {
        case Kind::Block: return "block";
        case Kind::Metric: return "metric";
        case Kind::Search: return "search";
        case Kind::Accelerator: return "accelerator";
    }
    return "?";
}

/// Self-description of a component, returned by the component class's static
/// `describe()`. `name` is unique within its library and is what manifests use after
/// the library prefix (`library.name`). Names: [A-Za-z0-9_-]+.
struct ComponentInfo {
    std::string name;
    Kind kind = Kind::Block;
    std::string version;  ///< the component's own version, e.g. "1.0"
    std::string summary;  ///< one line
    std::vector<ParamSpec> params;
};

}  // namespace hawx
