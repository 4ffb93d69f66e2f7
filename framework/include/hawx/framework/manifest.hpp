#pragma once
// Experiment manifests: parsed and validated completely (structure, then every named
// component and its parameters) before anything is built.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hawx/framework/plugin_manager.hpp"

namespace hawx {

/// Current manifest format version (the required top-level key "hawx").
inline constexpr int kManifestFormat = 1;

/// A component named in a manifest, before validation of its parameters.
struct ComponentRef {
    std::string name;       ///< short name (blocks, accelerators); empty for metric and search
    std::string component;  ///< library.component
    nlohmann::json params = nlohmann::json::object();
    std::string where;      ///< location in the manifest for messages, e.g. "blocks[2] (T4)"
};

struct Manifest {
    std::string path;  ///< file it was read from ("" when parsed from memory)
    std::string dir;   ///< folder relative paths are resolved against
    std::string name;
    std::string description;
    std::uint64_t seed = 0;
    std::vector<std::string> plugin_paths;  ///< resolved against dir
    std::vector<ComponentRef> blocks;
    std::optional<ComponentRef> metric;
    std::optional<ComponentRef> search;
    std::vector<ComponentRef> accelerators;
    std::string output_dir = "runs";  ///< resolved against dir
};

/// Structural validation of a manifest document: required keys, types, no unknown keys
/// (a typo must not silently change an experiment), unique short names. Throws hawx::Error
/// "<file>: <where>: <problem>".
Manifest parse_manifest(const nlohmann::json& doc, const std::string& path);
/// Reads and parses a manifest file (missing file and malformed JSON are one-line errors).
Manifest read_manifest(const std::string& path);

struct ResolvedComponent {
    ComponentRef ref;
    const ComponentEntry* entry = nullptr;
    Params params;
};

/// A manifest whose every component exists, has the right kind and valid parameters.
struct ResolvedManifest {
    Manifest manifest;
    std::vector<ResolvedComponent> blocks;
    std::optional<ResolvedComponent> metric;
    std::optional<ResolvedComponent> search;
    std::vector<ResolvedComponent> accelerators;
    /// The manifest with defaults filled, plus the plugin libraries (version, path, build id)
    /// and the core's build id: written next to every result.
    nlohmann::json to_json() const;
};

/// Loads the libraries the manifest names and validates every component and parameter.
/// Nothing is instantiated.
ResolvedManifest resolve_manifest(const Manifest& m, PluginManager& plugins);

/// The manifest's components, instantiated (in manifest order).
struct Instances {
    std::vector<std::pair<std::string, std::shared_ptr<ApproxBlock>>> blocks;
    std::shared_ptr<SensitivityMetric> metric;
    std::shared_ptr<SearchStrategy> search;
    std::vector<std::pair<std::string, std::shared_ptr<AcceleratorModel>>> accelerators;
};
Instances instantiate(const ResolvedManifest& r, const PluginManager& plugins);

}  // namespace hawx
