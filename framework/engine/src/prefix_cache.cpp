#include "hawx/engine/prefix_cache.hpp"

#include <hawx/sdk/error.hpp>

namespace hawx::engine {

PrefixCachingRunner::PrefixCachingRunner(Engine& engine, std::size_t budget_bytes, bool copy_outputs)
    : engine_(engine), budget_(budget_bytes), copy_(copy_outputs) {}

void PrefixCachingRunner::begin(const ModelAssignment& assignment, const std::string& data_tag) {
    engine_.set_assignment(assignment);
    const std::size_t L = assignment.layers.size();
    keys_.assign(L, std::string());
    std::string prefix = data_tag;
    for (std::size_t l = 0; l < L; ++l) {
        const auto& a = assignment.layers[l];
        prefix += '|' + std::to_string(static_cast<int>(a.granularity)) + ':';
        for (int b : a.units) prefix += std::to_string(b) + ',';
        keys_[l] = prefix;
    }
    if (entries_.size() < L) entries_.resize(L);
    calls_.assign(L, 0);
}

at::Tensor PrefixCachingRunner::forward(const LayerDesc& layer, const at::Tensor& input, const at::Tensor& weight,
                                        const at::Tensor& bias) {
    const auto l = static_cast<std::size_t>(layer.index - 1);
    if (layer.index < 1 || l >= keys_.size())
        throw Error("prefix cache: layer " + std::to_string(layer.index) + " outside the assignment (call begin first)");
    const std::size_t call = calls_[l]++;
    Entry& e = entries_[l];
    if (e.key == keys_[l] && call < e.outputs.size()) {
        ++hits_;
        return copy_ ? e.outputs[call].clone() : e.outputs[call];
    }
    ++misses_;
    if (e.key != keys_[l]) {
        bytes_ -= e.bytes;
        e = Entry{};
        e.key = keys_[l];
    }
    at::Tensor out = engine_.forward(layer, input, weight, bias);
    const std::size_t size = static_cast<std::size_t>(out.numel()) * out.element_size();
    // Only a complete, in-order run of batches is reusable; a layer that does not fit stays uncached.
    if (call == e.outputs.size() && bytes_ + size <= budget_) {
        e.outputs.push_back(copy_ ? out.detach().clone() : out.detach());
        e.bytes += size;
        bytes_ += size;
    }
    return out;
}

}  // namespace hawx::engine
