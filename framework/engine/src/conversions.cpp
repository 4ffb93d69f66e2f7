#include "hawx/engine/conversions.hpp"

#include <hawx/framework/config_string.hpp>
#include <hawx/sdk/error.hpp>

namespace hawx::engine {

LayerShape layer_shape(const LayerDesc& d, std::int64_t output_positions) {
    LayerShape s;
    s.name = d.name;
    s.type = d.linear ? "linear" : "conv2d";
    s.out_channels = d.out_channels;
    s.fan_in = d.fan_in();
    s.output_positions = output_positions;
    s.groups = d.groups;
    return s;
}

ModelAssignment to_assignment(const Configuration& c) {
    ModelAssignment a;
    for (const auto& units : c.blocks) {
        LayerAssignment la;
        la.granularity = units.size() == 1 ? Granularity::Layer : c.granularity;
        la.units = units;
        a.layers.push_back(std::move(la));
    }
    return a;
}

ModelAssignment parse_assignment(const std::string& text, const std::vector<std::string>& block_names,
                                 const std::vector<LayerDesc>& layers) {
    std::vector<std::int64_t> filters;
    for (const auto& l : layers) filters.push_back(l.out_channels);
    ModelAssignment m;
    for (auto& c : parse_layer_choices(text, block_names, filters, Granularity::Filter))
        m.layers.push_back(LayerAssignment{c.granularity, std::move(c.units)});
    return m;
}

std::string format_assignment(const ModelAssignment& a, const std::vector<std::string>& block_names) {
    std::vector<LayerChoice> choices;
    for (std::size_t l = 0; l < a.layers.size(); ++l) {
        if (a.layers[l].granularity == Granularity::Operation)
            throw Error("configuration: layer " + std::to_string(l + 1) +
                        " is assigned per operation, which the string notation cannot express");
        choices.push_back(LayerChoice{a.layers[l].granularity, a.layers[l].units});
    }
    return format_layer_choices(choices, block_names);
}

SearchScores search_scores(const ScoreTable& table, Granularity g, std::size_t blocks) {
    SearchScores out;
    for (std::size_t l = 0; l < table.s.size(); ++l) {
        const LayerDesc& d = table.layers[l];
        const auto F = static_cast<std::size_t>(d.out_channels), K = static_cast<std::size_t>(d.fan_in());
        const std::size_t U = g == Granularity::Layer ? 1 : g == Granularity::Filter ? F : F * K;
        std::vector<std::vector<double>> mean(U, std::vector<double>(blocks)), sum = mean;
        for (std::size_t b = 0; b < blocks; ++b) {
            const LayerScores& s = table.s[l][b];
            if (g == Granularity::Operation && !s.filter_mean.empty() && s.position_mean.size() != U)
                throw Error("search scores: layer " + std::to_string(l + 1) +
                            " has no per-position scores (operation granularity needs them)");
            // a weight position is shared by the layer's P output positions: operations / (F * K)
            const double P = static_cast<double>(s.operations) / static_cast<double>(F * K);
            for (std::size_t u = 0; u < U; ++u) {
                if (g == Granularity::Filter && s.filter_mean.size() == U) {
                    mean[u][b] = s.filter_mean[u], sum[u][b] = s.filter_sum[u];
                } else if (g == Granularity::Operation && s.position_mean.size() == U) {
                    mean[u][b] = s.position_mean[u], sum[u][b] = s.position_mean[u] * P;
                } else {  // layer granularity, or a block without scores (other signedness: NaN)
                    mean[u][b] = s.layer_mean, sum[u][b] = s.layer_sum;
                }
            }
        }
        out.mean.push_back(std::move(mean));
        out.sum.push_back(std::move(sum));
    }
    return out;
}

}  // namespace hawx::engine
