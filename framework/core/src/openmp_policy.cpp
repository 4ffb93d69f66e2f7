#include "hawx/framework/openmp_policy.hpp"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>

namespace hawx {

void retain_freed_memory() {
    // glibc hands blocks above its mmap threshold (128 KiB, growing to at most 32 MiB) back
    // to the kernel on free, so every forward pass's activation tensors came back as fresh
    // zeroed pages: ResNet-18 spent a third of its time in page faults (sys time). Keep
    // freed memory for reuse instead; the process keeps its high-water mark.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 * 1024 * 1024);
}

void prefer_passive_openmp(char** argv) {
    retain_freed_memory();
    if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
    execv("/proc/self/exe", argv);
    // exec failed (no /proc): carry on with the policy set for later-loaded libraries only
}

}  // namespace hawx
