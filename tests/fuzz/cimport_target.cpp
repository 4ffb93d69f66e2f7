// Fuzz target: the EvoApproxLib C-circuit parser (hawx::cimport::parse_file; no compiler is
// run). On success the circuit must be self-consistent.
#include <hawx/cimport/c_import.hpp>

#include "fuzz_target.hpp"

namespace hawx::fuzz {

void cimport_entry(const std::uint8_t* data, std::size_t size) {
    const std::string path = scratch_file("circuit.c", data, size);
    expect_clean("cimport", [&] {
        const cimport::Circuit c = cimport::parse_file(path);
        if (c.params.size() != 2 || c.a_bits < 1 || c.a_bits > 16 || c.b_bits < 1 || c.b_bits > 16)
            throw FuzzFailure("cimport: accepted circuit " + c.function + " with bad widths or parameters");
        c.index_of('A');
        c.index_of('B');
    });
}

}  // namespace hawx::fuzz
