#include <iostream>

#include "commands.hpp"
#include "hawx/framework/plugin_manager.hpp"

namespace po = boost::program_options;

namespace hawx::cli {

namespace {

std::string schema_line(const ParamSpec& p) {
    std::string s = p.name + ": " + to_string(p.type);
    if (p.default_value)
        s += " = " + to_string(*p.default_value);
    else
        s += " (required)";
    if (p.min || p.max)
        s += " in [" + (p.min ? to_string(ParamValue(*p.min)) : std::string("-inf")) + ", " +
             (p.max ? to_string(ParamValue(*p.max)) : std::string("inf")) + "]";
    if (!p.choices.empty()) {
        s += " one of {";
        for (std::size_t i = 0; i < p.choices.size(); ++i) s += (i ? ", " : "") + p.choices[i];
        s += "}";
    }
    return s + "  -- " + p.doc;
}

}  // namespace

int plugins_command(const Args& args) {
    if (args.empty() || args[0] != "list")
        throw Error("usage: hawx plugins list [--json] [--plugin-path DIR]...");
    po::options_description opts("options");
    std::vector<std::string> paths;
    opts.add_options()("json", "print JSON")("plugin-path", po::value(&paths)->composing(),
                                               "extra plugin folder, searched first (repeatable)");
    po::variables_map vm;
    if (!parse_args(Args(args.begin() + 1, args.end()), "usage: hawx plugins list [options]", opts, nullptr, vm))
        return 0;
    const bool json = vm.count("json") != 0;

    PluginManager plugins(plugin_search_path(paths));
    std::vector<std::string> errors;
    for (const auto& [name, path] : plugins.discover()) {
        try {
            plugins.load_file(path);
        } catch (const Error& e) {
            errors.push_back(e.what());
        }
    }
    const auto components = plugins.components();
    if (json) {
        nlohmann::json j;
        j["build_id"] = core_build_id();
        j["search_path"] = plugins.search_path();
        nlohmann::json libs = nlohmann::json::object();
        for (const auto* c : components) {
            auto& l = libs[c->library->name];
            if (l.is_null())
                l = {{"name", c->library->name},
                     {"version", c->library->version},
                     {"path", c->library->path},
                     {"build_id", c->library->build_id},
                     {"components", nlohmann::json::array()}};
            l["components"].push_back(to_json(*c));
        }
        j["libraries"] = nlohmann::json::array();
        for (auto& [k, v] : libs.items()) j["libraries"].push_back(v);
        j["errors"] = errors;
        std::cout << j.dump(2) << "\n";
    } else {
        std::string current;
        for (const auto* c : components) {
            if (c->library->name != current) {
                current = c->library->name;
                std::cout << "library " << current << " " << c->library->version << "  (" << c->library->path << ")\n";
            }
            std::cout << "  " << to_string(c->info.kind) << "  " << c->qualified_name() << " " << c->info.version
                      << "  -- " << c->info.summary << "\n";
            for (const auto& p : c->info.params) std::cout << "      " << schema_line(p) << "\n";
        }
        if (components.empty()) std::cout << "no plugins found in: " << nlohmann::json(plugins.search_path()).dump() << "\n";
    }
    for (const auto& e : errors) std::cerr << "hawx: " << e << "\n";
    return errors.empty() ? 0 : 2;
}

}  // namespace hawx::cli
