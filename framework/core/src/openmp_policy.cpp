#include "hawx/framework/openmp_policy.hpp"

#include <unistd.h>

#include <cstdlib>

namespace hawx {

void prefer_passive_openmp(char** argv) {
    if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
    execv("/proc/self/exe", argv);
    // exec failed (no /proc): carry on with the policy set for later-loaded libraries only
}

}  // namespace hawx
