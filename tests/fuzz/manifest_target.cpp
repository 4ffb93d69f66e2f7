// Fuzz target: experiment manifests, through read_manifest (the CLI's path: file -> JSON
// parse, parse errors mapped to hawx::Error -> structural validation).
#include <hawx/framework/manifest.hpp>

#include "fuzz_target.hpp"

namespace hawx::fuzz {

void manifest_entry(const std::uint8_t* data, std::size_t size) {
    const std::string path = scratch_file("manifest.json", data, size);
    // Names, keys and choices are quoted with control characters escaped; component names
    // reach the plugin manager's messages verbatim, so multi-line messages stay allowed here.
    expect_clean("manifest", [&] { read_manifest(path); }, /*multi_line_ok=*/true);
}

}  // namespace hawx::fuzz
