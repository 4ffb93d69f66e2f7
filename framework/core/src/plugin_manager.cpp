#include "hawx/framework/plugin_manager.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

namespace fs = std::filesystem;

namespace hawx {

namespace {

const std::regex& name_pattern() {
    static const std::regex re("[A-Za-z0-9_-]+");
    return re;
}

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
    return out;
}

std::string valid_keys(const ComponentInfo& info) {
    std::vector<std::string> keys;
    for (const auto& p : info.params) keys.push_back(p.name);
    std::sort(keys.begin(), keys.end());
    return keys.empty() ? "none: it takes no parameters" : join(keys);
}

bool value_matches_type(const ParamValue& v, ParamType t) {
    switch (t) {
        case ParamType::Bool: return std::holds_alternative<bool>(v);
        case ParamType::Int: return std::holds_alternative<std::int64_t>(v);
        case ParamType::Float: return std::holds_alternative<double>(v) || std::holds_alternative<std::int64_t>(v);
        case ParamType::String:
        case ParamType::Path: return std::holds_alternative<std::string>(v);
    }
    return false;
}

std::optional<double> numeric(const ParamValue& v) {
    if (auto i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    if (auto d = std::get_if<double>(&v)) return *d;
    return std::nullopt;
}

std::string render_number(double d) { return to_string(ParamValue(d)); }

// Checks that a component's self-description is well formed; a malformed schema is a
// plugin bug reported at registration, not at first use.
void check_info(const ComponentInfo& info, Kind expected, const std::string& where) {
    if (!std::regex_match(info.name, name_pattern()))
        throw Error(where + ": component name '" + info.name + "' is invalid (allowed: letters, digits, '_', '-')");
    if (info.kind != expected)
        throw Error(where + ": component '" + info.name + "' declares kind " + to_string(info.kind) +
                    " but was registered as a " + to_string(expected));
    if (info.version.empty()) throw Error(where + ": component '" + info.name + "' declares no version");
    std::set<std::string> seen;
    for (const auto& p : info.params) {
        const std::string w = where + ": component '" + info.name + "' parameter '" + p.name + "'";
        if (!std::regex_match(p.name, name_pattern())) throw Error(w + " has an invalid name");
        if (!seen.insert(p.name).second) throw Error(w + " is declared twice");
        if (p.default_value && !value_matches_type(*p.default_value, p.type))
            throw Error(w + " has a default that is not a " + to_string(p.type));
        if (!p.choices.empty() && p.type != ParamType::String)
            throw Error(w + " lists choices but is not a string");
        if ((p.min || p.max) && p.type != ParamType::Int && p.type != ParamType::Float)
            throw Error(w + " has a range but is not numeric");
        if (p.min && p.max && *p.min > *p.max) throw Error(w + " has an empty range");
        if (p.default_value) {
            if (auto d = numeric(*p.default_value); d && p.type != ParamType::Bool) {
                if ((p.min && *d < *p.min) || (p.max && *d > *p.max)) throw Error(w + " has a default outside its range");
            }
            if (!p.choices.empty()) {
                const auto& s = std::get<std::string>(*p.default_value);
                if (std::find(p.choices.begin(), p.choices.end(), s) == p.choices.end())
                    throw Error(w + " has a default that is not one of its choices");
            }
        }
    }
}

// Errors raised by the registrar itself pass through unchanged; anything else thrown
// during registration is reported as "registration failed".
struct RegistrarError : Error {
    using Error::Error;
};

class LibraryRegistrar final : public Registry {
public:
    LibraryRegistrar(std::shared_ptr<const LibraryRecord> lib) : lib_(std::move(lib)) {}
    void add_block(ComponentInfo info, Factory<ApproxBlock> f) override { add(std::move(info), Kind::Block, std::move(f)); }
    void add_metric(ComponentInfo info, Factory<SensitivityMetric> f) override {
        add(std::move(info), Kind::Metric, std::move(f));
    }
    void add_search(ComponentInfo info, Factory<SearchStrategy> f) override {
        add(std::move(info), Kind::Search, std::move(f));
    }
    void add_accelerator(ComponentInfo info, Factory<AcceleratorModel> f) override {
        add(std::move(info), Kind::Accelerator, std::move(f));
    }
    std::vector<ComponentEntry>& entries() { return entries_; }

private:
    void add(ComponentInfo info, Kind kind, AnyFactory f) {
        try {
            check_info(info, kind, lib_->path);
        } catch (const Error& e) {
            throw RegistrarError(e.what());
        }
        for (const auto& e : entries_)
            if (e.info.name == info.name)
                throw RegistrarError(lib_->path + ": duplicate component name '" + info.name + "' in library '" +
                                     lib_->name + "'");
        if (std::visit([](const auto& fn) { return !fn; }, f))
            throw RegistrarError(lib_->path + ": component '" + info.name + "' registered without a factory");
        entries_.push_back(ComponentEntry{lib_, std::move(info), std::move(f)});
    }
    std::shared_ptr<const LibraryRecord> lib_;
    std::vector<ComponentEntry> entries_;
};

std::string library_name_of_file(const fs::path& p) {
    const std::string f = p.filename().string();
    const std::string prefix = "hawx_", suffix = ".so";
    if (f.size() > prefix.size() + suffix.size() && f.compare(0, prefix.size(), prefix) == 0 &&
        f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0)
        return f.substr(prefix.size(), f.size() - prefix.size() - suffix.size());
    return {};
}

}  // namespace

std::string builtin_plugin_dir() {
    // The core library lives in <prefix>/lib; its plugins in <prefix>/lib/hawx/plugins.
    const fs::path self = boost::dll::this_line_location();
    return (self.parent_path() / "hawx" / "plugins").lexically_normal().string();
}

std::string core_build_id() { return HAWX_BUILD_ID; }

std::vector<std::string> plugin_search_path(const std::vector<std::string>& extra) {
    std::vector<std::string> out = extra;
    if (const char* env = std::getenv("HAWX_PLUGIN_PATH")) {
        std::stringstream ss(env);
        std::string dir;
        while (std::getline(ss, dir, ':'))
            if (!dir.empty()) out.push_back(dir);
    }
    out.push_back(builtin_plugin_dir());
    return out;
}

PluginManager::PluginManager(std::vector<std::string> search_path) : search_path_(std::move(search_path)) {}

PluginManager::~PluginManager() {
    // Drop plugin-owned objects (factories) before the libraries that hold their code.
    components_.clear();
    libraries_.clear();
}

std::vector<std::pair<std::string, std::string>> PluginManager::discover() const {
    std::vector<std::pair<std::string, std::string>> found;
    std::set<std::string> names;
    for (const auto& dir : search_path_) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) continue;
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(dir, ec))
            if (!library_name_of_file(e.path()).empty()) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            const std::string name = library_name_of_file(f);
            if (names.insert(name).second) found.emplace_back(name, f.string());
        }
    }
    return found;
}

const LibraryRecord& PluginManager::load(const std::string& name) {
    if (auto it = libraries_.find(name); it != libraries_.end()) return *it->second;
    if (!std::regex_match(name, name_pattern())) throw Error("invalid plugin library name '" + name + "'");
    std::vector<std::string> failures;
    for (const auto& dir : search_path_) {
        const fs::path candidate = fs::path(dir) / ("hawx_" + name + ".so");
        std::error_code ec;
        if (!fs::exists(candidate, ec)) continue;
        try {
            return load_file(candidate.string());
        } catch (const Error& e) {
            // A file that will not open may be shadowed by a good one later in the path;
            // any other problem (bad ABI, bad registration) is final.
            const std::string msg = e.what();
            if (msg.find(": cannot load plugin library: ") == std::string::npos) throw;
            failures.push_back(msg);
        }
    }
    if (!failures.empty()) throw Error("plugin library '" + name + "' could not be loaded: " + join(failures, "; "));
    throw Error("plugin library '" + name + "' not found (no hawx_" + name + ".so in " + join(search_path_) + ")");
}

const LibraryRecord& PluginManager::load_file(const std::string& path_in) {
    const std::string path = fs::absolute(path_in).lexically_normal().string();
    if (auto it = loaded_paths_.find(path); it != loaded_paths_.end()) return *libraries_.at(it->second);

    auto handle = std::make_shared<boost::dll::shared_library>();
    try {
        handle->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        std::string reason = e.what();
        // Boost prefixes its own function name; keep only the loader's message.
        if (auto pos = reason.find("dlerror system message: "); pos != std::string::npos) {
            reason = reason.substr(pos + std::strlen("dlerror system message: "));
            if (!reason.empty() && reason.back() == ')') reason.pop_back();
        }
        throw Error(path + ": cannot load plugin library: " + reason);
    }
    if (!handle->has(kPluginEntrySymbol))
        throw Error(path + ": not a HAWX plugin: entry point '" + std::string(kPluginEntrySymbol) +
                    "' missing (declare it with HAWX_PLUGIN)");
    const hawx_plugin_descriptor* d = handle->get_alias<PluginEntry>(kPluginEntrySymbol)();
    if (d == nullptr) throw Error(path + ": plugin entry point returned no descriptor");
    if (d->abi_version != HAWX_SDK_ABI_VERSION)
        throw Error(path + ": plugin ABI version " + std::to_string(d->abi_version) + " is not supported (supported: " +
                    std::to_string(HAWX_SDK_ABI_VERSION) + "); rebuild it against this SDK");
    const std::string build_id = d->build_id ? d->build_id : "";
    if (build_id != core_build_id())
        throw Error(path + ": build id mismatch: plugin built with '" + build_id + "', core is '" + core_build_id() +
                    "'; rebuild it against this SDK");
    const std::string lib_name = d->library_name ? d->library_name : "";
    if (!std::regex_match(lib_name, name_pattern()))
        throw Error(path + ": plugin declares an invalid library name '" + lib_name + "'");
    if (const std::string file_name = library_name_of_file(path); !file_name.empty() && file_name != lib_name)
        throw Error(path + ": plugin declares library name '" + lib_name + "' but the file is named for '" + file_name +
                    "'");
    if (libraries_.count(lib_name))
        throw Error(path + ": library '" + lib_name + "' is already loaded from " + libraries_.at(lib_name)->path);
    if (d->register_components == nullptr) throw Error(path + ": plugin descriptor has no registration function");

    auto record = std::make_shared<LibraryRecord>();
    record->name = lib_name;
    record->version = d->library_version ? d->library_version : "";
    record->path = path;
    record->build_id = build_id;
    record->handle = handle;

    LibraryRegistrar registrar(record);
    try {
        d->register_components(registrar);
    } catch (const RegistrarError&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(path + ": plugin registration failed: " + std::string(e.what()));
    } catch (...) {
        throw Error(path + ": plugin registration failed with a non-standard exception");
    }
    for (auto& e : registrar.entries()) {
        const std::string q = e.qualified_name();
        components_.emplace(q, std::move(e));
    }
    libraries_[lib_name] = record;
    loaded_paths_[path] = lib_name;
    return *record;
}

const ComponentEntry& PluginManager::find(const std::string& qualified, Kind expected) {
    const auto dot = qualified.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == qualified.size() ||
        qualified.find('.', dot + 1) != std::string::npos)
        throw Error("component name '" + qualified + "' must be written library.component (e.g. core.exact_mul)");
    const std::string lib = qualified.substr(0, dot);
    const LibraryRecord& rec = load(lib);
    auto it = components_.find(qualified);
    if (it == components_.end()) {
        std::vector<std::string> offered;
        for (const auto& [q, e] : components_)
            if (e.library->name == lib) offered.push_back(e.info.name + " (" + to_string(e.info.kind) + ")");
        throw Error("unknown component '" + qualified + "': library '" + lib + "' (" + rec.path + ") offers " +
                    (offered.empty() ? std::string("nothing") : join(offered)));
    }
    if (it->second.info.kind != expected)
        throw Error("component '" + qualified + "' is a " + to_string(it->second.info.kind) + ", not a " +
                    to_string(expected));
    return it->second;
}

std::vector<const ComponentEntry*> PluginManager::components() const {
    std::vector<const ComponentEntry*> out;
    for (const auto& [q, e] : components_) out.push_back(&e);
    return out;
}

Params PluginManager::resolve_params(const ComponentEntry& entry, const nlohmann::json& params,
                                     const std::string& context, const std::string& base_dir) const {
    const std::string comp = entry.qualified_name();
    const std::string pre = context.empty() ? std::string() : context + ": ";
    if (!params.is_null() && !params.is_object())
        throw Error(pre + "'params' of " + comp + " must be a JSON object, got " + std::string(params.type_name()));
    if (params.is_object())
        for (auto it = params.begin(); it != params.end(); ++it) {
            const bool known = std::any_of(entry.info.params.begin(), entry.info.params.end(),
                                           [&](const ParamSpec& s) { return s.name == it.key(); });
            if (!known)
                throw Error(pre + "unknown parameter '" + it.key() + "' for " + comp + " (valid: " +
                            valid_keys(entry.info) + ")");
        }
    Params out;
    for (const ParamSpec& spec : entry.info.params) {
        const std::string what = pre + "parameter '" + spec.name + "' of " + comp;
        if (!params.is_object() || !params.contains(spec.name)) {
            if (spec.required())
                throw Error(pre + "missing required parameter '" + spec.name + "' for " + comp + " (" + spec.doc + ")");
            out.set(spec.name, *spec.default_value);
            continue;
        }
        const nlohmann::json& v = params.at(spec.name);
        auto wrong = [&]() {
            return Error(what + " must be " + (spec.type == ParamType::Int ? "an " : "a ") + to_string(spec.type) +
                         ", got " + v.dump());
        };
        ParamValue value;
        switch (spec.type) {
            case ParamType::Bool:
                if (!v.is_boolean()) throw wrong();
                value = v.get<bool>();
                break;
            case ParamType::Int:
                if (!v.is_number_integer()) throw wrong();
                value = v.get<std::int64_t>();
                break;
            case ParamType::Float:
                if (!v.is_number() || !std::isfinite(v.get<double>())) throw wrong();
                value = v.get<double>();
                break;
            case ParamType::String:
            case ParamType::Path: {
                if (!v.is_string()) throw wrong();
                std::string s = v.get<std::string>();
                if (spec.type == ParamType::Path && !s.empty() && !base_dir.empty() && fs::path(s).is_relative())
                    s = (fs::path(base_dir) / s).lexically_normal().string();
                value = s;
                break;
            }
        }
        if (auto d = numeric(value); d && spec.type != ParamType::Bool) {
            if ((spec.min && *d < *spec.min) || (spec.max && *d > *spec.max))
                throw Error(what + " = " + v.dump() + " is out of range [" +
                            (spec.min ? render_number(*spec.min) : std::string("-inf")) + ", " +
                            (spec.max ? render_number(*spec.max) : std::string("inf")) + "]");
        }
        if (!spec.choices.empty()) {
            const auto& s = std::get<std::string>(value);
            if (std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end())
                throw Error(what + " = " + v.dump() + " must be one of: " + join(spec.choices));
        }
        out.set(spec.name, value);
    }
    return out;
}

template <class T>
std::shared_ptr<T> PluginManager::create(const ComponentEntry& entry, const Params& params,
                                         const std::string& context) const {
    const std::string pre = context.empty() ? std::string() : context + ": ";
    const auto* factory = std::get_if<Factory<T>>(&entry.factory);
    if (factory == nullptr) throw Error(pre + entry.qualified_name() + " is a " + to_string(entry.info.kind));
    std::unique_ptr<T> object;
    try {
        object = (*factory)(params);
    } catch (const Error& e) {
        throw Error(pre + entry.qualified_name() + ": " + e.what());
    } catch (const std::exception& e) {
        throw Error(pre + entry.qualified_name() + " failed to initialize: " + e.what());
    }
    if (!object) throw Error(pre + entry.qualified_name() + ": factory returned no object");
    // The deleter holds the library: the object's code stays loaded as long as the object.
    std::shared_ptr<const LibraryRecord> keep = entry.library;
    return std::shared_ptr<T>(object.release(), [keep](T* p) { delete p; });
}

template std::shared_ptr<ApproxBlock> PluginManager::create<ApproxBlock>(const ComponentEntry&, const Params&,
                                                                         const std::string&) const;
template std::shared_ptr<SensitivityMetric> PluginManager::create<SensitivityMetric>(const ComponentEntry&,
                                                                                     const Params&,
                                                                                     const std::string&) const;
template std::shared_ptr<SearchStrategy> PluginManager::create<SearchStrategy>(const ComponentEntry&, const Params&,
                                                                               const std::string&) const;
template std::shared_ptr<AcceleratorModel> PluginManager::create<AcceleratorModel>(const ComponentEntry&,
                                                                                   const Params&,
                                                                                   const std::string&) const;

nlohmann::json to_json(const ParamSpec& s) {
    nlohmann::json j = {{"name", s.name}, {"type", to_string(s.type)}, {"doc", s.doc}, {"required", s.required()}};
    if (s.default_value)
        std::visit([&](const auto& v) { j["default"] = v; }, *s.default_value);
    if (s.min) j["min"] = *s.min;
    if (s.max) j["max"] = *s.max;
    if (!s.choices.empty()) j["choices"] = s.choices;
    return j;
}

nlohmann::json to_json(const ComponentEntry& e) {
    nlohmann::json params = nlohmann::json::array();
    for (const auto& p : e.info.params) params.push_back(to_json(p));
    return {{"name", e.qualified_name()},
            {"library", e.library->name},
            {"library_version", e.library->version},
            {"kind", to_string(e.info.kind)},
            {"version", e.info.version},
            {"summary", e.info.summary},
            {"params", params}};
}

nlohmann::json to_json(const Params& p) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& kv : p.values()) std::visit([&](const auto& x) { j[kv.first] = x; }, kv.second);
    return j;
}

}  // namespace hawx
