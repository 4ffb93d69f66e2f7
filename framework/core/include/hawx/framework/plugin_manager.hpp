#pragma once
// The core's side of the plugin boundary: finding, opening and checking plugin libraries,
// the registry of their components, and creating components with validated parameters.
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "hawx/sdk/hawx.hpp"

namespace boost::dll {
class shared_library;
}

namespace hawx {

/// One opened, checked plugin library.
struct LibraryRecord {
    std::string name;
    std::string version;
    std::string path;
    std::string build_id;
    std::shared_ptr<boost::dll::shared_library> handle;
};

using AnyFactory = std::variant<Factory<ApproxBlock>, Factory<SensitivityMetric>, Factory<SearchStrategy>,
                                Factory<AcceleratorModel>>;

/// One registered component. `library` is declared before `factory` so the factory (plugin
/// code) is destroyed while its library is still loaded.
struct ComponentEntry {
    std::shared_ptr<const LibraryRecord> library;
    ComponentInfo info;
    AnyFactory factory;
    std::string qualified_name() const { return library->name + "." + info.name; }
};

/// Where and how plugins are found. Search order: `extra` (a manifest's plugins.paths),
/// then the folders in $HAWX_PLUGIN_PATH (':'-separated), then the built-in plugin folder.
std::vector<std::string> plugin_search_path(const std::vector<std::string>& extra);
/// The folder holding the built-in plugins: <prefix>/lib/hawx/plugins, found relative to the
/// core library itself, so it is right in the build tree and after installation.
std::string builtin_plugin_dir();
/// The build id of the core (plugins must match it exactly).
std::string core_build_id();

class PluginManager {
public:
    explicit PluginManager(std::vector<std::string> search_path);
    ~PluginManager();
    PluginManager(const PluginManager&) = delete;
    PluginManager& operator=(const PluginManager&) = delete;

    const std::vector<std::string>& search_path() const { return search_path_; }

    /// Opens library `name` (file hawx_<name>.so, first match in the search path) unless
    /// already open. Throws hawx::Error naming the file(s) and the reason.
    const LibraryRecord& load(const std::string& name);
    /// Opens the library file at `path` directly (used by discovery and tests).
    const LibraryRecord& load_file(const std::string& path);

    /// Library names available in the search path (first occurrence of each name wins).
    std::vector<std::pair<std::string, std::string>> discover() const;  // (name, path)

    /// Looks up `library.component`, loading the library if needed. Throws hawx::Error for a
    /// malformed name, an unknown library or component (listing what the library offers),
    /// or a component of another kind than `expected`.
    const ComponentEntry& find(const std::string& qualified, Kind expected);
    /// Every registered component of the loaded libraries, ordered by qualified name.
    std::vector<const ComponentEntry*> components() const;

    /// Validates `params` (a JSON object) against the component's schema and fills defaults;
    /// `context` prefixes every error message (e.g. "lenet5.json: blocks[2] (T4)"); relative
    /// Path values are resolved against `base_dir`.
    Params resolve_params(const ComponentEntry& entry, const nlohmann::json& params, const std::string& context,
                          const std::string& base_dir) const;

    /// Creates a component. The returned object keeps its library loaded for its whole lifetime.
    template <class T>
    std::shared_ptr<T> create(const ComponentEntry& entry, const Params& params, const std::string& context) const;

private:
    struct LibraryComponents;
    std::vector<std::string> search_path_;
    std::map<std::string, std::shared_ptr<const LibraryRecord>> libraries_;  // by library name
    std::map<std::string, std::string> loaded_paths_;                        // path -> library name
    std::map<std::string, ComponentEntry> components_;                      // by qualified name
};

/// JSON form of a schema and of component metadata (for `plugins list --json` and the
/// resolved manifest).
nlohmann::json to_json(const ParamSpec& spec);
nlohmann::json to_json(const ComponentEntry& entry);
nlohmann::json to_json(const Params& params);

extern template std::shared_ptr<ApproxBlock> PluginManager::create<ApproxBlock>(const ComponentEntry&, const Params&,
                                                                              const std::string&) const;
extern template std::shared_ptr<SensitivityMetric> PluginManager::create<SensitivityMetric>(const ComponentEntry&,
                                                                                          const Params&,
                                                                                          const std::string&) const;
extern template std::shared_ptr<SearchStrategy> PluginManager::create<SearchStrategy>(const ComponentEntry&,
                                                                                    const Params&,
                                                                                    const std::string&) const;
extern template std::shared_ptr<AcceleratorModel> PluginManager::create<AcceleratorModel>(const ComponentEntry&,
                                                                                        const Params&,
                                                                                        const std::string&) const;

}  // namespace hawx
