#include "hawx/zoo/representatives.hpp"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "hawx/sdk/error.hpp"

namespace hawx::zoo {

namespace {

using Point = std::array<double, 2>;

double dist2(const Point& a, const Point& b) {
    const double dx = a[0] - b[0];
    const double dy = a[1] - b[1];
    return dx * dx + dy * dy;
}

// Our own mapping of the generator's output to [0, 1): the top 53 bits, so that results do
// not depend on the standard library's distributions.
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

std::size_t uniform_index(std::mt19937_64& rng, std::size_t n) {
    return std::min(n - 1, static_cast<std::size_t>(uniform01(rng) * static_cast<double>(n)));
}

// Nearest centroid, ties to the lowest cluster.
int nearest(const Point& p, const std::vector<Point>& centroids) {
    int best = 0;
    double best_d = dist2(p, centroids[0]);
    for (std::size_t c = 1; c < centroids.size(); ++c) {
        const double d = dist2(p, centroids[c]);
        if (d < best_d) {
            best_d = d;
            best = static_cast<int>(c);
        }
    }
    return best;
}

std::vector<Point> kmeans_plus_plus(const std::vector<Point>& points, int k, std::mt19937_64& rng) {
    const std::size_t n = points.size();
    std::vector<Point> centroids{points[uniform_index(rng, n)]};
    std::vector<double> d2(n);
    for (std::size_t i = 0; i < n; ++i) d2[i] = dist2(points[i], centroids[0]);
    while (static_cast<int>(centroids.size()) < k) {
        double total = 0.0;
        for (double d : d2) total += d;
        std::size_t pick = 0;
        if (total > 0.0) {
            // D^2 sampling; only points at a positive distance can be picked (the last such one
            // when rounding leaves the target beyond the running sum).
            const double target = uniform01(rng) * total;
            double running = 0.0;
            for (std::size_t i = 0; i < n; ++i) {
                if (d2[i] <= 0.0) continue;
                running += d2[i];
                pick = i;
                if (running > target) break;
            }
        } else {
            // Every point coincides with a centroid (duplicates); Lloyd's empty-cluster rule
            // separates them.
            pick = uniform_index(rng, n);
        }
        centroids.push_back(points[pick]);
        for (std::size_t i = 0; i < n; ++i) d2[i] = std::min(d2[i], dist2(points[i], centroids.back()));
    }
    return centroids;
}

// Gives every empty cluster the point farthest from its centroid among clusters of two or
// more members (one exists while a cluster is empty, since there are at least k points).
void fill_empty_clusters(const std::vector<Point>& points, std::vector<int>& assignment,
                         const std::vector<Point>& centroids) {
    const std::size_t k = centroids.size();
    std::vector<std::size_t> counts(k, 0);
    for (int a : assignment) ++counts[static_cast<std::size_t>(a)];
    for (std::size_t c = 0; c < k; ++c) {
        if (counts[c] != 0) continue;
        std::size_t far = points.size();
        double far_d = -1.0;
        for (std::size_t i = 0; i < points.size(); ++i) {
            const auto a = static_cast<std::size_t>(assignment[i]);
            if (counts[a] < 2) continue;
            const double d = dist2(points[i], centroids[a]);
            if (d > far_d) {
                far_d = d;
                far = i;
            }
        }
        --counts[static_cast<std::size_t>(assignment[far])];
        assignment[far] = static_cast<int>(c);
        counts[c] = 1;
    }
}

std::vector<Point> cluster_means(const std::vector<Point>& points, const std::vector<int>& assignment, int k) {
    std::vector<Point> sums(static_cast<std::size_t>(k), Point{0.0, 0.0});
    std::vector<std::size_t> counts(static_cast<std::size_t>(k), 0);
    for (std::size_t i = 0; i < points.size(); ++i) {
        const auto a = static_cast<std::size_t>(assignment[i]);
        sums[a][0] += points[i][0];
        sums[a][1] += points[i][1];
        ++counts[a];
    }
    for (std::size_t c = 0; c < sums.size(); ++c) {
        sums[c][0] /= static_cast<double>(counts[c]);
        sums[c][1] /= static_cast<double>(counts[c]);
    }
    return sums;
}

KMeansResult lloyd(const std::vector<Point>& points, int k, std::mt19937_64& rng, int max_iterations) {
    KMeansResult r;
    r.centroids = kmeans_plus_plus(points, k, rng);
    r.assignment.assign(points.size(), -1);
    for (int it = 1; it <= max_iterations; ++it) {
        bool changed = false;
        for (std::size_t i = 0; i < points.size(); ++i) {
            const int a = nearest(points[i], r.centroids);
            changed = changed || a != r.assignment[i];
            r.assignment[i] = a;
        }
        r.iterations = it;
        // Unchanged: the centroids are already the means of this assignment.
        if (!changed) break;
        fill_empty_clusters(points, r.assignment, r.centroids);
        r.centroids = cluster_means(points, r.assignment, k);
    }
    r.inertia = 0.0;
    for (std::size_t i = 0; i < points.size(); ++i)
        r.inertia += dist2(points[i], r.centroids[static_cast<std::size_t>(r.assignment[i])]);
    return r;
}

// Renumbers clusters in the order of their first member.
void canonical_labels(KMeansResult& r) {
    const std::size_t k = r.centroids.size();
    std::vector<int> relabel(k, -1);
    int next = 0;
    for (int& a : r.assignment) {
        auto& to = relabel[static_cast<std::size_t>(a)];
        if (to < 0) to = next++;
        a = to;
    }
    std::vector<Point> centroids(k);
    for (std::size_t c = 0; c < k; ++c) centroids[static_cast<std::size_t>(relabel[c])] = r.centroids[c];
    r.centroids = std::move(centroids);
}

// The recording runner: computes every layer in float and keeps the output of layer 1.
class FirstLayerRecorder : public engine::LayerRunner {
public:
    at::Tensor forward(const engine::LayerDesc& layer, const at::Tensor& input, const at::Tensor& weight,
                       const at::Tensor& bias) override {
        at::Tensor out = engine::float_forward(layer, input, weight, bias);
        if (layer.index == 1) captured = out;
        return out;
    }
    at::Tensor captured;
};

// Installs a FirstLayerRecorder on every layer and puts the network in eval mode; restores the
// previous runners and training flag on scope exit.
class RecordingScope {
public:
    explicit RecordingScope(Network& net) : net_(net), was_training_(net.is_training()) {
        layers_ = net.approx_layers();
        for (auto* l : layers_) saved_.push_back(l->runner);
        for (auto* l : layers_) l->runner = &recorder;
        net.eval();
    }
    ~RecordingScope() {
        for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->runner = saved_[i];
        net_.train(was_training_);
    }
    RecordingScope(const RecordingScope&) = delete;
    RecordingScope& operator=(const RecordingScope&) = delete;

    FirstLayerRecorder recorder;

private:
    Network& net_;
    bool was_training_;
    std::vector<ApproxLayer*> layers_;
    std::vector<engine::LayerRunner*> saved_;
};

// Calls f(first_index, activations) for each batch of `data`, activations being the first
// layer's output as a contiguous float tensor [batch, M].
template <typename F>
void for_each_first_layer_batch(Network& net, const Dataset& data, const hawx::InputSpec& spec, std::size_t batch_size,
                                F&& f) {
    RecordingScope scope(net);
    if (net.approx_layers().empty()) throw Error(net.model_name() + " has no approximable layer to profile");
    at::NoGradGuard no_grad;
    const std::size_t n = data.size();
    for (std::size_t begin = 0; begin < n; begin += batch_size) {
        const std::size_t end = std::min(n, begin + batch_size);
        scope.recorder.captured = at::Tensor();
        net.forward(hawx::to_input(data, begin, end, spec));
        if (!scope.recorder.captured.defined())
            throw Error(net.model_name() + ": the first approximable layer was not called by the forward pass");
        const at::Tensor a = scope.recorder.captured.reshape({static_cast<std::int64_t>(end - begin), -1})
                                 .to(at::kFloat)
                                 .contiguous();
        f(begin, a);
    }
}

void check_profiling_set(const char* who, const Dataset& data, std::size_t batch_size) {
    if (data.size() == 0) throw Error(std::string(who) + ": dataset '" + data.name + "' has no images");
    if (batch_size == 0) throw Error(std::string(who) + ": batch size must be >= 1");
}

struct StatsPass {
    std::vector<Point> stats;
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
};

StatsPass stats_pass(Network& net, const Dataset& data, const hawx::InputSpec& spec, std::size_t batch_size) {
    StatsPass r;
    r.stats.resize(data.size());
    for_each_first_layer_batch(net, data, spec, batch_size, [&](std::size_t first, const at::Tensor& a) {
        const std::int64_t rows = a.size(0);
        const std::int64_t m = a.size(1);
        const float* p = a.data_ptr<float>();
        for (std::int64_t b = 0; b < rows; ++b) {
            const float* row = p + b * m;
            double sum = 0.0;
            for (std::int64_t j = 0; j < m; ++j) {
                sum += row[j];
                r.min = std::min(r.min, static_cast<double>(row[j]));
                r.max = std::max(r.max, static_cast<double>(row[j]));
            }
            const double mu = sum / static_cast<double>(m);
            double sq = 0.0;
            for (std::int64_t j = 0; j < m; ++j) {
                const double d = row[j] - mu;
                sq += d * d;
            }
            r.stats[first + static_cast<std::size_t>(b)] = {mu, std::sqrt(sq / static_cast<double>(m))};
        }
    });
    return r;
}

}  // namespace

KMeansResult kmeans(const std::vector<std::array<double, 2>>& points, int k, std::uint64_t seed, int restarts,
                    int max_iterations) {
    if (points.empty()) throw Error("kmeans: no points to cluster");
    if (k < 1) throw Error("kmeans: k must be >= 1, got " + std::to_string(k));
    if (static_cast<std::size_t>(k) > points.size())
        throw Error("kmeans: k = " + std::to_string(k) + " clusters but only " + std::to_string(points.size()) +
                    " points");
    if (restarts < 1) throw Error("kmeans: restarts must be >= 1, got " + std::to_string(restarts));
    if (max_iterations < 1)
        throw Error("kmeans: max_iterations must be >= 1, got " + std::to_string(max_iterations));
    for (std::size_t i = 0; i < points.size(); ++i)
        if (!std::isfinite(points[i][0]) || !std::isfinite(points[i][1]))
            throw Error("kmeans: point " + std::to_string(i) + " is not finite");

    std::mt19937_64 rng(seed);
    KMeansResult best;
    for (int r = 0; r < restarts; ++r) {
        KMeansResult run = lloyd(points, k, rng, max_iterations);
        if (r == 0 || run.inertia < best.inertia) best = std::move(run);
    }
    canonical_labels(best);
    return best;
}

std::vector<std::array<double, 2>> first_layer_stats(Network& net, const Dataset& data, const hawx::InputSpec& spec,
                                                     std::size_t batch_size) {
    check_profiling_set("first_layer_stats", data, batch_size);
    return stats_pass(net, data, spec, batch_size).stats;
}

Representatives select_representatives(Network& net, const Dataset& data, const hawx::InputSpec& spec, int k,
                                       std::uint64_t seed, int bins, std::size_t batch_size) {
    check_profiling_set("select_representatives", data, batch_size);
    const std::size_t n = data.size();
    if (k < 1) throw Error("select_representatives: K must be >= 1, got " + std::to_string(k));
    if (static_cast<std::size_t>(k) > n)
        throw Error("select_representatives: K = " + std::to_string(k) + " representatives requested but dataset '" +
                    data.name + "' has only " + std::to_string(n) + " images");
    if (bins < 1) throw Error("select_representatives: bins must be >= 1, got " + std::to_string(bins));

    Representatives r;
    StatsPass pass = stats_pass(net, data, spec, batch_size);
    r.stats = std::move(pass.stats);
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(r.stats[i][0]) || !std::isfinite(r.stats[i][1]))
            throw Error("select_representatives: image " + std::to_string(i) + " of dataset '" + data.name +
                        "' gives non-finite first-layer activations in " + net.model_name());

    // Standardise each coordinate (population statistics; a constant coordinate keeps scale 1).
    for (std::size_t c = 0; c < 2; ++c) {
        double sum = 0.0;
        for (const auto& s : r.stats) sum += s[c];
        const double mean = sum / static_cast<double>(n);
        double sq = 0.0;
        for (const auto& s : r.stats) sq += (s[c] - mean) * (s[c] - mean);
        const double sd = std::sqrt(sq / static_cast<double>(n));
        r.feature_mean[c] = mean;
        r.feature_scale[c] = sd > 0.0 ? sd : 1.0;
    }
    std::vector<Point> z(n);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t c = 0; c < 2; ++c) z[i][c] = (r.stats[i][c] - r.feature_mean[c]) / r.feature_scale[c];

    const KMeansResult km = kmeans(z, k, seed);
    r.assignment = km.assignment;
    r.inertia = km.inertia;
    const auto kk = static_cast<std::size_t>(k);
    r.cluster_sizes.assign(kk, 0);
    r.ids.assign(kk, n);
    std::vector<double> best_d(kk, std::numeric_limits<double>::infinity());
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<std::size_t>(km.assignment[i]);
        ++r.cluster_sizes[c];
        const double d = dist2(z[i], km.centroids[c]);
        if (d < best_d[c]) {
            best_d[c] = d;
            r.ids[c] = i;
        }
    }
    for (const auto& c : km.centroids)
        r.centroids.push_back(
            {c[0] * r.feature_scale[0] + r.feature_mean[0], c[1] * r.feature_scale[1] + r.feature_mean[1]});

    // Fig. 2: histograms on bins shared by the whole set and the representatives.
    double lo = pass.min;
    double hi = pass.max;
    if (!(hi > lo)) {
        lo -= 0.5;
        hi += 0.5;
    }
    const double width = (hi - lo) / bins;
    r.edges.resize(static_cast<std::size_t>(bins) + 1);
    for (int j = 0; j <= bins; ++j) r.edges[static_cast<std::size_t>(j)] = lo + j * width;
    r.edges.back() = hi;

    std::vector<int> rep_of(n, -1);
    for (std::size_t c = 0; c < kk; ++c) rep_of[r.ids[c]] = static_cast<int>(c);
    std::vector<double> all(static_cast<std::size_t>(bins), 0.0);
    std::vector<std::vector<double>> per_rep(kk, std::vector<double>(static_cast<std::size_t>(bins), 0.0));
    std::size_t m = 0;
    for_each_first_layer_batch(net, data, spec, batch_size, [&](std::size_t first, const at::Tensor& a) {
        const std::int64_t rows = a.size(0);
        m = static_cast<std::size_t>(a.size(1));
        const float* p = a.data_ptr<float>();
        for (std::int64_t b = 0; b < rows; ++b) {
            const int rep = rep_of[first + static_cast<std::size_t>(b)];
            const float* row = p + b * a.size(1);
            for (std::size_t j = 0; j < m; ++j) {
                const double t = std::floor((row[j] - lo) / width);
                const auto bin = static_cast<std::size_t>(std::clamp(t, 0.0, static_cast<double>(bins - 1)));
                all[bin] += 1.0;
                if (rep >= 0) per_rep[static_cast<std::size_t>(rep)][bin] += 1.0;
            }
        }
    });

    const double md = static_cast<double>(m);
    r.density_all.resize(static_cast<std::size_t>(bins));
    r.density_representatives.assign(static_cast<std::size_t>(bins), 0.0);
    r.density_per_representative.assign(kk, std::vector<double>(static_cast<std::size_t>(bins), 0.0));
    for (std::size_t j = 0; j < static_cast<std::size_t>(bins); ++j) {
        const double w = r.edges[j + 1] - r.edges[j];
        r.density_all[j] = all[j] / (static_cast<double>(n) * md * w);
        double reps = 0.0;
        for (std::size_t c = 0; c < kk; ++c) {
            reps += per_rep[c][j];
            r.density_per_representative[c][j] = per_rep[c][j] / (md * w);
        }
        r.density_representatives[j] = reps / (static_cast<double>(kk) * md * w);
    }
    return r;
}

nlohmann::json Representatives::to_json() const {
    return {{"ids", ids},
            {"cluster_sizes", cluster_sizes},
            {"centroids", centroids},
            {"assignment", assignment},
            {"stats", stats},
            {"feature_mean", feature_mean},
            {"feature_scale", feature_scale},
            {"inertia", inertia},
            {"edges", edges},
            {"density_all", density_all},
            {"density_representatives", density_representatives},
            {"density_per_representative", density_per_representative}};
}

}  // namespace hawx::zoo
