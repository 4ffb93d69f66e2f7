#pragma once
// Engine-internal: normalised layer geometry and the im2col of activation codes, shared by
// the layer kernels and the sensitivity scorer.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "hawx/engine/runner.hpp"

namespace hawx::engine::detail {

struct Geometry {
    bool linear = false;
    std::int64_t C = 0, G = 1, Cg = 0, F = 0, Fg = 0, kh = 1, kw = 1, K = 0;
    std::int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
};

inline Geometry geometry_of(const LayerDesc& l) {
    Geometry g;
    g.linear = l.linear;
    g.C = l.in_channels;
    g.G = l.groups;
    g.Cg = l.in_channels / l.groups;
    g.F = l.out_channels;
    g.Fg = l.out_channels / l.groups;
    g.kh = l.kernel[0];
    g.kw = l.kernel[1];
    g.K = g.Cg * g.kh * g.kw;
    g.sh = l.stride[0], g.sw = l.stride[1];
    g.ph = l.padding[0], g.pw = l.padding[1];
    g.dh = l.dilation[0], g.dw = l.dilation[1];
    return g;
}

inline std::string layer_label(const LayerDesc& l) {
    return "layer " + std::to_string(l.index) + (l.name.empty() ? "" : " (" + l.name + ")");
}

// Builds the im2col tile of rows [r0, r0 + R) for conv group g: cols[k * R + (r - r0)], where a
// row is (n, output position) flattened and k = (c * kh + i) * kw + j.
inline void im2col_tile(const Geometry& g, const std::uint8_t* codes, std::int64_t H, std::int64_t W, std::int64_t OH,
                 std::int64_t OW, std::int64_t group, std::int64_t r0, std::int64_t R, std::uint8_t zero_code,
                 std::uint8_t* cols) {
    if (g.linear) {
        for (std::int64_t r = 0; r < R; ++r) {
            const std::uint8_t* row = codes + (r0 + r) * g.C;
            for (std::int64_t k = 0; k < g.K; ++k) cols[k * R + r] = row[k];
        }
        return;
    }
    const std::int64_t P = OH * OW;
    for (std::int64_t r = 0; r < R; ++r) {
        const std::int64_t n = (r0 + r) / P, p = (r0 + r) % P;
        const std::int64_t oh = p / OW, ow = p % OW;
        const std::uint8_t* img = codes + (n * g.C + group * g.Cg) * H * W;
        std::int64_t k = 0;
        for (std::int64_t c = 0; c < g.Cg; ++c) {
            const std::uint8_t* plane = img + c * H * W;
            for (std::int64_t i = 0; i < g.kh; ++i) {
                const std::int64_t ih = oh * g.sh - g.ph + i * g.dh;
                const bool row_in = ih >= 0 && ih < H;
                for (std::int64_t j = 0; j < g.kw; ++j, ++k) {
                    const std::int64_t iw = ow * g.sw - g.pw + j * g.dw;
                    cols[k * R + r] = row_in && iw >= 0 && iw < W ? plane[ih * W + iw] : zero_code;
                }
            }
        }
    }
}

// A unit of the tile kernels' parallel work: rows tile `tile` of conv group `group`, filters
// group_filters[group][f0 .. f1).
struct TileTask {
    std::int64_t group, tile, f0, f1;
};

// Splits (group, tile) pairs further by filters until there are enough tasks to balance
// `threads`; splitting filters repeats the im2col of the tile, so no more than needed.
inline std::vector<TileTask> tile_tasks(const Geometry& g, const std::vector<std::vector<std::int64_t>>& group_filters,
                                        std::int64_t tiles, int threads) {
    std::vector<TileTask> tasks;
    for (std::int64_t grp = 0; grp < g.G; ++grp) {
        const auto& fl = group_filters[static_cast<std::size_t>(grp)];
        if (fl.empty()) continue;
        const std::int64_t nf = static_cast<std::int64_t>(fl.size());
        const std::int64_t want = std::max<std::int64_t>(1, (4 * threads + tiles * g.G - 1) / (tiles * g.G));
        const std::int64_t chunk = std::max<std::int64_t>(1, (nf + want - 1) / want);
        for (std::int64_t t = 0; t < tiles; ++t)
            for (std::int64_t f0 = 0; f0 < nf; f0 += chunk) tasks.push_back({grp, t, f0, std::min(nf, f0 + chunk)});
    }
    return tasks;
}

}  // namespace hawx::engine::detail
