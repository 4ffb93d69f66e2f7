#pragma once
/// \file
/// Bit-exact approximate computation of one quantized layer.
///
/// For output element (n, f, p) the kernel computes the integer accumulator
///     acc = sum_k T_b(f,k)[a_k][w_fk] - z_w(f) sum_k a_k - z_a sum_k w_fk + K z_a z_w(f)
/// over the K = (C/groups) * kh * kw weight positions k = (c, i, j) of filter f, with a_k the
/// activation code at that position (a padded position holds the zero-point code and goes
/// through the block like any other code), w_fk the weight code, and b(f, k) the block the
/// assignment gives that multiplication. For signed blocks z_a = z_w = 0 and acc is the plain
/// sum of table entries. Every path (gather, separable, reference) returns the same integers.
#include <ATen/ATen.h>
#include <hawx/sdk/configuration.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hawx/engine/compiled_block.hpp"
#include "hawx/engine/quant.hpp"
#include "hawx/engine/runner.hpp"

namespace hawx::engine {

/// Which block each multiplication of one layer uses: `units` indexes the block library;
/// 1 entry (Layer), out_channels entries (Filter) or out_channels * fan_in entries
/// (Operation, filter-major, k = (c * kh + i) * kw + j).
struct LayerAssignment {
    Granularity granularity = Granularity::Layer;
    std::vector<int> units;
    bool operator==(const LayerAssignment& o) const {
        return granularity == o.granularity && units == o.units;
    }
};

/// Checks an assignment against a layer and a library; throws hawx::Error naming the layer.
void validate_assignment(const LayerDesc& layer, const BlockLibrary& library, const LayerAssignment& a);

/// A layer prepared for one assignment: weight transforms and gather columns are computed
/// once here, not per forward.
class LayerKernel {
public:
    /// `weights` must come from quantize_weights with the blocks' signedness; `act_zero` is
    /// the activation zero point (ActQuant::zero). `path` forces a path or picks per block
    /// (Auto: separable when the block has a form of rank <= its compiled max_rank).
    /// `act_range` is the [min, max] activation VALUE the codes can hold (ActQuant's
    /// [qmin, qmax]); codes outside it are refused. A narrower range (e.g. 0..127 after a
    /// ReLU) lets the separable path prove exactness with fewer reduction chunks.
    /// `auto_tree` is the adder tree size S this layer gives MAC blocks of order "auto"
    /// (1: sequential).
    LayerKernel(const LayerDesc& layer, const WeightQuant& weights, std::int32_t act_zero,
                const BlockLibrary& library, const LayerAssignment& assignment, KernelPath path,
                std::array<std::int32_t, 2> act_range = {-128, 255}, int auto_tree = 1);
    ~LayerKernel();
    LayerKernel(const LayerKernel&) = delete;
    LayerKernel& operator=(const LayerKernel&) = delete;

    /// Accumulators for activation codes (uint8, [N, C, H, W] unpadded, or [N, in] for
    /// linear). Returns float32 when every |acc| is provably below 2^24 for these weights
    /// (then float32 holds it exactly), float64 otherwise; values are integers either way.
    /// Shape [N, F, OH, OW] or [N, F].
    at::Tensor accumulate(const at::Tensor& codes) const;
    /// Same from float activations quantized with `q` (fused into the separable path's
    /// operand transform; identical results). Throws hawx::Error on NaN/Inf input.
    at::Tensor accumulate(const at::Tensor& x, const ActQuant& q) const;

    /// True when the kernel reads activation codes (a gather part): accumulate(x, q) then
    /// quantizes first, and a caller holding the codes may pass them to accumulate_quantized.
    bool uses_codes() const;
    /// accumulate() for codes that quantize_codes made with this layer's quantizer (so within
    /// the kernel's activation range): the range check is skipped.
    at::Tensor accumulate_quantized(const at::Tensor& codes) const;

    /// One line per kernel part, e.g. "separable KV6 rank 2 (filters 0-63, 3 terms, 1 chunk)".
    std::string describe() const;
    /// Number of multiplications per image done by table lookups (0 = all separable).
    std::int64_t gathered_positions() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

/// The naive definition (for tests): loops over every output and weight position and reads
/// T_b[a][w] directly. Returns int64 accumulators, shape as LayerKernel::accumulate.
at::Tensor reference_accumulate(const LayerDesc& layer, const WeightQuant& weights, std::int32_t act_zero,
                                const BlockLibrary& library, const LayerAssignment& assignment,
                                const at::Tensor& codes, int auto_tree = 1);

/// Output spatial size of a conv layer for an input of h x w.
std::array<std::int64_t, 2> output_size(const LayerDesc& layer, std::int64_t h, std::int64_t w);

}  // namespace hawx::engine
