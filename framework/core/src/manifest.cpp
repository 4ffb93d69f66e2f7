#include "hawx/framework/manifest.hpp"
#include "hawx/framework/mac_block.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <set>

#include "hawx/sdk/version.hpp"

namespace fs = std::filesystem;

namespace hawx {

const char* to_string(Calibration c) { return c == Calibration::MinMax ? "minmax" : "percentile"; }
const char* to_string(OnError e) { return e == OnError::Stop ? "stop" : "skip"; }

namespace {

struct Ctx {
    std::string file;
    Error fail(const std::string& where, const std::string& what) const {
        return Error(file + ": " + (where.empty() ? "" : where + ": ") + what);
    }
};

// A user-given string inside a one-line message: control characters escaped, long ones cut.
std::string quote_input(const std::string& s) {
    std::string out = "'";
    for (std::size_t i = 0; i < s.size() && i < 80; ++i) {
        const unsigned char ch = static_cast<unsigned char>(s[i]);
        if (ch < 0x20 || ch == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", ch);
            out += buf;
        } else {
            out += static_cast<char>(ch);
        }
    }
    return out + (s.size() > 80 ? "...' (" + std::to_string(s.size()) + " characters)" : "'");
}

std::string join_keys(const std::vector<std::string>& keys) {
    std::string s;
    for (std::size_t i = 0; i < keys.size(); ++i) s += (i ? ", " : "") + keys[i];
    return s;
}

void only_keys(const Ctx& c, const nlohmann::json& obj, const std::string& where, std::vector<std::string> allowed) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
        if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
            throw c.fail(where, "unknown key " + quote_input(it.key()) + " (valid: " + join_keys(allowed) + ")");
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

double number_at(const Ctx& c, const nlohmann::json& obj, const std::string& key, const std::string& where, double def,
                 double lo, double hi, bool integer) {
    if (!obj.contains(key)) return def;
    const auto& v = obj.at(key);
    if (integer ? !v.is_number_integer() : !v.is_number())
        throw c.fail(where, "'" + key + "' must be " + (integer ? "an integer" : "a number") + ", got " + v.dump());
    const double x = v.get<double>();
    if (!(x >= lo && x <= hi)) {
        std::ostringstream os;
        os << "'" << key << "' must be in [" << lo << ", " << hi << "], got " << v.dump();
        throw c.fail(where, os.str());
    }
    return x;
}

std::string choice_at(const Ctx& c, const nlohmann::json& obj, const std::string& key, const std::string& where,
                      const std::string& def, const std::vector<std::string>& choices) {
    const std::string v = string_at(c, obj, key, where, false, def);
    if (std::find(choices.begin(), choices.end(), v) == choices.end())
        throw c.fail(where, "'" + key + "' must be one of " + join_keys(choices) + ", got " + quote_input(v));
    return v;
}

std::string resolve_path(const std::string& dir, const std::string& p) {
    if (p.empty() || fs::path(p).is_absolute() || dir.empty()) return p;
    return (fs::path(dir) / p).lexically_normal().string();
}

std::string short_name_at(const Ctx& c, const nlohmann::json& v, const std::string& where) {
    std::string name = string_at(c, v, "name", where, true);
    static const std::regex short_name("[A-Za-z0-9_]+");
    // The length check first: std::regex recurses per character and overflows the stack on huge input.
    if (name.size() > 64 || !std::regex_match(name, short_name))
        throw c.fail(where, "name " + quote_input(name) + " must be 1-64 letters, digits and '_'");
    return name;
}

ComponentRef component_ref(const Ctx& c, const nlohmann::json& v, const std::string& where, bool named,
                           bool search = false) {
    if (!v.is_object()) throw c.fail(where, "must be an object, got " + std::string(v.type_name()));
    if (named && search)
        only_keys(c, v, where, {"name", "component", "params", "objective"});
    else if (named)
        only_keys(c, v, where, {"name", "component", "params"});
    else if (search)
        only_keys(c, v, where, {"component", "params", "objective"});
    else
        only_keys(c, v, where, {"component", "params"});
    ComponentRef r;
    r.where = where;
    if (named) {
        r.name = short_name_at(c, v, where);
        r.where = where + " (" + r.name + ")";
    }
    r.component = string_at(c, v, "component", r.where, true);
    if (v.contains("params")) {
        if (!v["params"].is_object())
            throw c.fail(r.where, "'params' must be an object, got " + std::string(v["params"].type_name()));
        r.params = v["params"];
    }
    if (search && v.contains("objective")) r.objective = string_at(c, v, "objective", r.where, true);
    return r;
}

// `macs`: where MAC entries of the list go (only 'blocks' has them).
std::vector<ComponentRef> component_list(const Ctx& c, const nlohmann::json& doc, const std::string& key,
                                         bool search = false, std::vector<MacRef>* macs = nullptr) {
    std::vector<ComponentRef> out;
    if (!doc.contains(key)) return out;
    const auto& arr = doc.at(key);
    if (!arr.is_array()) throw c.fail("", "'" + key + "' must be an array, got " + std::string(arr.type_name()));
    std::set<std::string> names;
    for (std::size_t i = 0; i < arr.size(); ++i) {
        const std::string where = key + "[" + std::to_string(i) + "]";
        if (macs && arr[i].is_object() && arr[i].contains("multiplier")) {
            MacRef mr;
            mr.name = short_name_at(c, arr[i], where);
            mr.where = where + " (" + mr.name + ")";
            only_keys(c, arr[i], mr.where, {"name", "multiplier", "adder", "order"});
            mr.multiplier = string_at(c, arr[i], "multiplier", mr.where, true);
            mr.adder = string_at(c, arr[i], "adder", mr.where, true);
            mr.order = string_at(c, arr[i], "order", mr.where, false, mr.order);
            try {
                parse_accumulation_order(mr.order);
            } catch (const Error& e) {
                throw c.fail(mr.where, e.what());
            }
            if (!names.insert(mr.name).second) throw c.fail(mr.where, "duplicate name '" + mr.name + "' in '" + key + "'");
            macs->push_back(std::move(mr));
            continue;
        }
        ComponentRef r = component_ref(c, arr[i], where, true, search);
        if (!names.insert(r.name).second) throw c.fail(r.where, "duplicate name '" + r.name + "' in '" + key + "'");
        out.push_back(std::move(r));
    }
    return out;
}

std::vector<double> drops_at(const Ctx& c, const nlohmann::json& obj, const std::string& where) {
    if (!obj.contains("max_drop")) return {1.0};
    const auto& v = obj.at("max_drop");
    const nlohmann::json arr = v.is_array() ? v : nlohmann::json::array({v});
    std::vector<double> out;
    for (const auto& e : arr) {
        if (!e.is_number() || !(e.get<double>() >= 0 && e.get<double>() <= 100))
            throw c.fail(where, "'max_drop' must be a number or an array of numbers in [0, 100] (accuracy points), got " +
                                    v.dump());
        out.push_back(e.get<double>());
    }
    if (out.empty()) throw c.fail(where, "'max_drop' must not be empty");
    return out;
}

void parse_experiment(const Ctx& c, const nlohmann::json& doc, Manifest& m) {
    ExperimentSpec& e = m.experiment;
    constexpr double big = 1e15;
    if (doc.contains("model")) {
        const auto& o = object_at(c, doc, "model", "");
        only_keys(c, o, "model", {"arch", "checkpoint", "width", "input_size", "input_mean", "input_std"});
        ModelSpec s;
        s.arch = string_at(c, o, "arch", "model", false);
        s.checkpoint = resolve_path(m.dir, string_at(c, o, "checkpoint", "model", true));
        if (s.checkpoint.empty()) throw c.fail("model", "'checkpoint' must not be empty");
        s.width = number_at(c, o, "width", "model", 1.0, 1e-3, 64, false);
        s.input_size = static_cast<int>(number_at(c, o, "input_size", "model", 0, 1, 4096, true));
        s.input_mean = string_at(c, o, "input_mean", "model", false);
        s.input_std = string_at(c, o, "input_std", "model", false);
        e.model = s;
    }
    if (doc.contains("dataset")) {
        const auto& o = object_at(c, doc, "dataset", "");
        only_keys(c, o, "dataset", {"name", "dir", "validation", "validation_limit", "test_limit"});
        e.dataset.name = string_at(c, o, "name", "dataset", false, e.dataset.name);
        const std::string dir = string_at(c, o, "dir", "dataset", false);
        e.dataset.dir = dir.empty() ? dir : resolve_path(m.dir, dir);
        e.dataset.validation = static_cast<std::int64_t>(number_at(c, o, "validation", "dataset", -1, 0, big, true));
        e.dataset.validation_limit =
            static_cast<std::size_t>(number_at(c, o, "validation_limit", "dataset", 0, 0, big, true));
        e.dataset.test_limit = static_cast<std::size_t>(number_at(c, o, "test_limit", "dataset", 0, 0, big, true));
    }
    if (doc.contains("training")) {
        const auto& o = object_at(c, doc, "training", "");
        only_keys(c, o, "training",
                  {"epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay", "schedule", "threads"});
        number_at(c, o, "epochs", "training", 1, 1, 1e6, true);
        number_at(c, o, "batch_size", "training", 1, 1, 1e6, true);
        number_at(c, o, "lr", "training", 1, 1e-12, 1e3, false);
        number_at(c, o, "momentum", "training", 0, 0, 1, false);
        number_at(c, o, "weight_decay", "training", 0, 0, 1, false);
        number_at(c, o, "threads", "training", 0, 0, 4096, true);
        choice_at(c, o, "optimizer", "training", "adam", {"adam", "sgd"});
        choice_at(c, o, "schedule", "training", "cosine", {"cosine", "step", "constant"});
        e.training = o;
    }
    if (doc.contains("quantization")) {
        const auto& o = object_at(c, doc, "quantization", "");
        only_keys(c, o, "quantization", {"calibration", "percentile", "calibration_images"});
        e.calibration = choice_at(c, o, "calibration", "quantization", "minmax", {"minmax", "percentile"}) == "minmax"
                            ? Calibration::MinMax
                            : Calibration::Percentile;
        e.percentile = number_at(c, o, "percentile", "quantization", e.percentile, 50.000001, 100, false);
        e.calibration_images =
            static_cast<std::size_t>(number_at(c, o, "calibration_images", "quantization", 2000, 1, big, true));
    }
    if (doc.contains("profiling")) {
        const auto& o = object_at(c, doc, "profiling", "");
        only_keys(c, o, "profiling", {"representatives", "images", "predictor_images"});
        e.representatives = static_cast<int>(number_at(c, o, "representatives", "profiling", 10, 1, 100000, true));
        e.profile_images = static_cast<std::size_t>(number_at(c, o, "images", "profiling", 0, 0, big, true));
        e.predictor_images =
            static_cast<std::size_t>(number_at(c, o, "predictor_images", "profiling", 10000, 1, big, true));
    }
    if (doc.contains("exploration")) {
        const auto& o = object_at(c, doc, "exploration", "");
        only_keys(c, o, "exploration",
                  {"granularity", "max_drop", "max_evaluations", "on_error", "batch_size", "threads", "finetune_in_loop"});
        const std::string g = choice_at(c, o, "granularity", "exploration", "layer", {"layer", "filter", "operation"});
        e.granularity = g == "filter" ? Granularity::Filter : g == "operation" ? Granularity::Operation : Granularity::Layer;
        e.max_drop = drops_at(c, o, "exploration");
        e.max_evaluations = static_cast<std::uint64_t>(number_at(c, o, "max_evaluations", "exploration", 0, 0, big, true));
        e.on_error = choice_at(c, o, "on_error", "exploration", "stop", {"stop", "skip"}) == "skip" ? OnError::Skip
                                                                                                : OnError::Stop;
        e.batch_size = static_cast<std::size_t>(number_at(c, o, "batch_size", "exploration", 256, 1, 1e6, true));
        e.threads = static_cast<int>(number_at(c, o, "threads", "exploration", 0, 0, 4096, true));
        if (o.contains("finetune_in_loop")) {
            if (!o["finetune_in_loop"].is_boolean())
                throw c.fail("exploration", "'finetune_in_loop' must be true or false, got " + o["finetune_in_loop"].dump());
            e.finetune_in_loop = o["finetune_in_loop"].get<bool>();
        }
    }
    if (doc.contains("finetune")) {
        const auto& o = object_at(c, doc, "finetune", "");
        only_keys(c, o, "finetune",
                  {"epochs", "lr", "images", "seed", "batch_size", "optimizer", "momentum", "weight_decay", "schedule",
                   "gradient", "slope_rank"});
        FinetuneSpec f;
        f.epochs = static_cast<int>(number_at(c, o, "epochs", "finetune", f.epochs, 1, 1e5, true));
        f.lr = number_at(c, o, "lr", "finetune", f.lr, 1e-12, 1e3, false);
        f.images = static_cast<std::size_t>(number_at(c, o, "images", "finetune", 0, 0, big, true));
        if (o.contains("seed")) f.seed = static_cast<std::uint64_t>(number_at(c, o, "seed", "finetune", 0, 0, big, true));
        f.batch_size = static_cast<std::size_t>(number_at(c, o, "batch_size", "finetune", 64, 1, 1e6, true));
        f.optimizer = choice_at(c, o, "optimizer", "finetune", f.optimizer, {"adam", "sgd"});
        f.momentum = number_at(c, o, "momentum", "finetune", f.momentum, 0, 1, false);
        f.weight_decay = number_at(c, o, "weight_decay", "finetune", 0, 0, 1, false);
        f.schedule = choice_at(c, o, "schedule", "finetune", f.schedule, {"cosine", "step", "constant"});
        f.gradient = choice_at(c, o, "gradient", "finetune", f.gradient, {"ste", "slope"});
        f.slope_rank = static_cast<int>(number_at(c, o, "slope_rank", "finetune", f.slope_rank, 0, 256, true));
        if (!e.model) throw c.fail("finetune", "fine-tuning needs a model (key 'model')");
        e.finetune = f;
    }
    if (e.finetune_in_loop && !e.finetune)
        throw c.fail("exploration", "'finetune_in_loop' needs the fine-tuning settings (key 'finetune')");
}

}  // namespace

Manifest parse_manifest(const nlohmann::json& doc, const std::string& path) {
    const Ctx c{path.empty() ? std::string("<manifest>") : path};
    if (!doc.is_object()) throw c.fail("", "a manifest must be a JSON object");
    only_keys(c, doc,
              "", {"hawx", "name", "description", "seed", "plugins", "blocks", "metric", "search", "accelerators", "output",
                   "model", "dataset", "training", "quantization", "profiling", "exploration", "finetune"});
    if (!doc.contains("hawx")) throw c.fail("", "missing required key 'hawx' (the manifest format version, 1)");
    if (!doc["hawx"].is_number_integer() || doc["hawx"].get<std::int64_t>() != kManifestFormat)
        throw c.fail("", "'hawx' must be the manifest format version " + std::to_string(kManifestFormat) + ", got " +
                             doc["hawx"].dump());
    Manifest m;
    m.path = path;
    m.dir = path.empty() ? fs::current_path().string() : fs::absolute(path).parent_path().string();
    m.name = string_at(c, doc, "name", "", true);
    static const std::regex run_name("[A-Za-z0-9_.-]+");
    if (m.name.size() > 128 || !std::regex_match(m.name, run_name))
        throw c.fail("", "'name' must be 1-128 letters, digits, '_', '-' and '.', got " + quote_input(m.name));
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
    m.blocks = component_list(c, doc, "blocks", false, &m.macs);
    if (doc.contains("metric")) m.metric = component_ref(c, doc["metric"], "metric", false);
    if (doc.contains("search")) {
        if (doc["search"].is_array()) {
            m.searches = component_list(c, doc, "search", true);
            if (m.searches.empty()) throw c.fail("", "'search' must not be an empty array");
        } else {
            ComponentRef r = component_ref(c, doc["search"], "search", false, true);
            r.name = r.component.substr(r.component.find('.') + 1);
            m.searches.push_back(r);
        }
        m.search = m.searches.front();
    }
    m.accelerators = component_list(c, doc, "accelerators");
    for (const auto& sr : m.searches) {
        if (sr.objective.empty()) continue;
        std::string known;
        bool found = false;
        for (const auto& a : m.accelerators) {
            known += (known.empty() ? "" : ", ") + a.name;
            found = found || a.name == sr.objective;
        }
        if (!found)
            throw c.fail(sr.where, "objective " + quote_input(sr.objective) + " names no accelerator of the manifest (" +
                                       (known.empty() ? std::string("it has none") : "accelerators: " + known) + ")");
    }
    if (doc.contains("output")) {
        const auto& o = object_at(c, doc, "output", "");
        only_keys(c, o, "output", {"dir"});
        m.output_dir = string_at(c, o, "dir", "output", false, m.output_dir);
        if (m.output_dir.empty()) throw c.fail("output", "'dir' must not be empty");
    }
    m.output_dir = resolve_path(m.dir, m.output_dir);
    parse_experiment(c, doc, m);
    m.document = doc;
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
    } catch (const nlohmann::json::exception& e) {  // parse errors, and numbers out of range
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
    if (!c.ref.objective.empty()) j["objective"] = c.ref.objective;
    return j;
}

}  // namespace

ResolvedManifest resolve_manifest(const Manifest& m, PluginManager& plugins) {
    ResolvedManifest r;
    r.manifest = m;
    for (const auto& b : m.blocks) r.blocks.push_back(resolve_one(m, b, Kind::Block, plugins));
    if (m.metric) r.metric = resolve_one(m, *m.metric, Kind::Metric, plugins);
    for (const auto& sr : m.searches) r.searches.push_back(resolve_one(m, sr, Kind::Search, plugins));
    if (!r.searches.empty()) r.search = r.searches.front();
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
    for (const auto& mr : manifest.macs)
        j["blocks"].push_back({{"name", mr.name}, {"multiplier", mr.multiplier}, {"adder", mr.adder}, {"order", mr.order}});
    if (metric) j["metric"] = component_json(*metric);
    if (searches.size() == 1 && manifest.document.contains("search") && manifest.document["search"].is_object())
        j["search"] = component_json(*search), j["search"].erase("name");
    else if (!searches.empty())
        for (const auto& s : searches) j["search"].push_back(component_json(s));
    j["accelerators"] = nlohmann::json::array();
    for (const auto& a : accelerators) j["accelerators"].push_back(component_json(a));
    j["output"] = {{"dir", manifest.output_dir}};
    const ExperimentSpec& e = manifest.experiment;
    if (e.model) {
        const ModelSpec& mo = *e.model;
        j["model"] = {{"checkpoint", mo.checkpoint}, {"width", mo.width}};
        // A zoo model is trained at 32 unless told; a TorchScript model's size is found at load.
        if (mo.input_size > 0 || !mo.arch.empty()) j["model"]["input_size"] = mo.input_size > 0 ? mo.input_size : 32;
        if (!mo.arch.empty()) j["model"]["arch"] = mo.arch;
        if (!mo.input_mean.empty()) j["model"]["input_mean"] = mo.input_mean;
        if (!mo.input_std.empty()) j["model"]["input_std"] = mo.input_std;
        j["dataset"] = {{"name", e.dataset.name},
                        {"dir", e.dataset.dir},
                        {"validation", e.dataset.validation},
                        {"validation_limit", e.dataset.validation_limit},
                        {"test_limit", e.dataset.test_limit}};
        j["training"] = e.training;
        j["quantization"] = {
            {"calibration", to_string(e.calibration)}, {"percentile", e.percentile}, {"calibration_images", e.calibration_images}};
        j["profiling"] = {{"representatives", e.representatives},
                          {"images", e.profile_images},
                          {"predictor_images", e.predictor_images}};
        j["exploration"] = {{"granularity", to_string(e.granularity)},   {"max_drop", e.max_drop},
                            {"max_evaluations", e.max_evaluations}, {"on_error", to_string(e.on_error)},
                            {"batch_size", e.batch_size},     {"threads", e.threads}};
        // Only when set, so that manifests without fine-tuning keep their experiment hash.
        if (e.finetune_in_loop) j["exploration"]["finetune_in_loop"] = true;
        if (const auto& f = e.finetune) {
            j["finetune"] = {{"epochs", f->epochs},       {"lr", f->lr},
                             {"images", f->images},       {"batch_size", f->batch_size},
                             {"optimizer", f->optimizer}, {"momentum", f->momentum},
                             {"weight_decay", f->weight_decay}, {"schedule", f->schedule},
                             {"gradient", f->gradient},   {"slope_rank", f->slope_rank}};
            j["finetune"]["seed"] = f->seed ? *f->seed : manifest.seed;
        }
    }
    nlohmann::json libs = nlohmann::json::object();
    auto note = [&](const ResolvedComponent& c) {
        const auto& l = *c.entry->library;
        libs[l.name] = {{"version", l.version}, {"path", l.path}, {"build_id", l.build_id}};
    };
    for (const auto& b : blocks) note(b);
    if (metric) note(*metric);
    for (const auto& s : searches) note(s);
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
    for (const auto& mr : r.manifest.macs) {
        const auto find = [&](const std::string& name, const char* role) {
            for (const auto& [n, b] : out.blocks)
                if (n == name && !dynamic_cast<const MacBlock*>(b.get())) return b;
            throw Error(file + ": " + mr.where + ": " + role + " '" + name + "' names no block of 'blocks'");
        };
        auto mul = find(mr.multiplier, "multiplier");
        auto add = find(mr.adder, "adder");
        try {
            out.blocks.emplace_back(mr.name, std::make_shared<MacBlock>(mul, mr.multiplier, add, mr.adder,
                                                                        parse_accumulation_order(mr.order)));
        } catch (const Error& e) {
            throw Error(file + ": " + mr.where + ": " + e.what());
        }
    }
    if (r.metric)
        out.metric = plugins.create<SensitivityMetric>(*r.metric->entry, r.metric->params, file + ": metric");
    for (const auto& s : r.searches)
        out.searches.emplace_back(s.ref.name,
                                  plugins.create<SearchStrategy>(*s.entry, s.params, file + ": " + s.ref.where));
    if (!out.searches.empty()) out.search = out.searches.front().second;
    for (const auto& a : r.accelerators)
        out.accelerators.emplace_back(
            a.ref.name, plugins.create<AcceleratorModel>(*a.entry, a.params, file + ": " + a.ref.where));
    return out;
}

std::string block_origin(const ResolvedManifest& r, std::size_t i) {
    if (i < r.blocks.size()) return r.blocks[i].ref.component;
    const MacRef& m = r.manifest.macs.at(i - r.blocks.size());
    return "mac " + m.multiplier + " + " + m.adder + " (" + m.order + ")";
}

}  // namespace hawx
