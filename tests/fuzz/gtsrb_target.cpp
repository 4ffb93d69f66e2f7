// Fuzz target: GTSRB annotation CSV plus binary PPM images (crop and bilinear resize).
// Input: byte 0 picks the output size (1 + byte % 40), then split2 -> the CSV text (as
// GT-00000.csv), then the bytes of 0.ppm, the one image file present next to it.
#include <hawx/data/dataset.hpp>

#include "fuzz_target.hpp"

namespace hawx::fuzz {

void gtsrb_entry(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return;
    const int out_size = 1 + data[0] % 40;
    const Split s = split2(data + 1, size - 1);
    const std::string csv = scratch_file("GT-00000.csv", s.first, s.first_size);
    scratch_file("0.ppm", s.second, s.second_size);
    expect_clean("gtsrb", [&] {
        const Dataset d = read_gtsrb_csv(csv, out_size);
        if (d.images.size() != d.size() * d.image_bytes() || d.channels != 3 || d.height != out_size)
            throw FuzzFailure("gtsrb: inconsistent dataset of " + std::to_string(d.size()) + " images");
        for (auto l : d.labels)
            if (l < 0 || l >= d.num_classes) throw FuzzFailure("gtsrb: label " + std::to_string(l) + " out of range");
    });
}

}  // namespace hawx::fuzz
