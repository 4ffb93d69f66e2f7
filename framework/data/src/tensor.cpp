#include "hawx/data/tensor.hpp"

#include "hawx/data/datasets.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "hawx/sdk/error.hpp"

namespace hawx {

namespace {

void check(const Dataset& d, const InputSpec& s) {
    if (d.channels < 1 || d.height < 1 || d.width < 1 || d.images.size() != d.size() * d.image_bytes())
        throw Error(dataset_label(d) + ": inconsistent image geometry or size");
    if (s.channels < 1 || s.size < 1)
        throw Error("input spec: channels and size must be >= 1 (got " + std::to_string(s.channels) + ", " +
                    std::to_string(s.size) + ")");
    const auto per_channel = [&](const std::vector<float>& v) {
        return v.size() == 1 || v.size() == static_cast<std::size_t>(s.channels);
    };
    if (!per_channel(s.mean) || !per_channel(s.std))
        throw Error("input spec: mean and std need 1 or " + std::to_string(s.channels) + " values");
    for (float v : s.std)
        if (!(v > 0) || !std::isfinite(v)) throw Error("input spec: std values must be positive");
    for (float v : s.mean)
        if (!std::isfinite(v)) throw Error("input spec: mean values must be finite");
    if (d.channels != s.channels && d.channels != 1 && !(d.channels == 3 && s.channels == 1))
        throw Error(dataset_label(d) + ": cannot turn " + std::to_string(d.channels) + "-channel images into " +
                    std::to_string(s.channels) + "-channel inputs (supported: 1 -> N, 3 -> 1)");
}

at::Tensor per_channel(const std::vector<float>& v, int channels) {
    std::vector<float> full(static_cast<std::size_t>(channels), v[0]);
    if (v.size() > 1) full = v;
    return at::tensor(full, at::kFloat).view({1, channels, 1, 1});
}

// Step 3 of to_input: a square image smaller by an even amount <= 8 is padded, else resized.
bool pads(const Dataset& d, const InputSpec& s) {
    const int grow = s.size - d.height;
    return d.height == d.width && grow > 0 && grow <= 8 && grow % 2 == 0;
}

}  // namespace

std::string describe_geometry(const Dataset& d, const InputSpec& s) {
    const std::string from = std::to_string(d.height) + "x" + std::to_string(d.width);
    if (d.height == s.size && d.width == s.size) return from + " images as they are";
    return from + " images " + (pads(d, s) ? "zero-padded" : "resized (bilinear)") + " to " + std::to_string(s.size) +
           "x" + std::to_string(s.size);
}

namespace {

// uint8 [n, C, H, W] -> normalised float [n, spec.channels, spec.size, spec.size].
at::Tensor transform(const at::Tensor& bytes, const Dataset& d, const InputSpec& s) {
    at::Tensor x = bytes.to(at::kFloat).div_(255.0);
    const auto n = x.size(0);
    if (d.channels != s.channels) {
        if (d.channels == 1)
            x = x.expand({n, s.channels, d.height, d.width}).contiguous();
        else
            x = x.mean(1, /*keepdim=*/true);
    }
    if (d.height != s.size || d.width != s.size) {
        if (pads(d, s)) {
            const int p = (s.size - d.height) / 2;
            x = at::constant_pad_nd(x, {p, p, p, p}, 0.0);
        } else {
            x = at::upsample_bilinear2d(x, {s.size, s.size}, /*align_corners=*/false);
        }
    }
    return x.sub_(per_channel(s.mean, s.channels)).div_(per_channel(s.std, s.channels));
}

at::Tensor gather_bytes(const Dataset& d, const std::vector<std::size_t>& indices) {
    const std::size_t bytes = d.image_bytes();
    at::Tensor out = at::empty({static_cast<std::int64_t>(indices.size()), d.channels, d.height, d.width}, at::kByte);
    auto* dst = out.data_ptr<std::uint8_t>();
    for (std::size_t i = 0; i < indices.size(); ++i) {
        if (indices[i] >= d.size())
            throw Error(dataset_label(d) + ": image index " + std::to_string(indices[i]) + " out of range (size " +
                        std::to_string(d.size()) + ")");
        std::memcpy(dst + i * bytes, d.images.data() + indices[i] * bytes, bytes);
    }
    return out;
}

std::vector<std::size_t> range(const Dataset& d, std::size_t begin, std::size_t end) {
    if (begin >= end || end > d.size())
        throw Error(dataset_label(d) + ": image range [" + std::to_string(begin) + ", " + std::to_string(end) +
                    ") is empty or beyond its " + std::to_string(d.size()) + " images");
    std::vector<std::size_t> idx(end - begin);
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = begin + i;
    return idx;
}


}  // namespace

at::Tensor to_input(const Dataset& data, const std::vector<std::size_t>& indices, const InputSpec& spec) {
    check(data, spec);
    if (indices.empty()) throw Error(dataset_label(data) + ": no images selected");
    return transform(gather_bytes(data, indices), data, spec);
}

at::Tensor to_input(const Dataset& data, std::size_t begin, std::size_t end, const InputSpec& spec) {
    return to_input(data, range(data, begin, end), spec);
}

at::Tensor to_labels(const Dataset& data, const std::vector<std::size_t>& indices) {
    at::Tensor out = at::empty({static_cast<std::int64_t>(indices.size())}, at::kLong);
    auto* dst = out.data_ptr<std::int64_t>();
    for (std::size_t i = 0; i < indices.size(); ++i) {
        if (indices[i] >= data.size())
            throw Error(dataset_label(data) + ": label index " + std::to_string(indices[i]) + " out of range");
        dst[i] = data.labels[indices[i]];
    }
    return out;
}

at::Tensor to_labels(const Dataset& data, std::size_t begin, std::size_t end) {
    return to_labels(data, range(data, begin, end));
}

InputSpec input_spec_from_data(const Dataset& data, int channels, int size) {
    InputSpec spec;
    spec.channels = channels;
    spec.size = size;
    check(data, spec);
    if (data.size() == 0) throw Error(dataset_label(data) + ": no images to compute statistics from");
    const int c_in = data.channels;
    const std::size_t plane = static_cast<std::size_t>(data.height) * static_cast<std::size_t>(data.width);
    const bool average = c_in != channels && c_in == 3;
    const int c_stats = average ? 1 : c_in;
    std::vector<double> sum(static_cast<std::size_t>(c_stats), 0.0), sq(static_cast<std::size_t>(c_stats), 0.0);
    for (std::size_t i = 0; i < data.size(); ++i) {
        const std::uint8_t* img = data.images.data() + i * data.image_bytes();
        for (std::size_t p = 0; p < plane; ++p) {
            if (average) {
                const double v = (img[p] + img[plane + p] + img[2 * plane + p]) / (3.0 * 255.0);
                sum[0] += v;
                sq[0] += v * v;
            } else {
                for (int c = 0; c < c_in; ++c) {
                    const double v = img[static_cast<std::size_t>(c) * plane + p] / 255.0;
                    sum[static_cast<std::size_t>(c)] += v;
                    sq[static_cast<std::size_t>(c)] += v * v;
                }
            }
        }
    }
    const double n = static_cast<double>(data.size() * plane);
    spec.mean.clear();
    spec.std.clear();
    for (int c = 0; c < c_stats; ++c) {
        const double m = sum[static_cast<std::size_t>(c)] / n;
        const double var = std::max(0.0, sq[static_cast<std::size_t>(c)] / n - m * m);
        spec.mean.push_back(static_cast<float>(m));
        spec.std.push_back(static_cast<float>(std::max(1e-3, std::sqrt(var))));
    }
    // 1 -> N channels: every input channel repeats the one statistic.
    if (c_stats == 1 && channels > 1) {
        spec.mean.assign(static_cast<std::size_t>(channels), spec.mean[0]);
        spec.std.assign(static_cast<std::size_t>(channels), spec.std[0]);
    }
    return spec;
}

}  // namespace hawx
