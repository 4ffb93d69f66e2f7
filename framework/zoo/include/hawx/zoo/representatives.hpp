#pragma once
/// \file
/// Step 1 of HAWX (paper section II-A): representative inputs. Every sample i of a profiling
/// set is summarised by the mean mu_i and standard deviation sigma_i of the first approximable
/// layer's output activations; k-means on the (mu, sigma) pairs splits the set into K
/// clusters and the member nearest each centroid represents its cluster.
///
/// Choices the paper leaves open:
///  - "Activations of the first layer" are the first approximable layer's output (desc.index
///    == 1) exactly as the LayerRunner returns it: float weights (BatchNorm folded only if the
///    caller folded it), bias added, BEFORE any activation function. After a ReLU the
///    statistics would mostly measure how many outputs are zero; before it they keep the
///    sign information and are what the layer's multipliers actually produce.
///  - mu and sigma are population statistics (divide by M, paper eqs. 4-5), computed in double.
///  - k-means runs on the pairs standardised per coordinate ((x - mean) / std over the set,
///    population std, a zero std taken as 1), so that mu and sigma, whose scales differ, weigh
///    the same. Representatives are the members nearest their centroid in that standardised
///    space; centroids are reported back in (mu, sigma) units.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "hawx/data/dataset.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/zoo/network.hpp"

namespace hawx::zoo {

/// A k-means partition. Clusters are numbered in the order of their first member (point 0 is
/// in cluster 0, the lowest point not in cluster 0 is in cluster 1, ...), so two runs that
/// find the same partition return the same assignment whatever their seeds.
struct KMeansResult {
    std::vector<int> assignment;                  ///< cluster of each point, in [0, k)
    std::vector<std::array<double, 2>> centroids;  ///< k centroids: the mean of each cluster's members
    double inertia = 0.0;                         ///< sum over points of |point - its centroid|^2
    int iterations = 0;                           ///< Lloyd assignment steps of the kept restart
};

/// Lloyd's k-means with k-means++ initialisation, `restarts` times; keeps the run with the
/// lowest inertia (ties: the earliest). Random numbers come from one std::mt19937_64(seed)
/// with our own mapping to [0, 1) (no std:: distributions), so results are the same on every
/// platform. Each run iterates until the assignment stops changing or `max_iterations`
/// assignment steps. Distance ties go to the lowest cluster. Every cluster is non-empty: a
/// cluster left empty takes the point farthest from its centroid among clusters of two or
/// more members. Throws hawx::Error (one line) for empty `points`, k < 1, k greater than the
/// number of points (naming both), restarts < 1 or max_iterations < 1.
KMeansResult kmeans(const std::vector<std::array<double, 2>>& points, int k, std::uint64_t seed, int restarts = 8,
                    int max_iterations = 300);

/// The representative inputs of a profiling set and the data of the paper's Fig. 2.
struct Representatives {
    /// Index into the dataset of each cluster's representative (ids[c] represents cluster c).
    std::vector<std::size_t> ids;
    /// Members of each cluster; they add up to the dataset's size.
    std::vector<std::size_t> cluster_sizes;
    /// Cluster centroids in (mu, sigma) units.
    std::vector<std::array<double, 2>> centroids;
    /// Cluster of each sample.
    std::vector<int> assignment;
    /// (mu_i, sigma_i) of every sample (for a scatter plot).
    std::vector<std::array<double, 2>> stats;
    /// The standardisation k-means ran in: z = (stats - feature_mean) / feature_scale.
    std::array<double, 2> feature_mean{0.0, 0.0};
    std::array<double, 2> feature_scale{1.0, 1.0};
    /// k-means inertia in the standardised space.
    double inertia = 0.0;

    /// bins + 1 shared histogram edges, from the whole set's smallest to its largest first-layer
    /// activation (equal width; a value equal to the last edge falls in the last bin).
    std::vector<double> edges;
    /// Densities (count / (total * bin width), so sum(density * width) = 1) of the first layer's
    /// activations over the whole set, over all representatives together, and of each
    /// representative alone (per_representative[c] for ids[c]).
    std::vector<double> density_all;
    std::vector<double> density_representatives;
    std::vector<std::vector<double>> density_per_representative;

    /// Everything above, keys named as the fields.
    nlohmann::json to_json() const;
};

/// (mu_i, sigma_i) of the first approximable layer's output (see the file comment) for every
/// image of `data`, computed in float mode in batches of `batch_size`, in eval mode without
/// gradients. The layers' runners and the network's training flag are restored afterwards,
/// also when this throws. Throws hawx::Error for an empty dataset or batch_size 0.
std::vector<std::array<double, 2>> first_layer_stats(Network& net, const Dataset& data, const hawx::InputSpec& spec,
                                                     std::size_t batch_size = 256);

/// Selects K = `k` representatives of `data` (see the file comment): first_layer_stats,
/// standardisation, kmeans(points, k, seed), the member nearest each centroid (ties: the
/// lowest index), then a second pass over `data` for the Fig. 2 histograms on `bins` shared
/// bins. Throws hawx::Error for an empty dataset, k < 1, k > data.size() (naming both),
/// bins < 1 or batch_size 0.
Representatives select_representatives(Network& net, const Dataset& data, const hawx::InputSpec& spec, int k = 10,
                                       std::uint64_t seed = 0, int bins = 64, std::size_t batch_size = 256);

}  // namespace hawx::zoo
