#pragma once
/// \file
/// Import of EvoApproxLib-style C circuits (one C function per file) as HAWX blocks:
/// either as table files (`hawx blocks import-c FILE...`) or as a generated plugin source
/// that compiles the C files into a plugin (`hawx_add_c_blocks` in CMake).
///
/// Recognized circuit functions: name (mul|add)<a_bits>[x<b_bits>](s|u)_<ID>, e.g.
///   uint16_t mul8s_1L2N(uint8_t A, uint8_t B)
///   uint64_t mul8u_FTA(const uint64_t B, const uint64_t A)   // parameter order B, A
///   uint64_t mul8x7u_589(const uint64_t A, const uint64_t B) // A: 8 bits, B: 7 bits
/// Widths come from the name (a_bits for the operand named A, b_bits for B; b_bits =
/// a_bits when the name has no "x<b>"), signedness from s/u. Operands are passed as their
/// bit patterns; the result is the low a_bits + b_bits (multipliers) or max(a, b) + 1
/// (adders) bits of the return value, two's complement when signed.
#include <optional>
#include <string>
#include <vector>

#include "hawx/sdk/block.hpp"
#include "hawx/sdk/error_metrics.hpp"

namespace hawx::cimport {

/// One parameter of the circuit function, in declaration order.
struct Parameter {
    std::string type;  ///< normalized C type without `const`, e.g. "uint64_t"
    std::string name;  ///< "A" or "B" (as written; matched case-insensitively)
    bool is_const = false;
};

/// A parsed circuit file.
struct Circuit {
    std::string path;         ///< the file, as given
    std::string function;     ///< e.g. "mul8s_1L2N"
    std::string return_type;  ///< normalized C type, e.g. "uint16_t"
    std::vector<Parameter> params;  ///< exactly two, named A and B, in declaration order
    BlockOp op = BlockOp::Multiply;
    int a_bits = 8;           ///< width of the operand named A
    int b_bits = 8;           ///< width of the operand named B
    bool is_signed = false;
    /// source: "EvoApproxLib header of <file>"; printed: each figure's number as printed
    /// ("47164.981e4"), which sets the precision it is checked to (published_agrees)
    PublishedMetrics published;
    std::optional<HardwareCost> cost;         ///< from PDK45_* lines; energy unknown

    /// Output width: a_bits + b_bits for multipliers, max(a_bits, b_bits) + 1 for adders.
    int result_bits() const;
    /// Index (0 or 1) of the parameter named A / B.
    int index_of(char operand) const;
};

/// Parses a circuit file. Throws hawx::Error (one line naming the file and the problem)
/// when the file cannot be read, has no circuit function or more than one, the name does
/// not encode widths, a parameter or return type is unsupported or too narrow, the
/// parameters are not named A and B, or a header figure is malformed.
Circuit parse_file(const std::string& path);

struct Options {
    /// Which C operand is the activation: "A" (default; B is then the weight) or "B".
    std::string activation_operand = "A";
    /// C compiler for import_to_tables; empty: $CC when set, else "cc". May hold
    /// arguments, separated by blanks (e.g. "ccache gcc").
    std::string compiler;
    /// import_to_tables: when a published figure differs from the computed one, throw
    /// hawx::Error (naming the file and the figure) before writing anything.
    bool strict = false;
};

/// Generates a complete C++ plugin source for `circuits` (to be compiled together with
/// the circuits' C files): one block component per circuit, named after its function,
/// with an empty parameter schema, declaring the C prototypes in `extern "C"`, followed by
/// HAWX_PLUGIN(library, "1.0", ...). Throws hawx::Error on an invalid library name
/// ([A-Za-z0-9_]+), an invalid activation_operand or two circuits with the same name.
std::string plugin_source(const std::vector<Circuit>& circuits, const std::string& library, const Options& options);

struct ImportResult {
    std::string name;          ///< the circuit function
    std::string table_path;    ///< <out_dir>/<name>.bin
    std::string sidecar_path;  ///< <out_dir>/<name>.json
    ErrorMetrics computed;
    PublishedMetrics published;
    /// One line per published figure that differs from the computed one at the printed
    /// precision, e.g. "MAE% published 0.52, computed 0.5312".
    std::vector<std::string> mismatches;
};

/// Compiles and runs a tabulator for each file, writes `<out_dir>/<function>.bin`
/// (TFApprox layout, first operand = activation) and its sidecar, and compares the
/// computed error figures with the published ones. All files are parsed, checked
/// (8x8 only) and tabulated before anything is written; a table is never left without
/// its sidecar. Throws hawx::Error naming the file on any failure (compiler errors: the
/// first error line).
std::vector<ImportResult> import_to_tables(const std::vector<std::string>& files, const std::string& out_dir,
                                           const Options& options);

/// The canonical table (index (activation_code << weight_bits) | weight_code) of a circuit,
/// obtained by compiling and running a tabulator (at most 16 operand bits in total).
std::vector<std::int32_t> tabulate(const Circuit& circuit, const Options& options);

}  // namespace hawx::cimport
