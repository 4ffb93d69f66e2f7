#include "hawx/pipeline/experiment.hpp"

#include <algorithm>
#include <sstream>

#include "hawx/data/datasets.hpp"
#include "hawx/framework/mac_block.hpp"
#include "hawx/framework/text.hpp"
#include "hawx/sdk/error.hpp"
#include "hawx/zoo/network.hpp"

namespace hawx::pipeline {

namespace {

// A block whose table is the exact product.
bool is_exact_multiplier(const ApproxBlock& b) {
    if (b.op() != BlockOp::Multiply) return false;
    // A MAC block is exact only with an adder that promises exactness.
    if (const auto* mac = dynamic_cast<const MacBlock*>(&b); mac && !mac->adder()->promises_exact()) return false;
    const auto t = block_table(b);
    const int na = b.activation_bits(), nw = b.weight_bits();
    for (std::uint32_t a = 0; a < (1u << na); ++a)
        for (std::uint32_t w = 0; w < (1u << nw); ++w)
            if (t[(a << nw) | w] != code_to_value(a, na, b.is_signed()) * code_to_value(w, nw, b.is_signed()))
                return false;
    return true;
}

ManifestSetup finish_setup(const Manifest& m) {
    ManifestSetup s;
    s.plugins = std::make_unique<PluginManager>(plugin_search_path(m.plugin_paths));
    s.resolved = std::make_unique<ResolvedManifest>(resolve_manifest(m, *s.plugins));
    s.instances = instantiate(*s.resolved, *s.plugins);
    return s;
}

}  // namespace

std::string ManifestSetup::file() const {
    return manifest().path.empty() ? std::string("<manifest>") : manifest().path;
}

ManifestSetup open_manifest(const std::string& path) { return finish_setup(read_manifest(path)); }

ManifestSetup open_manifest(const Manifest& manifest) { return finish_setup(manifest); }

BlockSet make_block_set(const Instances& inst, const std::string& file, bool require_costs, std::ostream* notes) {
    if (inst.blocks.empty()) throw Error(file + ": 'blocks' is empty: an experiment needs at least one multiplier");
    BlockSet s;
    s.library = engine::compile_library(inst.blocks);
    if (notes)
        for (const auto& n : s.library.skipped) *notes << "note: block " << n << " (not used by the search)\n";
    for (const auto& [name, block] : inst.blocks) {
        if (std::find(s.library.names.begin(), s.library.names.end(), name) == s.library.names.end()) continue;
        if (s.exact_block < 0 && is_exact_multiplier(*block)) s.exact_block = static_cast<int>(s.names.size());
        s.names.push_back(name);
        s.costs.push_back(block->cost());
    }
    if (s.names.empty()) throw Error(file + ": no block the engine can emulate (8x8 multipliers) in 'blocks'");
    s.is_signed = s.library.blocks[0]->is_signed;
    for (std::size_t b = 0; b < s.names.size(); ++b)
        if (s.library.blocks[b]->is_signed != s.is_signed)
            throw Error(file + ": blocks " + s.names[0] + " and " + s.names[b] +
                        " differ in signedness; one experiment quantizes one way");
    if (require_costs)
        for (std::size_t b = 0; b < s.names.size(); ++b)
            if (s.costs[b].power_mw <= 0 || s.costs[b].area_um2 <= 0)
                throw Error(file + ": block " + s.names[b] + " declares no power/area (" + s.costs[b].source +
                            "); a search would take it for free: set its power_mw and area_um2");
    s.exact_index = s.library.index(s.is_signed ? "exact" : "exact-u");
    return s;
}

Experiment make_experiment(const ManifestSetup& setup, std::ostream& notes) {
    Experiment e;
    e.setup = &setup;
    e.manifest = &setup.manifest();
    e.spec = &e.manifest->experiment;
    if (!e.spec->model) throw Error(setup.file() + ": has no 'model'");
    e.model = &*e.spec->model;
    e.file = setup.file();
    e.blocks = make_block_set(setup.instances, e.file, true, &notes);
    check_dataset_name(e.spec->dataset.name);
    if (!e.model->arch.empty()) {
        const auto models = zoo::model_names();
        if (std::find(models.begin(), models.end(), e.model->arch) == models.end())
            throw Error(e.file + ": model.arch: unknown model '" + e.model->arch +
                        "' (models: lenet5, vgg11, resnet18, efficientnet_lite0)");
    }
    e.resolved_json = setup.resolved->to_json();
    e.hash = experiment_hash(e.resolved_json);
    return e;
}

std::vector<int> auto_mac_trees(const ManifestSetup& setup, std::size_t layers, std::ostream& log) {
    const auto& macs = setup.manifest().macs;
    if (std::none_of(macs.begin(), macs.end(), [](const MacRef& m) { return m.order == "auto"; })) return {};
    std::string from, simd;
    for (const auto& a : setup.resolved->accelerators) {
        if (a.ref.component != "accelerators.dataflow") continue;
        if (a.params.get_string("folding") != "explicit")
            throw Error(setup.file() + ": MAC blocks of order auto take the SIMD lists of dataflow accelerator '" +
                        a.ref.name + "', but its folding is " + a.params.get_string("folding") +
                        "; give explicit pe and simd lists or name the order");
        const std::string s = a.params.get_string("simd");
        if (!from.empty() && s != simd)
            throw Error(setup.file() + ": MAC blocks of order auto take the SIMD of the dataflow accelerator, but " + from +
                        " (simd " + simd + ") and " + a.ref.name + " (simd " + s + ") differ; name the order");
        if (from.empty()) from = a.ref.name, simd = s;
    }
    if (from.empty()) {
        log << "MAC order auto: sequential in every layer (no dataflow accelerator in the manifest)\n";
        return {};
    }
    std::vector<int> trees;
    std::stringstream ss(simd);
    for (std::string item; std::getline(ss, item, ',');) trees.push_back(std::stoi(item));  // validated by the plugin
    if (trees.size() != 1 && trees.size() != layers)
        throw Error(setup.file() + ": MAC blocks of order auto take the simd list of dataflow accelerator '" + from +
                    "', which has " + std::to_string(trees.size()) + " entries for a model of " + std::to_string(layers) +
                    " approximable layers");
    log << "MAC order auto: tree:SIMD per layer from dataflow accelerator '" << from << "' (simd " << simd << ")\n";
    return trees;
}

std::string experiment_hash(const nlohmann::json& resolved) {
    nlohmann::json j = resolved;
    j.erase("description");
    j.erase("output");
    if (j.contains("resolved")) j["resolved"].erase("source");
    return hex16(fnv1a(j.dump()));
}

}  // namespace hawx::pipeline
