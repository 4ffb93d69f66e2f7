// Fuzz target: MNIST-style IDX files (plain or gzipped). Input: split2 -> the image file,
// then the label file.
#include <hawx/data/dataset.hpp>

#include "fuzz_target.hpp"

namespace hawx::fuzz {

void idx_entry(const std::uint8_t* data, std::size_t size) {
    const Split s = split2(data, size);
    const std::string images = scratch_file("images.idx", s.first, s.first_size);
    const std::string labels = scratch_file("labels.idx", s.second, s.second_size);
    expect_clean("idx", [&] {
        const Dataset d = read_idx(images, labels);
        if (d.images.size() != d.size() * d.image_bytes())
            throw FuzzFailure("idx: " + std::to_string(d.images.size()) + " image bytes for " +
                              std::to_string(d.size()) + " images of " + std::to_string(d.image_bytes()) + " bytes");
    });
}

}  // namespace hawx::fuzz
