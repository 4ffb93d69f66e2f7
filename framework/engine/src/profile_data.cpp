#include "profile_data.hpp"

#include <hawx/sdk/error.hpp>

#include <map>
#include <string>

namespace hawx::engine::detail {

std::vector<LayerData> collect_profile(const std::vector<LayerProfile>& records, bool need_grad) {
    std::map<int, std::vector<const LayerProfile*>> by_layer;
    bool all_grad = true;
    for (const auto& r : records) {
        const bool has = r.output.defined() && r.output.grad().defined();
        if (!has && need_grad)
            throw Error("scoring: layer " + std::to_string(r.layer.index) + " has no gradient (run backward first)");
        all_grad = all_grad && has;
        by_layer[r.layer.index].push_back(&r);
    }
    std::vector<LayerData> out;
    for (auto& [index, recs] : by_layer) {
        LayerData d;
        d.desc = recs.front()->layer;
        d.g = geometry_of(d.desc);
        d.out_scale_a = recs.front()->act.scale;
        d.wq = recs.front()->weights;
        d.has_grad = all_grad;
        const Geometry& g = d.g;
        std::int64_t OH = 1, OW = 1;
        if (!g.linear) OH = recs.front()->output.size(2), OW = recs.front()->output.size(3);
        d.P = OH * OW;
        for (const auto* r : recs) d.N += r->codes.size(0);
        d.cols.assign(static_cast<std::size_t>(g.G), std::vector<std::uint8_t>(static_cast<std::size_t>(d.N * g.K * d.P)));
        std::int64_t n0 = 0;
        for (const auto* r : recs) {
            if (r->act.scale != d.out_scale_a || r->weights != d.wq)
                throw Error("scoring: layer " + std::to_string(index) + " was profiled with different quantizers");
            if (d.has_grad)
                d.absgrad.push_back(
                    r->grad().detach().abs().to(at::kFloat).contiguous().view({r->codes.size(0), g.F, d.P}));
            const at::Tensor codes = r->codes.contiguous();
            const std::int64_t H = g.linear ? 1 : codes.size(2), W = g.linear ? 1 : codes.size(3);
            for (std::int64_t grp = 0; grp < g.G; ++grp)
                for (std::int64_t n = 0; n < codes.size(0); ++n)
                    im2col_tile(g, codes.data_ptr<std::uint8_t>(), H, W, OH, OW, grp, n * d.P, d.P,
                                static_cast<std::uint8_t>(r->act.zero_code()),
                                d.cols[static_cast<std::size_t>(grp)].data() + (n0 + n) * g.K * d.P);
            n0 += codes.size(0);
        }
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace hawx::engine::detail
