#include <iostream>

#include "commands.hpp"
#include "hawx/framework/block_report.hpp"
#include "hawx/framework/manifest.hpp"
#include "hawx/framework/plugin_manager.hpp"

namespace po = boost::program_options;

namespace hawx::cli {

namespace {

// "k=4" -> {"k": 4}; a value that is not JSON is taken as a string ("path=x.bin").
nlohmann::json parse_sets(const std::vector<std::string>& sets) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& s : sets) {
        const auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) throw Error("--set " + s + ": expected KEY=VALUE");
        const std::string key = s.substr(0, eq), value = s.substr(eq + 1);
        const nlohmann::json parsed = nlohmann::json::parse(value, nullptr, false);
        j[key] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
    }
    return j;
}

struct BlockSource {
    std::string manifest;
    std::vector<std::string> sets;
    std::vector<std::string> plugin_paths;
};

// A block named either library.component (with --set parameters) or by its short name in
// the manifest's block list.
BlockRow named_block(const std::string& name, const BlockSource& src) {
    if (name.find('.') == std::string::npos) {
        if (src.manifest.empty())
            throw Error("block '" + name + "': give library.component (e.g. core.exact_mul) or --manifest with a block of that name");
        if (!src.sets.empty()) throw Error("--set applies to library.component names, not to manifest blocks");
        const Manifest m = read_manifest(src.manifest);
        auto paths = src.plugin_paths;
        paths.insert(paths.end(), m.plugin_paths.begin(), m.plugin_paths.end());
        PluginManager plugins(plugin_search_path(paths));
        for (const auto& b : m.blocks)
            if (b.name == name) {
                Manifest one = m;
                one.blocks = {b};
                one.metric.reset();
                one.search.reset();
                one.accelerators.clear();
                const ResolvedManifest r = resolve_manifest(one, plugins);
                const Instances inst = instantiate(r, plugins);
                return characterize_row(name, b.component, inst.blocks.front().second);
            }
        throw Error(src.manifest + ": no block named '" + name + "'");
    }
    PluginManager plugins(plugin_search_path(src.plugin_paths));
    const ComponentEntry& e = plugins.find(name, Kind::Block);
    const Params p = plugins.resolve_params(e, parse_sets(src.sets), name, std::filesystem::current_path().string());
    return characterize_row(name, name, plugins.create<ApproxBlock>(e, p, ""));
}

void add_source_options(po::options_description& opts, BlockSource& src) {
    opts.add_options()("manifest,m", po::value(&src.manifest), "take block names from this manifest")(
        "set", po::value(&src.sets)->composing(), "parameter KEY=VALUE of a library.component block (repeatable)")(
        "plugin-path", po::value(&src.plugin_paths)->composing(), "extra plugin folder, searched first (repeatable)");
}

int list(const Args& args) {
    po::options_description opts("options");
    std::string manifest;
    std::vector<std::string> paths;
    opts.add_options()("manifest,m", po::value(&manifest), "list the blocks of this manifest")("json", "print JSON")(
        "plugin-path", po::value(&paths)->composing(), "extra plugin folder, searched first (repeatable)");
    po::variables_map vm;
    if (!parse_args(args, "usage: hawx blocks list [options]\n"
                          "Without --manifest: every block component of every plugin library, with default parameters.",
                    opts, nullptr, vm))
        return 0;
    std::vector<BlockRow> rows;
    std::vector<std::string> notes;
    if (!manifest.empty()) {
        const Manifest m = read_manifest(manifest);
        paths.insert(paths.end(), m.plugin_paths.begin(), m.plugin_paths.end());
        PluginManager plugins(plugin_search_path(paths));
        Manifest blocks_only = m;
        blocks_only.metric.reset();
        blocks_only.search.reset();
        blocks_only.accelerators.clear();
        const ResolvedManifest r = resolve_manifest(blocks_only, plugins);
        const Instances inst = instantiate(r, plugins);
        for (std::size_t i = 0; i < inst.blocks.size(); ++i)
            rows.push_back(characterize_row(inst.blocks[i].first, block_origin(r, i), inst.blocks[i].second));
    } else {
        PluginManager plugins(plugin_search_path(paths));
        for (const auto& [name, path] : plugins.discover()) plugins.load_file(path);
        for (const auto* c : plugins.components()) {
            if (c->info.kind != Kind::Block) continue;
            std::vector<std::string> required;
            for (const auto& p : c->info.params)
                if (p.required()) required.push_back(p.name);
            if (!required.empty()) {
                std::string r;
                for (const auto& k : required) r += (r.empty() ? "" : ", ") + k;
                notes.push_back(c->qualified_name() + " needs parameters (" + r + ")");
                continue;
            }
            const Params p = plugins.resolve_params(*c, nlohmann::json::object(), c->qualified_name(), "");
            rows.push_back(characterize_row(c->qualified_name(), c->qualified_name(),
                                            plugins.create<ApproxBlock>(*c, p, "")));
        }
    }
    if (vm.count("json")) {
        nlohmann::json j = nlohmann::json::array();
        for (const auto& r : rows) j.push_back(to_json(r));
        std::cout << j.dump(2) << "\n";
    } else {
        std::cout << format_block_table(rows);
        for (const auto& n : notes) std::cout << "(" << n << ")\n";
    }
    return 0;
}

int show(const Args& args) {
    po::options_description opts("options");
    BlockSource src;
    std::string name;
    add_source_options(opts, src);
    opts.add_options()("json", "print JSON")("name", po::value(&name)->required(), "block");
    po::positional_options_description pos;
    pos.add("name", 1);
    po::variables_map vm;
    if (!parse_args(args, "usage: hawx blocks show NAME [options]\nNAME is library.component or a block of --manifest.",
                    opts, &pos, vm))
        return 0;
    const BlockRow row = named_block(name, src);
    if (vm.count("json"))
        std::cout << to_json(row).dump(2) << "\n";
    else
        std::cout << format_block_details(row);
    return 0;
}

int export_table(const Args& args) {
    po::options_description opts("options");
    BlockSource src;
    std::string name, out;
    add_source_options(opts, src);
    opts.add_options()("out,o", po::value(&out)->required(), "table file to write (sidecar: same name, .json)")(
        "name", po::value(&name)->required(), "block");
    po::positional_options_description pos;
    pos.add("name", 1);
    po::variables_map vm;
    if (!parse_args(args, "usage: hawx blocks export NAME --out FILE.bin [options]", opts, &pos, vm)) return 0;
    const BlockRow row = named_block(name, src);
    const ApproxBlock& b = *row.block;
    if (b.activation_bits() != 8 || b.weight_bits() != 8)
        throw Error(name + ": table files hold 8x8-bit blocks; this block is " + std::to_string(b.activation_bits()) +
                    "x" + std::to_string(b.weight_bits()));
    const std::vector<std::int32_t> table = block_table(b);
    TableSidecar side;
    side.name = row.name;
    side.op = b.op();
    side.is_signed = b.is_signed();
    side.activation_first = true;
    side.cost = b.cost();
    side.published = b.published();
    side.origin = "hawx blocks export " + name;
    for (const auto& s : src.sets) side.origin += " --set " + s;
    if (!src.manifest.empty()) side.origin += " --manifest " + src.manifest;
    write_table_and_sidecar(out, table, side);
    std::cout << "wrote " << out << " and " << sidecar_path(out) << "\n";
    return 0;
}

}  // namespace

int blocks_command(const Args& args) {
    if (args.empty()) throw Error("usage: hawx blocks list|show|export|import-c ... (see hawx blocks <sub> --help)");
    const Args rest(args.begin() + 1, args.end());
    if (args[0] == "list") return list(rest);
    if (args[0] == "show") return show(rest);
    if (args[0] == "export") return export_table(rest);
    throw Error("unknown blocks subcommand '" + args[0] + "' (list, show, export, import-c)");
}

}  // namespace hawx::cli
