// Representative inputs (HAWX step 1): k-means against hand-computed partitions and inertia,
// first-layer statistics against a direct computation, and the selection on LeNet-5 against
// brute force.
#include <gtest/gtest.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "hawx/sdk/error.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/zoo/network.hpp"
#include "hawx/zoo/representatives.hpp"
#include "zoo_test_util.hpp"

using namespace hawx;
using namespace hawx::zoo;
using hawx::test::error_of;
using hawx::test::one_line;
using Point = std::array<double, 2>;

namespace {

// Three well-separated clusters, interleaved so that no cluster is contiguous.
// A = (0,0),(2,0),(0,2),(2,2): mean (1,1), each point at squared distance 2 -> 8.
// B = (100,100),(104,100): mean (102,100), each at 4 -> 8.
// C = (0,100),(0,106),(0,103): mean (0,103), at 9, 9, 0 -> 18.   Total inertia 34.
struct Separated {
    std::vector<Point> points{{100, 100}, {0, 0}, {0, 100}, {2, 0}, {104, 100}, {0, 106},
                              {0, 2},     {2, 2}, {0, 103}};
    std::vector<int> truth{1, 0, 2, 0, 1, 2, 0, 0, 2};  // 0 = A, 1 = B, 2 = C
};

// Same cluster iff same true label, for every pair (label permutation aside).
bool same_partition(const std::vector<int>& a, const std::vector<int>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        for (std::size_t j = 0; j < a.size(); ++j)
            if ((a[i] == a[j]) != (b[i] == b[j])) return false;
    return true;
}

// Counts calls, to check that profiling neither uses nor loses a runner set before it.
struct CountingRunner : engine::LayerRunner {
    int calls = 0;
    at::Tensor forward(const engine::LayerDesc& layer, const at::Tensor& input, const at::Tensor& weight,
                       const at::Tensor& bias) override {
        ++calls;
        return engine::float_forward(layer, input, weight, bias);
    }
};

std::shared_ptr<Network> lenet(std::uint64_t seed) {
    torch::manual_seed(seed);
    return make_model("lenet5", {1, 32, 10, 1.0});
}

InputSpec lenet_spec() { return InputSpec{1, 32, {0.3f}, {0.4f}}; }

}  // namespace

TEST(KMeans, RecoversSeparatedClustersAndHandInertia) {
    const Separated s;
    const KMeansResult r = kmeans(s.points, 3, 42);
    EXPECT_TRUE(same_partition(r.assignment, s.truth));
    // Canonical numbering: clusters in the order of their first member (B, A, C).
    EXPECT_EQ(r.assignment, (std::vector<int>{0, 1, 2, 1, 0, 2, 1, 1, 2}));
    EXPECT_DOUBLE_EQ(r.inertia, 34.0);
    ASSERT_EQ(r.centroids.size(), 3u);
    EXPECT_EQ(r.centroids[0], (Point{102, 100}));
    EXPECT_EQ(r.centroids[1], (Point{1, 1}));
    EXPECT_EQ(r.centroids[2], (Point{0, 103}));
    EXPECT_GE(r.iterations, 1);
}

TEST(KMeans, SeedDeterminismAndSeedIndependenceOnSeparableData) {
    const Separated s;
    const KMeansResult a = kmeans(s.points, 3, 7);
    const KMeansResult b = kmeans(s.points, 3, 7);
    EXPECT_EQ(a.assignment, b.assignment);
    EXPECT_EQ(a.centroids, b.centroids);
    EXPECT_EQ(a.inertia, b.inertia);
    EXPECT_EQ(a.iterations, b.iterations);
    for (std::uint64_t seed : {1u, 2u, 3u, 1234u, 99999u}) {
        const KMeansResult c = kmeans(s.points, 3, seed);
        EXPECT_EQ(c.assignment, a.assignment) << "seed " << seed;
        EXPECT_DOUBLE_EQ(c.inertia, 34.0) << "seed " << seed;
    }
}

TEST(KMeans, RestartsKeepTheLowestInertia) {
    // Uniform points have many local optima. The first restart of a run with 16 restarts is
    // the single-restart run of the same seed (same random stream), so keeping the best can
    // only lower the inertia, and on some seed it does.
    std::mt19937_64 rng(123);
    std::vector<Point> pts(200);
    auto u = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
    for (auto& p : pts) p = {u(), u()};
    bool some_lower = false;
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        const double one = kmeans(pts, 7, seed, 1).inertia;
        const double many = kmeans(pts, 7, seed, 16).inertia;
        EXPECT_LE(many, one) << "seed " << seed;
        some_lower = some_lower || many < one;
    }
    EXPECT_TRUE(some_lower);
}

TEST(KMeans, OneClusterIsTheMean) {
    const std::vector<Point> pts{{0, 0}, {4, 0}, {0, 8}, {4, 8}};
    const KMeansResult r = kmeans(pts, 1, 0);
    EXPECT_EQ(r.assignment, (std::vector<int>{0, 0, 0, 0}));
    EXPECT_EQ(r.centroids[0], (Point{2, 4}));
    EXPECT_DOUBLE_EQ(r.inertia, 4 * (4.0 + 16.0));
}

TEST(KMeans, KEqualsNGivesSingletons) {
    const Separated s;
    const auto n = static_cast<int>(s.points.size());
    const KMeansResult r = kmeans(s.points, n, 5);
    for (int i = 0; i < n; ++i) EXPECT_EQ(r.assignment[static_cast<std::size_t>(i)], i);
    EXPECT_EQ(r.inertia, 0.0);
    for (std::size_t i = 0; i < s.points.size(); ++i) EXPECT_EQ(r.centroids[i], s.points[i]);
}

TEST(KMeans, DuplicatePointsStillFillEveryCluster) {
    // Only two distinct values but k = 4: k-means++ must pick duplicates and the empty-cluster
    // rule must give every cluster a member.
    const std::vector<Point> pts{{1, 1}, {1, 1}, {1, 1}, {5, 5}, {5, 5}};
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        const KMeansResult r = kmeans(pts, 4, seed);
        std::vector<int> sizes(4, 0);
        for (int a : r.assignment) ++sizes[static_cast<std::size_t>(a)];
        for (int c = 0; c < 4; ++c) EXPECT_GE(sizes[static_cast<std::size_t>(c)], 1) << "seed " << seed;
        EXPECT_EQ(r.inertia, 0.0) << "seed " << seed;
    }
}

TEST(KMeans, Errors) {
    const Separated s;
    const std::string too_many = error_of<Error>([&] { kmeans(s.points, 10, 0); });
    EXPECT_TRUE(one_line(too_many)) << too_many;
    EXPECT_NE(too_many.find("k = 10"), std::string::npos) << too_many;
    EXPECT_NE(too_many.find("only 9"), std::string::npos) << too_many;
    EXPECT_NE(error_of<Error>([&] { kmeans(s.points, 0, 0); }), "<no exception>");
    EXPECT_NE(error_of<Error>([&] { kmeans(s.points, -3, 0); }), "<no exception>");
    EXPECT_NE(error_of<Error>([&] { kmeans({}, 1, 0); }), "<no exception>");
    EXPECT_NE(error_of<Error>([&] { kmeans(s.points, 2, 0, 0); }), "<no exception>");
    EXPECT_NE(error_of<Error>([&] { kmeans({{0.0, std::nan("")}}, 1, 0); }), "<no exception>");
}

TEST(FirstLayerStats, EqualsDirectComputationAndRestoresRunner) {
    auto net = lenet(11);
    const Dataset data = synthetic_dataset(23, 1, 28, 28, 10, 5);
    const InputSpec spec = lenet_spec();

    CountingRunner counting;
    net->set_runner(&counting);
    net->train();
    const auto stats = first_layer_stats(*net, data, spec, 7);  // batches of 7, 7, 7, 2
    EXPECT_EQ(counting.calls, 0);
    for (auto* l : net->approx_layers()) EXPECT_EQ(l->runner, &counting);
    EXPECT_TRUE(net->is_training());
    net->set_runner(nullptr);
    net->eval();

    ASSERT_EQ(stats.size(), data.size());
    ApproxLayer* conv1 = net->approx_layers().front();
    ASSERT_EQ(conv1->desc.index, 1);
    ASSERT_FALSE(conv1->desc.linear);
    at::NoGradGuard no_grad;
    for (std::size_t i : {0u, 6u, 7u, 22u}) {
        const at::Tensor out = engine::float_forward(conv1->desc, to_input(data, i, i + 1, spec), conv1->weight,
                                                     conv1->bias);
        const double mu = at::mean(out).item<double>();
        const double sd = at::std(out, /*unbiased=*/false).item<double>();
        EXPECT_NEAR(stats[i][0], mu, 1e-5 * (1.0 + std::abs(mu))) << "image " << i;
        EXPECT_NEAR(stats[i][1], sd, 1e-5 * sd) << "image " << i;
    }
    // Different images give different statistics (the data has 10 distinct class templates).
    std::set<double> mus;
    for (const auto& s : stats) mus.insert(s[0]);
    EXPECT_GT(mus.size(), 10u);

    EXPECT_NE(error_of<Error>([&] { first_layer_stats(*net, data, spec, 0); }), "<no exception>");
    Dataset empty = data;
    empty.images.clear();
    empty.labels.clear();
    EXPECT_NE(error_of<Error>([&] { first_layer_stats(*net, empty, spec); }), "<no exception>");
}

TEST(SelectRepresentatives, LeNet5AgainstBruteForce) {
    auto net = lenet(3);
    const Dataset data = synthetic_dataset(60, 1, 28, 28, 10, 9);
    const InputSpec spec = lenet_spec();
    const int k = 5;
    const int bins = 32;
    const Representatives r = select_representatives(*net, data, spec, k, 17, bins);
    const std::size_t n = data.size();

    // Statistics are first_layer_stats'.
    const auto stats = first_layer_stats(*net, data, spec);
    ASSERT_EQ(r.stats.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
        EXPECT_NEAR(r.stats[i][0], stats[i][0], 1e-9 * (1 + std::abs(stats[i][0])));
        EXPECT_NEAR(r.stats[i][1], stats[i][1], 1e-9 * (1 + stats[i][1]));
    }

    // Standardisation recomputed here.
    std::array<double, 2> mean{0, 0}, scale{0, 0};
    for (const auto& s : stats)
        for (int c = 0; c < 2; ++c) mean[c] += s[c] / n;
    for (const auto& s : stats)
        for (int c = 0; c < 2; ++c) scale[c] += (s[c] - mean[c]) * (s[c] - mean[c]) / n;
    for (int c = 0; c < 2; ++c) {
        scale[c] = std::sqrt(scale[c]);
        EXPECT_NEAR(r.feature_mean[c], mean[c], 1e-9 * (1 + std::abs(mean[c])));
        EXPECT_NEAR(r.feature_scale[c], scale[c], 1e-9 * scale[c]);
    }
    auto z = [&](std::size_t i) {
        return Point{(r.stats[i][0] - r.feature_mean[0]) / r.feature_scale[0],
                     (r.stats[i][1] - r.feature_mean[1]) / r.feature_scale[1]};
    };

    // Clusters: sizes, centroids (means of members), representatives (nearest member, ties lowest).
    ASSERT_EQ(r.ids.size(), static_cast<std::size_t>(k));
    ASSERT_EQ(r.cluster_sizes.size(), static_cast<std::size_t>(k));
    ASSERT_EQ(r.centroids.size(), static_cast<std::size_t>(k));
    ASSERT_EQ(r.assignment.size(), n);
    EXPECT_EQ(std::set<std::size_t>(r.ids.begin(), r.ids.end()).size(), static_cast<std::size_t>(k));
    std::size_t total = 0;
    for (int c = 0; c < k; ++c) {
        std::size_t size = 0;
        Point zc{0, 0}, centroid{0, 0};
        for (std::size_t i = 0; i < n; ++i)
            if (r.assignment[i] == c) {
                ++size;
                for (int d = 0; d < 2; ++d) {
                    zc[d] += z(i)[d];
                    centroid[d] += r.stats[i][d];
                }
            }
        ASSERT_GT(size, 0u);
        EXPECT_EQ(r.cluster_sizes[c], size);
        total += size;
        for (int d = 0; d < 2; ++d) {
            zc[d] /= size;
            centroid[d] /= size;
            EXPECT_NEAR(r.centroids[c][d], centroid[d], 1e-9 * (1 + std::abs(centroid[d])));
        }
        std::size_t nearest = n;
        double best = std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < n; ++i) {
            if (r.assignment[i] != c) continue;
            const double d = (z(i)[0] - zc[0]) * (z(i)[0] - zc[0]) + (z(i)[1] - zc[1]) * (z(i)[1] - zc[1]);
            if (d < best - 1e-12) {
                best = d;
                nearest = i;
            }
        }
        EXPECT_EQ(r.ids[c], nearest) << "cluster " << c;
        EXPECT_EQ(r.assignment[r.ids[c]], c);
    }
    EXPECT_EQ(total, n);
    // Each point is in its nearest cluster (Lloyd converged on 60 points).
    for (std::size_t i = 0; i < n; ++i) {
        int best_c = 0;
        double best = std::numeric_limits<double>::infinity();
        for (int c = 0; c < k; ++c) {
            const Point zc{(r.centroids[c][0] - r.feature_mean[0]) / r.feature_scale[0],
                           (r.centroids[c][1] - r.feature_mean[1]) / r.feature_scale[1]};
            const double d = (z(i)[0] - zc[0]) * (z(i)[0] - zc[0]) + (z(i)[1] - zc[1]) * (z(i)[1] - zc[1]);
            if (d < best) {
                best = d;
                best_c = c;
            }
        }
        EXPECT_EQ(r.assignment[i], best_c) << "image " << i;
    }

    // Histograms: shared edges spanning the whole set's first-layer activations; densities
    // integrate to 1; the whole-set counts agree with a brute-force count.
    ASSERT_EQ(r.edges.size(), static_cast<std::size_t>(bins) + 1);
    ASSERT_EQ(r.density_all.size(), static_cast<std::size_t>(bins));
    ASSERT_EQ(r.density_representatives.size(), static_cast<std::size_t>(bins));
    ASSERT_EQ(r.density_per_representative.size(), static_cast<std::size_t>(k));
    at::Tensor acts;
    {
        at::NoGradGuard no_grad;
        net->eval();
        ApproxLayer* conv1 = net->approx_layers().front();
        acts = engine::float_forward(conv1->desc, to_input(data, 0, n, spec), conv1->weight, conv1->bias)
                   .reshape({static_cast<std::int64_t>(n), -1})
                   .to(at::kDouble)
                   .contiguous();
    }
    EXPECT_NEAR(r.edges.front(), acts.min().item<double>(), 1e-6);
    EXPECT_NEAR(r.edges.back(), acts.max().item<double>(), 1e-6);
    auto integral = [&](const std::vector<double>& density) {
        double s = 0;
        for (int j = 0; j < bins; ++j) s += density[j] * (r.edges[j + 1] - r.edges[j]);
        return s;
    };
    EXPECT_NEAR(integral(r.density_all), 1.0, 1e-9);
    EXPECT_NEAR(integral(r.density_representatives), 1.0, 1e-9);
    for (const auto& d : r.density_per_representative) EXPECT_NEAR(integral(d), 1.0, 1e-9);

    const std::int64_t m = acts.size(1);
    std::vector<double> counts(bins, 0.0);
    const double* a = acts.data_ptr<double>();
    for (std::int64_t i = 0; i < acts.numel(); ++i) {
        int j = 0;
        while (j + 1 < bins && a[i] >= r.edges[j + 1]) ++j;
        counts[j] += 1;
    }
    for (int j = 0; j < bins; ++j) {
        const double w = r.edges[j + 1] - r.edges[j];
        EXPECT_NEAR(r.density_all[j] * static_cast<double>(n * m) * w, counts[j], 1.0) << "bin " << j;
    }
    // The pooled representative density is the mean of the per-representative ones, and not
    // the whole set's (5 of 60 images).
    double differs = 0;
    for (int j = 0; j < bins; ++j) {
        double mean_rep = 0;
        for (const auto& d : r.density_per_representative) mean_rep += d[j] / k;
        EXPECT_NEAR(r.density_representatives[j], mean_rep, 1e-9 * (1 + mean_rep));
        differs += std::abs(r.density_representatives[j] - r.density_all[j]);
    }
    EXPECT_GT(differs, 0.0);

    // Same seed, same representatives; JSON carries the fields.
    const Representatives again = select_representatives(*net, data, spec, k, 17, bins);
    EXPECT_EQ(again.ids, r.ids);
    EXPECT_EQ(again.assignment, r.assignment);
    const nlohmann::json j = r.to_json();
    EXPECT_EQ(j.at("ids").get<std::vector<std::size_t>>(), r.ids);
    EXPECT_EQ(j.at("cluster_sizes").get<std::vector<std::size_t>>(), r.cluster_sizes);
    EXPECT_EQ(j.at("stats").size(), n);
    EXPECT_EQ(j.at("edges").size(), static_cast<std::size_t>(bins) + 1);
    EXPECT_EQ(j.at("density_per_representative").size(), static_cast<std::size_t>(k));
    EXPECT_EQ(j.at("centroids").at(0).at(1).get<double>(), r.centroids[0][1]);
}

TEST(SelectRepresentatives, Errors) {
    auto net = lenet(1);
    const Dataset data = synthetic_dataset(6, 1, 28, 28, 10, 2);
    const InputSpec spec = lenet_spec();
    const std::string too_many = error_of<Error>([&] { select_representatives(*net, data, spec, 7, 0); });
    EXPECT_TRUE(one_line(too_many)) << too_many;
    EXPECT_NE(too_many.find("K = 7"), std::string::npos) << too_many;
    EXPECT_NE(too_many.find("only 6"), std::string::npos) << too_many;
    EXPECT_NE(error_of<Error>([&] { select_representatives(*net, data, spec, 0, 0); }), "<no exception>");
    EXPECT_NE(error_of<Error>([&] { select_representatives(*net, data, spec, 2, 0, 0); }), "<no exception>");
    Dataset empty = data;
    empty.images.clear();
    empty.labels.clear();
    EXPECT_NE(error_of<Error>([&] { select_representatives(*net, empty, spec, 1, 0); }), "<no exception>");
    // K = n: every image represents itself.
    const Representatives all = select_representatives(*net, data, spec, 6, 0);
    std::vector<std::size_t> ids = all.ids;
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::size_t>{0, 1, 2, 3, 4, 5}));
}
