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
    /// Search entries only: the accelerator (short name) whose cost the strategy minimizes;
    /// empty: every accelerator of the manifest in turn, each its own objective.
    std::string objective;
};

/// A MAC entry of `blocks`: a multiplier and an adder of the same list, paired
/// ({"name", "multiplier", "adder", "order"}; see hawx/framework/mac_block.hpp).
struct MacRef {
    std::string name, multiplier, adder;
    std::string order = "sequential";  ///< "sequential" or "tree:S"
    std::string where;                 ///< e.g. "blocks[9] (L2N_LOA6)"
};

/// The trained network an experiment works on. `checkpoint` is a hawx checkpoint or a
/// TorchScript file; with `arch` (a zoo model) a missing checkpoint is trained and cached there.
struct ModelSpec {
    std::string arch;        ///< zoo model name; empty for a given checkpoint or TorchScript file
    std::string checkpoint;  ///< resolved against the manifest's folder
    double width = 1.0;      ///< channel multiplier when training
    /// Square input size: of a model trained here (0: 32), or of a TorchScript model (0: the
    /// dataset's native size when the model accepts it, else probed). A hawx checkpoint
    /// carries its own; a different one given here is an error.
    int input_size = 0;
    std::string input_mean, input_std;  ///< TorchScript normalisation (comma-separated; default: data statistics)
};

struct DatasetSpec {
    std::string name = "fashion-mnist";
    std::string dir;                  ///< resolved against the manifest's folder; "" = default location
    std::int64_t validation = -1;     ///< held-out training images for selection; -1 = the checkpoint's split or 5000
    std::size_t validation_limit = 0; ///< evaluate searches on the first N validation images (0: all)
    std::size_t test_limit = 0;       ///< report on the first N test images (0: all)
};

/// How activation ranges are calibrated (quantization.calibration).
enum class Calibration { MinMax, Percentile };
/// What a component failing on one configuration does (exploration.on_error).
enum class OnError {
    Stop,  ///< the run stops with the component's message
    Skip   ///< the configuration is reported to the strategy as not evaluated; the run goes on
};
const char* to_string(Calibration c);
const char* to_string(OnError e);

/// Approximation-aware fine-tuning of search answers (manifest key `finetune`): the float
/// weights trained through the bit-exact approximate forward of a configuration.
struct FinetuneSpec {
    int epochs = 1;
    double lr = 1e-4;
    std::size_t images = 0;           ///< training images per epoch, the first N of the training split (0: all)
    std::optional<std::uint64_t> seed;  ///< shuffling; absent: the manifest's seed
    std::size_t batch_size = 64;
    std::string optimizer = "adam";   ///< adam | sgd
    double momentum = 0.9;            ///< sgd only
    double weight_decay = 0.0;
    std::string schedule = "cosine";  ///< cosine | step | constant
    std::string gradient = "ste";     ///< ste | slope (engine::GradientRule)
    int slope_rank = 4;               ///< gradient slope: terms kept of each block's error slope
};

/// Settings of the experiment pipeline beyond the components (defaults documented in docs).
struct ExperimentSpec {
    std::optional<ModelSpec> model;  ///< absent: the manifest only characterizes its blocks
    DatasetSpec dataset;
    nlohmann::json training = nlohmann::json::object();  ///< zoo::TrainOptions keys (epochs, lr, ...)
    Calibration calibration = Calibration::MinMax;
    double percentile = 99.99;
    std::size_t calibration_images = 2000;
    int representatives = 10;            ///< K of the k-means
    std::size_t profile_images = 0;      ///< training images clustered (0: all)
    /// Training images the drop predictor measures every block in every layer on (first of
    /// the training part; measured only when a strategy asks for a prediction). 10000: over
    /// four trained LeNet-5s on the hard ladder, 2000 left the single drops too coarse (one
    /// image = 0.05 points) and hawx-predict 3.8% above the exhaustive optimum on average,
    /// 10000 1.5%, 20000 no better (EXPERIMENTS.md).
    std::size_t predictor_images = 10000;
    Granularity granularity = Granularity::Layer;  ///< layer | filter
    std::vector<double> max_drop{1.0};   ///< accuracy thresholds, points below int8-exact (validation)
    std::uint64_t max_evaluations = 0;   ///< per search, 0: the strategy's own budget
    OnError on_error = OnError::Stop;
    std::size_t batch_size = 256;
    int threads = 0;                     ///< 0: all cores
    /// Each search answer fine-tuned and measured again (absent: answers are not fine-tuned).
    std::optional<FinetuneSpec> finetune;
    /// exploration.finetune_in_loop: the searches judge every configuration by its accuracy
    /// after fine-tuning (needs `finetune`).
    bool finetune_in_loop = false;
};

struct Manifest {
    std::string path;  ///< file it was read from ("" when parsed from memory)
    std::string dir;   ///< folder relative paths are resolved against
    std::string name;
    std::string description;
    std::uint64_t seed = 0;
    std::vector<std::string> plugin_paths;  ///< resolved against dir
    std::vector<ComponentRef> blocks;
    std::vector<MacRef> macs;  ///< MAC entries of `blocks`, made after the blocks they pair
    std::optional<ComponentRef> metric;
    std::optional<ComponentRef> search;      ///< the first of `searches`
    std::vector<ComponentRef> searches;      ///< `search` as one object, or an array of named ones
    std::vector<ComponentRef> accelerators;
    std::string output_dir = "runs";  ///< resolved against dir
    ExperimentSpec experiment;
    nlohmann::json document;  ///< the document as read (hashed to recognize a run to resume)
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
    std::vector<ResolvedComponent> searches;
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
    std::vector<std::pair<std::string, std::shared_ptr<SearchStrategy>>> searches;
    std::vector<std::pair<std::string, std::shared_ptr<AcceleratorModel>>> accelerators;
};
Instances instantiate(const ResolvedManifest& r, const PluginManager& plugins);

/// What made Instances::blocks[i]: its component ("core.loa_add"), or for a MAC entry
/// "mac EX + LOA8 (sequential)".
std::string block_origin(const ResolvedManifest& r, std::size_t i);

}  // namespace hawx
