#pragma once
/// \file
/// From hawx::Dataset (uint8 images) to model input tensors.
#include <ATen/ATen.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "hawx/data/datasets.hpp"

namespace hawx {

/// How images become a model's input: channel count and square size the model expects, and
/// the per-channel normalisation applied to pixel / 255. `mean` and `std` hold one value per
/// channel, or a single value used for every channel.
struct InputSpec {
    int channels = 1;
    int size = 32;
    std::vector<float> mean{0.0f};
    std::vector<float> std{1.0f};
};

/// What step 3 below does to `data`'s images: "28x28 images zero-padded to 32x32", "... as
/// they are", "... resized (bilinear) to 64x64".
std::string describe_geometry(const Dataset& data, const InputSpec& spec);

/// Images [begin, end) of `data` as a float tensor [end - begin, spec.channels, spec.size, spec.size]:
///  1. uint8 -> float / 255;
///  2. channels: 1 -> 3 by repetition, 3 -> 1 by averaging, equal counts unchanged;
///  3. geometry: a square image smaller than spec.size by an even amount <= 8 is zero-padded,
///     centred (28 -> 32 for LeNet-5, as torchvision's Pad(2)); any other size difference is a
///     bilinear resize (at::upsample_bilinear2d, align_corners = false, no antialiasing);
///  4. (x - mean[c]) / std[c].
/// Throws hawx::Error naming the dataset for an empty or out-of-range range, a channel
/// conversion other than the above, or a spec with bad sizes or std <= 0.
at::Tensor to_input(const Dataset& data, std::size_t begin, std::size_t end, const InputSpec& spec);

/// As above for the images at `indices` (in that order; e.g. a shuffled batch).
at::Tensor to_input(const Dataset& data, const std::vector<std::size_t>& indices, const InputSpec& spec);

/// Labels [begin, end) as an int64 tensor [end - begin].
at::Tensor to_labels(const Dataset& data, std::size_t begin, std::size_t end);
/// Labels at `indices` as an int64 tensor.
at::Tensor to_labels(const Dataset& data, const std::vector<std::size_t>& indices);

/// An InputSpec for a model taking `channels` x `size` x `size` inputs whose mean and std are
/// the per-channel statistics of `data` (after the channel conversion of to_input, before
/// padding or resizing). Deterministic; std is at least 1e-3.
InputSpec input_spec_from_data(const Dataset& data, int channels, int size);

}  // namespace hawx
