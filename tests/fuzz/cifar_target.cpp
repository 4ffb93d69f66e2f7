// Fuzz target: CIFAR-10 binary batches. Input: split2 -> two batch files read in order (an
// empty part is still a file, so the empty-file check is reached too).
#include <hawx/data/dataset.hpp>

#include "fuzz_target.hpp"

namespace hawx::fuzz {

void cifar_entry(const std::uint8_t* data, std::size_t size) {
    const Split s = split2(data, size);
    const std::string a = scratch_file("batch_a.bin", s.first, s.first_size);
    const std::string b = scratch_file("batch_b.bin", s.second, s.second_size);
    expect_clean("cifar", [&] {
        const Dataset d = read_cifar10({a, b});
        if (d.images.size() != d.size() * 3072 || d.num_classes != 10)
            throw FuzzFailure("cifar: inconsistent dataset of " + std::to_string(d.size()) + " images");
        for (auto l : d.labels)
            if (l < 0 || l > 9) throw FuzzFailure("cifar: label " + std::to_string(l) + " outside 0..9");
    });
}

}  // namespace hawx::fuzz
