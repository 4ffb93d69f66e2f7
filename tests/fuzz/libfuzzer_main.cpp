// libFuzzer entry for one target, chosen at compile time (HAWX_FUZZ_ENTRY, see CMakeLists.txt).
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    hawx::fuzz::HAWX_FUZZ_ENTRY(data, size);
    return 0;
}
