#pragma once
/// \file
/// The experiment a manifest describes, built once: the set-up chain every command starts
/// with (manifest -> plugins -> resolve -> instantiate), the block set the search chooses
/// among, and every check that needs neither the model nor the data. Nothing is read from
/// or written to disk here beyond the manifest and the plugin libraries.
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hawx/engine/library.hpp"
#include "hawx/framework/manifest.hpp"
#include "hawx/framework/plugin_manager.hpp"

namespace hawx::pipeline {

/// A manifest read, its plugins loaded, every component resolved and instantiated.
struct ManifestSetup {
    std::unique_ptr<PluginManager> plugins;
    std::unique_ptr<ResolvedManifest> resolved;  ///< refers to `plugins`' entries
    Instances instances;
    const Manifest& manifest() const { return resolved->manifest; }
    /// The manifest file for messages ("<manifest>" when parsed from memory).
    std::string file() const;
};
/// Reads and validates `path` completely before anything is instantiated. Throws hawx::Error.
ManifestSetup open_manifest(const std::string& path);
/// The same for a manifest already parsed (tests).
ManifestSetup open_manifest(const Manifest& manifest);

/// Adder tree sizes per layer (EngineOptions::auto_trees) for MAC blocks of order "auto":
/// the SIMD list of the manifest's dataflow accelerator; empty (sequential) without one or
/// without such blocks. Writes one line on `log` saying what it chose; throws hawx::Error
/// when two dataflow accelerators disagree, when one derives its folding (target_fps) or when
/// its list does not have one entry or one per layer (`layers`).
std::vector<int> auto_mac_trees(const ManifestSetup& setup, std::size_t layers, std::ostream& log);

/// The blocks a search chooses among: the manifest's 8x8 multipliers compiled for the engine.
/// Search block b is library block b; the library also holds the built-in exact multipliers
/// ("exact", "exact-u") after the manifest's blocks.
struct BlockSet {
    engine::NamedLibrary library;
    std::vector<std::string> names;   ///< manifest short names of the search's blocks
    std::vector<HardwareCost> costs;  ///< per search block
    int exact_block = -1;             ///< first search block whose table is the exact product; -1: none
    bool is_signed = true;            ///< every search block's signedness (one experiment quantizes one way)
    int exact_index = 0;              ///< library index of the built-in exact multiplier of that signedness
};
/// The block set of `instances`. Notes on blocks the engine cannot emulate go to `notes`.
/// Throws hawx::Error naming `file` when there is no block, no 8x8 multiplier, signedness is
/// mixed, or (with `require_costs`) a block declares no positive power and area.
BlockSet make_block_set(const Instances& instances, const std::string& file, bool require_costs, std::ostream* notes);

/// Everything `hawx run` needs to know about a manifest with a model, typed and checked.
struct Experiment {
    const ManifestSetup* setup = nullptr;
    const Manifest* manifest = nullptr;
    const ExperimentSpec* spec = nullptr;
    const ModelSpec* model = nullptr;
    std::string file;        ///< the manifest, for messages
    BlockSet blocks;
    nlohmann::json resolved_json;  ///< the resolved manifest, written into the run folder
    std::string hash;        ///< identity for resumption (see experiment_hash)

    const ResolvedManifest& resolved() const { return *setup->resolved; }
    PluginManager& plugins() const { return *setup->plugins; }
};
/// Builds the experiment of a manifest that names a model: blocks (make_block_set with costs),
/// dataset and model names checked. Throws hawx::Error naming the manifest.
Experiment make_experiment(const ManifestSetup& setup, std::ostream& notes);

/// What identifies an experiment for resumption: an FNV-1a hash of the resolved manifest
/// without the descriptive text, the output location and the manifest's own path.
std::string experiment_hash(const nlohmann::json& resolved);

}  // namespace hawx::pipeline
