#include "hawx/framework/manifest.hpp"

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "hawx/sdk/version.hpp"

namespace fs = std::filesystem;

namespace hawx {

namespace {

struct Ctx {
    std::string file;
    Error fail(const std::string& where, const std::string& what) const {
        return Error(file + ": " + (where.empty() ? "" : where + ": ") + what);
    }
};

std::string join_keys(const std::vector<std::string>& keys) {
    std::string s;
    for (std::size_t i = 0; i < keys.size(); ++i) s += (i ? ", " : "") + keys[i];
    return s;
}

void only_keys(const Ctx& c, const nlohmann::json& obj, const std::string& where, std::vector<std::string> allowed) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
        if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
            throw c.fail(where, "unknown key '" + it.key() + "' (valid: " + join_keys(allowed) + ")");
}

const nlohmann::json& object_at(const Ctx& c, const nlohmann::json& parent, const std::string& key,
                                const std::string& where) {
    const auto& v = parent.at(key);
    if (!v.is_object()) throw c.fail(where, "'" + key + "' must be an object, got " + std::string(v.type_name()));
    return v;
}

std::string string_at(const Ctx& c, const nlohmann::json& obj, const std::string& key, const std::string& where,
                      bool required, const std::string& def = "") {
    if (!obj.contains(key)) {
        if (required) throw c.fail(where, "missing required key '" + key + "'");
        return def;
    }
    const auto& v = obj.at(key);
    if (!v.is_string()) throw c.fail(where, "'" + key + "' must be a string, got " + v.dump());
    return v.get<std::string>();
}

std::string resolve_path(const std::string& dir, const std::string& p) {
    if (p.empty() || fs::path(p).is_absolute() || dir.empty()) return p;
    return (fs::path(dir) / p).lexically_normal().string();
}

ComponentRef component_ref(const Ctx& c, const nlohmann::json& v, const std::string& where, bool named) {
    if (!v.is_object()) throw c.fail(where, "must be an object, got " + std::string(v.type_name()));
    if (named)
        only_keys(c, v, where, {"name", "component", "params"});
    else
        only_keys(c, v, where, {"component", "params"});
    ComponentRef r;
    r.where = where;
    if (named) {
        r.name = string_at(c, v, "name", where, true);
        static const std::regex short_name("[A-Za-z0-9_]+");
        if (!std::regex_match(r.name, short_name))
            throw c.fail(where, "name '" + r.name + "' must consist of letters, digits and '_'");
        r.where = where + " (" + r.name + ")";
    }
    r.component = string_at(c, v, "component", r.where, true);
    if (v.contains("params")) {
        if (!v["params"].is_object())
            throw c.fail(r.where, "'params' must be an object, got " + std::string(v["params"].type_name()));
        r.params = v["params"];
    }
    return r;
}

std::vector<ComponentRef> component_list(const Ctx& c, const nlohmann::json& doc, const std::string& key) {
    std::vector<ComponentRef> out;
    if (!doc.contains(key)) return out;
    const auto& arr = doc.at(key);
    if (!arr.is_array()) throw c.fail("", "'" + key + "' must be an array, got " + std::string(arr.type_name()));
    std::set<std::string> names;
    for (std::size_t i = 0; i < arr.size(); ++i) {
        ComponentRef r = component_ref(c, arr[i], key + "[" + std::to_string(i) + "]", true);
        if (!names.insert(r.name).second) throw c.fail(r.where, "duplicate name '" + r.name + "' in '" + key + "'");
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace

Manifest parse_manifest(const nlohmann::json& doc, const std::string& path) {
    const Ctx c{path.empty() ? std::string("<manifest>") : path};
    if (!doc.is_object()) throw c.fail("", "a manifest must be a JSON object");
    only_keys(c, doc,
              "", {"hawx", "name", "description", "seed", "plugins", "blocks", "metric", "search", "accelerators", "output"});
    if (!doc.contains("hawx")) throw c.fail("", "missing required key 'hawx' (the manifest format version, 1)");
    if (!doc["hawx"].is_number_integer() || doc["hawx"].get<std::int64_t>() != kManifestFormat)
        throw c.fail("", "'hawx' must be the manifest format version " + std::to_string(kManifestFormat) + ", got " +
                             doc["hawx"].dump());
    Manifest m;
    m.path = path;
    m.dir = path.empty() ? fs::current_path().string() : fs::absolute(path).parent_path().string();
    m.name = string_at(c, doc, "name", "", true);
    static const std::regex run_name("[A-Za-z0-9_.-]+");
    if (!std::regex_match(m.name, run_name))
        throw c.fail("", "'name' must consist of letters, digits, '_', '-' and '.', got \"" + m.name + "\"");
    m.description = string_at(c, doc, "description", "", false);
    if (doc.contains("seed")) {
        const auto& s = doc["seed"];
        if (!s.is_number_integer() || s.get<std::int64_t>() < 0)
            throw c.fail("", "'seed' must be a non-negative integer, got " + s.dump());
        m.seed = s.get<std::uint64_t>();
    }
    if (doc.contains("plugins")) {
        const auto& p = object_at(c, doc, "plugins", "");
        only_keys(c, p, "plugins", {"paths"});
        if (p.contains("paths")) {
            if (!p["paths"].is_array()) throw c.fail("plugins", "'paths' must be an array of strings");
            for (const auto& e : p["paths"]) {
                if (!e.is_string()) throw c.fail("plugins", "'paths' must be an array of strings, got " + e.dump());
                m.plugin_paths.push_back(resolve_path(m.dir, e.get<std::string>()));
            }
        }
    }
    m.blocks = component_list(c, doc, "blocks");
    if (doc.contains("metric")) m.metric = component_ref(c, doc["metric"], "metric", false);
    if (doc.contains("search")) m.search = component_ref(c, doc["search"], "search", false);
    m.accelerators = component_list(c, doc, "accelerators");
    if (doc.contains("output")) {
        const auto& o = object_at(c, doc, "output", "");
        only_keys(c, o, "output", {"dir"});
        m.output_dir = string_at(c, o, "dir", "output", false, m.output_dir);
        if (m.output_dir.empty()) throw c.fail("output", "'dir' must not be empty");
    }
    m.output_dir = resolve_path(m.dir, m.output_dir);
    return m;
}

Manifest read_manifest(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error(path + ": manifest not found");
    if (fs::is_directory(path, ec)) throw Error(path + ": is a folder, expected a manifest file");
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot read manifest");
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        std::string what = e.what();
        if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
        throw Error(path + ": malformed JSON: " + what);
    }
    return parse_manifest(doc, path);
}

namespace {

ResolvedComponent resolve_one(const Manifest& m, const ComponentRef& ref, Kind kind, PluginManager& plugins) {
    const std::string context = (m.path.empty() ? std::string("<manifest>") : m.path) + ": " + ref.where;
    ResolvedComponent r;
    r.ref = ref;
    try {
        r.entry = &plugins.find(ref.component, kind);
    } catch (const Error& e) {
        throw Error(context + ": " + e.what());
    }
    r.params = plugins.resolve_params(*r.entry, ref.params, context, m.dir);
    return r;
}

nlohmann::json component_json(const ResolvedComponent& c) {
    nlohmann::json j;
    if (!c.ref.name.empty()) j["name"] = c.ref.name;
    j["component"] = c.ref.component;
    j["params"] = to_json(c.params);
    j["version"] = c.entry->info.version;
    return j;
}

}  // namespace

ResolvedManifest resolve_manifest(const Manifest& m, PluginManager& plugins) {
    ResolvedManifest r;
    r.manifest = m;
    for (const auto& b : m.blocks) r.blocks.push_back(resolve_one(m, b, Kind::Block, plugins));
    if (m.metric) r.metric = resolve_one(m, *m.metric, Kind::Metric, plugins);
    if (m.search) r.search = resolve_one(m, *m.search, Kind::Search, plugins);
    for (const auto& a : m.accelerators) r.accelerators.push_back(resolve_one(m, a, Kind::Accelerator, plugins));
    return r;
}

nlohmann::json ResolvedManifest::to_json() const {
    nlohmann::json j;
    j["hawx"] = kManifestFormat;
    j["name"] = manifest.name;
    if (!manifest.description.empty()) j["description"] = manifest.description;
    j["seed"] = manifest.seed;
    j["plugins"] = {{"paths", manifest.plugin_paths}};
    j["blocks"] = nlohmann::json::array();
    for (const auto& b : blocks) j["blocks"].push_back(component_json(b));
    if (metric) j["metric"] = component_json(*metric);
    if (search) j["search"] = component_json(*search);
    j["accelerators"] = nlohmann::json::array();
    for (const auto& a : accelerators) j["accelerators"].push_back(component_json(a));
    j["output"] = {{"dir", manifest.output_dir}};
    nlohmann::json libs = nlohmann::json::object();
    auto note = [&](const ResolvedComponent& c) {
        const auto& l = *c.entry->library;
        libs[l.name] = {{"version", l.version}, {"path", l.path}, {"build_id", l.build_id}};
    };
    for (const auto& b : blocks) note(b);
    if (metric) note(*metric);
    if (search) note(*search);
    for (const auto& a : accelerators) note(a);
    j["resolved"] = {{"hawx_version", HAWX_SDK_VERSION_STRING},
                     {"sdk_abi", HAWX_SDK_ABI_VERSION},
                     {"build_id", core_build_id()},
                     {"source", manifest.path},
                     {"libraries", libs}};
    return j;
}

Instances instantiate(const ResolvedManifest& r, const PluginManager& plugins) {
    const std::string file = r.manifest.path.empty() ? std::string("<manifest>") : r.manifest.path;
    Instances out;
    for (const auto& b : r.blocks)
        out.blocks.emplace_back(b.ref.name, plugins.create<ApproxBlock>(*b.entry, b.params, file + ": " + b.ref.where));
    if (r.metric)
        out.metric = plugins.create<SensitivityMetric>(*r.metric->entry, r.metric->params, file + ": metric");
    if (r.search) out.search = plugins.create<SearchStrategy>(*r.search->entry, r.search->params, file + ": search");
    for (const auto& a : r.accelerators)
        out.accelerators.emplace_back(
            a.ref.name, plugins.create<AcceleratorModel>(*a.entry, a.params, file + ": " + a.ref.where));
    return out;
}

}  // namespace hawx
