#pragma once
/// \file
/// The approximate inference engine as a LayerRunner: float, calibration and quantized
/// (int8-exact or approximate, bit-exact) execution of any model whose approximable layers
/// call it.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <tbb/global_control.h>

#include <map>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hawx/engine/compiled_block.hpp"
#include "hawx/engine/gradient.hpp"
#include "hawx/engine/layer_kernel.hpp"
#include "hawx/engine/quant.hpp"
#include "hawx/engine/runner.hpp"


namespace hawx::engine {

struct EngineOptions {
    int threads = 0;  ///< LibTorch and TBB threads; 0 = hardware concurrency
    KernelPath path = KernelPath::Auto;
    /// Activation range calibration. MinMax (the default) takes the observed extremes;
    /// Percentile clips them to the given percentiles of the observed values (a sample of
    /// at most 2^20 values per layer, taken at a fixed stride).
    CalibrationMethod calibration = CalibrationMethod::MinMax;
    double percentile = 99.99;
    /// Kernels kept per layer for the assignments used most recently (layers with more than
    /// 2^20 weights keep at most 2): a sweep that alternates a layer between blocks reuses them.
    std::size_t kernels_per_layer = 8;
    /// Adder tree size per layer (index l - 1) for MAC blocks of order "auto"; a layer
    /// beyond the list, or a 1, sums sequentially. One entry applies to every layer.
    std::vector<int> auto_trees;
    /// Train mode: the gradient through an approximate product (see Mode::Train).
    GradientRule gradient = GradientRule::StraightThrough;
    /// Train mode with GradientRule::SlopeTable: ranks kept of each block's error-slope
    /// tables (their factorization's dropped part is reported by slope_factors()).
    int slope_rank = 4;
    int auto_tree(int layer_index) const {
        if (auto_trees.empty()) return 1;
        if (auto_trees.size() == 1) return auto_trees[0];
        const std::size_t i = static_cast<std::size_t>(layer_index - 1);
        return i < auto_trees.size() ? auto_trees[i] : 1;
    }
};

enum class Mode {
    Float,      ///< the model's own float computation
    Calibrate,  ///< float computation, recording each layer's input range
    Quantized,  ///< 8-bit quantized, each multiplication through its assigned block
    /// Quantized forward as above, differentiable with the straight-through estimator (the
    /// backward pass is the float layer's, quantization counts as identity), recording per
    /// layer the activation codes and the output tensor, whose gradient dL/dy a backward
    /// pass fills (see profile()).
    Profile,
    /// Fine-tuning: the value is the Quantized output, bit-exact; the gradient is that of
    /// quantization-aware training on the fake-quantized operands (the float layer on the
    /// dequantized codes; the activation quantizer passes the gradient where it does not clip,
    /// weights pass it everywhere). With GradientRule::SlopeTable the gradient adds the slope
    /// of each block's error E = T - a*w (central differences in code units, low-rank
    /// factorized), so d(approx)/da = s_w * dT/da instead of the exact product's s_w * w.
    /// Without gradient mode (evaluation) it is Quantized. Nothing is recorded.
    Train
};

/// What Profile mode records for one layer in one forward pass.
struct LayerProfile {
    LayerDesc layer;
    ActQuant act;            ///< the activation quantizer used
    const WeightQuant* weights = nullptr;  ///< owned by the engine; valid until weights change
    at::Tensor codes;        ///< uint8 activation codes, [N, C, H, W] or [N, in]
    at::Tensor output;       ///< the layer output (retains its gradient after backward)
    int auto_tree = 1;       ///< EngineOptions::auto_tree of this layer
    /// dL/dy for every output element (float, shape of `output`); undefined before backward.
    at::Tensor grad() const { return output.grad(); }
};

/// Where a layer's quantized forward passes spent their time (seconds, since the last
/// reset_timings()): finding or building the kernel (setup, builds counted), quantizing and
/// accumulating, dequantizing.
struct LayerTiming {
    double setup_s = 0, accumulate_s = 0, dequantize_s = 0;
    std::size_t calls = 0, builds = 0;
    std::int64_t images = 0;  ///< rows of input seen (images, or image batches' rows for linear layers)
};

/// Block choice for every approximable layer, index l - 1 for layer l.
struct ModelAssignment {
    std::vector<LayerAssignment> layers;
    /// Every one of `layers` layers uses `block` (layer granularity).
    static ModelAssignment uniform(int block, std::size_t layers);
};

class Engine : public LayerRunner {
public:
    Engine(BlockLibrary library, EngineOptions options = {});
    ~Engine() override;

    const BlockLibrary& library() const { return library_; }
    const EngineOptions& options() const { return options_; }

    /// Leaving Train mode forgets every layer's quantized weights (optimizers step them in
    /// place without a version change the cache could see).
    void set_mode(Mode m);
    void set_gradient_rule(GradientRule g) { options_.gradient = g; }
    /// The error-slope factorization Train mode uses for library block `block` (computed once).
    const SlopeFactors& slope_factors(int block);
    Mode mode() const { return mode_; }

    /// Forgets recorded ranges and switches to Calibrate mode.
    void begin_calibration();
    /// Turns the recorded ranges into quantizers; switches to Quantized mode. Throws if no
    /// layer was seen.
    void finish_calibration();
    bool calibrated() const { return calibrated_; }
    nlohmann::json calibration_json() const;
    void load_calibration(const nlohmann::json& j);

    /// The assignment used in Quantized mode. A layer whose assignment changed uses the
    /// kernel of that assignment if one of its recent ones (EngineOptions::kernels_per_layer),
    /// else builds it on its next forward.
    void set_assignment(ModelAssignment a);
    const ModelAssignment& assignment() const { return assignment_; }

    /// Layers seen so far (filled by forward passes), index l - 1.
    const std::vector<LayerDesc>& layers() const { return layers_; }
    /// How layer `index` (1-based) is computed under the current assignment.
    std::string describe_layer(int index) const;
    /// Per layer (index l - 1) where Quantized-mode time went; a timing table for --verbose.
    std::vector<LayerTiming> layer_timings() const;
    void reset_timings();

    at::Tensor forward(const LayerDesc& layer, const at::Tensor& input, const at::Tensor& weight,
                       const at::Tensor& bias) override;

    /// Records of the Profile-mode forward passes since the last clear_profile(), in call
    /// order (one per layer per pass).
    const std::vector<LayerProfile>& profile() const { return profile_; }
    void clear_profile() { profile_.clear(); }

    /// Quantized output of one layer from its float input (exposed for tests and profiling).
    at::Tensor quantized_forward(const LayerDesc& layer, const at::Tensor& input, const at::Tensor& weight,
                                 const at::Tensor& bias);

    /// The layer's activation quantizer for the given signedness (after calibration).
    const ActQuant& act_quant(int index, bool is_signed) const;
    /// Weight quantization of a layer (cached per weight tensor version).
    const WeightQuant& weight_quant(const LayerDesc& layer, const at::Tensor& weight, bool is_signed);

private:
    struct LayerState;
    at::Tensor train_forward(const LayerDesc& layer, const at::Tensor& input, const at::Tensor& weight,
                             const at::Tensor& bias);
    LayerState& state(const LayerDesc& layer);
    const at::Tensor& codes_for(LayerState& s, const at::Tensor& x, const ActQuant& aq, const LayerDesc& layer);

    BlockLibrary library_;
    EngineOptions options_;
    std::unique_ptr<tbb::global_control> tbb_threads_;
    Mode mode_ = Mode::Float;
    bool calibrated_ = false;
    ModelAssignment assignment_;
    std::vector<LayerDesc> layers_;
    std::vector<std::unique_ptr<LayerState>> states_;
    std::vector<LayerProfile> profile_;
    std::map<int, SlopeFactors> slopes_;
    std::array<std::unique_ptr<SlopeFactors>, 2> plain_factors_;  // the product's own, unsigned / signed
};

/// Dequantization: acc * (s_a * s_w[f]) + bias[f], computed so that float32 and float64
/// accumulators holding the same integers give identical results.
at::Tensor dequantize(const at::Tensor& acc, const ActQuant& aq, const WeightQuant& wq, const at::Tensor& bias);

}  // namespace hawx::engine
