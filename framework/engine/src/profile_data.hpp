#pragma once
// Engine-internal: a gradient profile regrouped per layer for scoring: |dL/dy| per record and
// the im2col of every profiled image's activation codes.
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "geometry.hpp"
#include "hawx/engine/engine.hpp"

namespace hawx::engine::detail {

struct LayerData {
    LayerDesc desc;
    Geometry g;
    std::int64_t N = 0, P = 1;
    float out_scale_a = 1;  // s_a
    const WeightQuant* wq = nullptr;
    bool has_grad = false;
    std::vector<at::Tensor> absgrad;               // per record, float [Nb, F, P]; empty without gradients
    std::vector<std::vector<std::uint8_t>> cols;  // per group: [N][K][P]
};

// One LayerData per profiled layer, by layer index. With `need_grad`, a record without a
// gradient is an error ("run backward first"); without it, gradients are taken when every
// record has one and ignored otherwise.
std::vector<LayerData> collect_profile(const std::vector<LayerProfile>& records, bool need_grad);

}  // namespace hawx::engine::detail
