#pragma once
/// \file
/// Accuracy and loss of a network on a dataset.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "hawx/data/dataset.hpp"
#include "hawx/data/tensor.hpp"
#include "hawx/zoo/network.hpp"

namespace hawx::zoo {

struct EvalResult {
    std::size_t correct = 0;
    std::size_t total = 0;
    double accuracy = 0.0;  ///< percent, 100 * correct / total
    double loss = 0.0;      ///< mean cross-entropy over the images
    /// 1 where image i's prediction is right, in the dataset's order (zoo::evaluate fills it;
    /// empty where a caller counted only): two results on the same images give a paired drop.
    std::vector<std::uint8_t> per_image;
};

/// Evaluates `net` on the first `limit` images of `data` (all when limit is 0) in batches of
/// `batch_size`, in eval mode and without gradients, whatever runner the layers have (the
/// network's training flag is restored afterwards). Ties in the logits go to the lowest
/// class. Throws hawx::Error for batch_size 0, an empty dataset, or labels the network
/// cannot output.
EvalResult evaluate(Network& net, const Dataset& data, const hawx::InputSpec& spec, std::size_t batch_size,
                    std::size_t limit = 0);

}  // namespace hawx::zoo
