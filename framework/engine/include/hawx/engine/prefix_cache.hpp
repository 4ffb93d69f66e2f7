#pragma once
/// \file
/// Prefix caching for sweeps over many configurations (e.g. an exhaustive layer-level search).
///
/// The output of approximable layer j depends only on the input and on the blocks of layers
/// 1..j (layers are numbered in execution order, and a layer's input is computed from earlier
/// layers only). A PrefixCachingRunner sits between the network and the Engine: for each
/// layer it keeps the outputs of every batch of the last evaluation under the key
/// (data tag, assignment of layers 1..j); an evaluation whose prefix matches returns those
/// outputs instead of recomputing the layer. Configurations visited in lexicographic order
/// (layer 1 slowest) then compute layer j once per distinct prefix: B + B^2 + ... + B^L layer
/// evaluations instead of L * B^L. The results are bit-identical to the Engine's (the same
/// tensors), provided every evaluation feeds the same batches in the same order for a tag.
#include <cstddef>
#include <string>
#include <vector>

#include "hawx/engine/engine.hpp"

namespace hawx::engine {

class PrefixCachingRunner : public LayerRunner {
public:
    /// `budget_bytes` bounds the cached outputs; layers that do not fit are always computed.
    /// `copy_outputs`: hand out copies of cached outputs, for networks that may modify a
    /// layer's output in place (e.g. TorchScript `out += identity`); zoo networks never do.
    PrefixCachingRunner(Engine& engine, std::size_t budget_bytes, bool copy_outputs = true);

    /// Sets the engine's assignment and starts an evaluation over the batches of `data_tag`
    /// (a name for the data and its batching, e.g. "validation/256").
    void begin(const ModelAssignment& assignment, const std::string& data_tag);

    at::Tensor forward(const LayerDesc& layer, const at::Tensor& input, const at::Tensor& weight,
                       const at::Tensor& bias) override;

    std::size_t hits() const { return hits_; }
    std::size_t misses() const { return misses_; }
    std::size_t cached_bytes() const { return bytes_; }

private:
    struct Entry {
        std::string key;
        std::vector<at::Tensor> outputs;  // per batch, in call order
        std::size_t bytes = 0;
    };
    Engine& engine_;
    std::size_t budget_;
    bool copy_;
    std::vector<std::string> keys_;  // per layer: the prefix key of the current evaluation
    std::vector<Entry> entries_;     // per layer
    std::vector<std::size_t> calls_; // per layer: calls in the current evaluation
    std::size_t bytes_ = 0, hits_ = 0, misses_ = 0;
};

}  // namespace hawx::engine
