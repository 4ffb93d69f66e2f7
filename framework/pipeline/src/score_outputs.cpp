#include "hawx/pipeline/score_outputs.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <cstdio>
#include <sstream>

#include "hawx/framework/io.hpp"
#include "hawx/framework/text.hpp"

namespace hawx::pipeline {

namespace {

// JSON has no NaN: unscored values are null.
nlohmann::json jnum(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::string edge_label(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

const char* kQuantileNames[] = {"min", "q01", "q05", "q25", "q50", "q75", "q95", "q99", "max"};

std::vector<std::string> bin_names() {
    std::vector<std::string> n = {"zero", "below_1e-12"};
    for (int j = 0; j < engine::kLogBins; ++j) n.push_back("bin_" + edge_label(engine::log_bin_edge(j)));
    n.push_back("above_1e+02");
    return n;
}

}  // namespace

nlohmann::json scores_json(const ScoreReport& r) {
    const engine::ScoreTable& t = r.scores;
    nlohmann::json j = r.header;
    j["metric"] = r.metric;
    j["blocks"] = r.block_names;
    j["inputs"] = t.inputs;
    j["model_scores"] = nlohmann::json::array();
    for (std::size_t b = 0; b < r.block_names.size(); ++b) {
        nlohmann::json m = {{"block", r.block_names[b]}, {"mean", jnum(t.model_mean[b])}, {"sum", jnum(t.model_sum[b])}};
        if (b < r.accuracy.size()) m["accuracy"] = jnum(r.accuracy[b]);
        j["model_scores"].push_back(m);
    }
    j["layers"] = nlohmann::json::array();
    for (std::size_t l = 0; l < t.layers.size(); ++l) {
        const auto& d = t.layers[l];
        nlohmann::json jl = {{"index", d.index}, {"name", d.name}, {"scores", nlohmann::json::array()}};
        for (std::size_t b = 0; b < r.block_names.size(); ++b) {
            const auto& s = t.s[l][b];
            jl["scores"].push_back({{"block", r.block_names[b]}, {"operations", s.operations}, {"mean", jnum(s.layer_mean)},
                                    {"sum", jnum(s.layer_sum)}, {"filter_mean", s.filter_mean}, {"filter_sum", s.filter_sum}});
        }
        j["layers"].push_back(jl);
    }
    if (r.distributions) {
        nlohmann::json jd;
        std::vector<double> edges;
        for (int e = 0; e <= engine::kLogBins; ++e) edges.push_back(engine::log_bin_edge(e));
        jd["log_bin_edges"] = edges;
        jd["bins"] = bin_names();
        jd["quantile_levels"] = engine::kQuantileLevels;
        jd["exact_limit"] = r.distribution_options.exact_limit;
        jd["samples"] = r.distribution_options.samples;
        jd["seed"] = r.distribution_options.seed;
        jd["note"] = "hawx(o) over operations o=(f,p,k); layers above exact_limit operations: a uniform sample "
                     "(with replacement) of `samples` operations, counts scaled to the layer's operations";
        for (const auto& row : *r.distributions) {
            nlohmann::json q = nlohmann::json::array();
            for (double v : row.quantiles) q.push_back(jnum(v));
            jd["rows"].push_back({{"layer", row.layer}, {"name", row.name}, {"block", r.block_names[row.block]},
                                  {"operations", row.operations}, {"evaluated", row.evaluated},
                                  {"sampled", row.sampled}, {"quantiles", q}, {"bins", row.bins}});
        }
        j["distributions"] = jd;
    } else {
        j["distributions"] = nullptr;
    }
    if (r.spearman) j["spearman_model_score_vs_accuracy"] = *r.spearman;
    return j;
}

std::vector<std::string> write_score_outputs(const std::string& run, const ScoreReport& r) {
    const engine::ScoreTable& t = r.scores;
    const bool measured = !r.accuracy.empty();
    std::string model_csv = measured ? "block,mean,sum,accuracy\n" : "block,mean,sum\n";
    for (std::size_t b = 0; b < r.block_names.size(); ++b) {
        model_csv += r.block_names[b] + "," + sig9(t.model_mean[b]) + "," + sig9(t.model_sum[b]);
        if (measured) model_csv += "," + sig9(b < r.accuracy.size() ? r.accuracy[b] : std::nan(""));
        model_csv += "\n";
    }
    std::string layer_csv = "layer,name,block,operations,mean,sum\n", filter_csv = "layer,filter,block,mean,sum\n",
                op_csv = "layer,filter,position,block,mean,sum\n";
    bool positions = false;
    for (std::size_t l = 0; l < t.layers.size(); ++l) {
        const auto& d = t.layers[l];
        const std::string li = std::to_string(d.index);
        for (std::size_t b = 0; b < r.block_names.size(); ++b) {
            const auto& s = t.s[l][b];
            layer_csv += li + "," + d.name + "," + r.block_names[b] + "," + std::to_string(s.operations) + "," +
                         sig9(s.layer_mean) + "," + sig9(s.layer_sum) + "\n";
            for (std::size_t f = 0; f < s.filter_mean.size(); ++f)
                filter_csv += li + "," + std::to_string(f) + "," + r.block_names[b] + "," + sig9(s.filter_mean[f]) + "," +
                              sig9(s.filter_sum[f]) + "\n";
            if (s.position_mean.empty()) continue;
            positions = true;
            const std::size_t F = s.filter_mean.size(), K = s.position_mean.size() / F;
            // A weight position covers the layer's P output positions: operations / (F * K).
            const double P = static_cast<double>(s.operations) / static_cast<double>(F * K);
            for (std::size_t i = 0; i < s.position_mean.size(); ++i)
                op_csv += li + "," + std::to_string(i / K) + "," + std::to_string(i % K) + "," + r.block_names[b] + "," +
                          sig9(s.position_mean[i]) + "," + sig9(s.position_mean[i] * P) + "\n";
        }
    }
    std::vector<std::string> written = {"scores.json", "scores_model.csv", "scores_layer.csv", "scores_filter.csv"};
    write_file_atomic(run + "/scores.json", scores_json(r).dump(1) + "\n");
    write_file_atomic(run + "/scores_model.csv", model_csv);
    write_file_atomic(run + "/scores_layer.csv", layer_csv);
    write_file_atomic(run + "/scores_filter.csv", filter_csv);
    if (positions) {
        write_file_atomic(run + "/scores_operation.csv", op_csv);
        written.push_back("scores_operation.csv");
    }
    if (r.distributions) {
        std::string csv = "layer,name,block,operations,evaluated,sampled";
        for (const char* q : kQuantileNames) csv += std::string(",") + q;
        for (const auto& n : bin_names()) csv += "," + n;
        csv += "\n";
        for (const auto& row : *r.distributions) {
            csv += std::to_string(row.layer) + "," + row.name + "," + r.block_names[row.block] + "," +
                   std::to_string(row.operations) + "," + std::to_string(row.evaluated) + "," +
                   (row.sampled ? "1" : "0");
            for (double v : row.quantiles) csv += "," + sig9(v);
            for (double v : row.bins) csv += "," + sig9(v);
            csv += "\n";
        }
        write_file_atomic(run + "/scores_distribution.csv", csv);
        written.push_back("scores_distribution.csv");
    }
    return written;
}


}  // namespace hawx::pipeline
