#pragma once
// Internal to the cimport library: what its pieces share. c_tokenizer.cpp: the C tokenizer,
// function finder and type names; header_figures.cpp: the `// KEY = value` header figures;
// plugin_source.cpp: the plugin source generator (and the operand roles); compiler.cpp: the
// C compiler driver (tabulate); c_import.cpp: parse_file and import_to_tables.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "hawx/cimport/c_import.hpp"

namespace hawx::cimport::detail {

// ----------------------------------------------------------------------------------------
// Small helpers (c_import.cpp)

std::string trim(const std::string& s);

// ----------------------------------------------------------------------------------------
// C source scanning (c_tokenizer.cpp)

bool valid_identifier(const std::string& s);

struct Token {
    std::string text;
    int line = 0;
};

/// Tokens of the C source with comments, preprocessor lines and literals removed.
std::vector<Token> tokenize(const std::string& src);

struct FunctionDef {
    std::string name;
    int line = 0;
    std::vector<Token> specifiers;               // tokens before the name
    std::vector<std::vector<Token>> params;      // tokens of each parameter
};

/// The function definitions at file scope.
std::vector<FunctionDef> find_functions(const std::vector<Token>& toks);

struct CType {
    int bits = 0;
    bool is_signed = false;
};

/// Normalized type name -> width; nullopt when unsupported.
std::optional<CType> c_type(const std::string& t);

std::string join_tokens(const std::vector<Token>& toks, std::size_t from, std::size_t to);

// ----------------------------------------------------------------------------------------
// Header figures (header_figures.cpp)

/// Reads the `// KEY = value` figures of a circuit file's header into c.published and c.cost.
void parse_header(const std::string& path, const std::string& text, Circuit& c);

// ----------------------------------------------------------------------------------------
// Plugin source (plugin_source.cpp)

/// A string as a C / C++ string literal (quotes included).
std::string c_string_literal(const std::string& s);

struct Roles {
    int act_param, weight_param;  // parameter index receiving the activation / the weight
    int act_bits, weight_bits;
};

/// The parameters and widths of the activation and the weight; throws hawx::Error unless
/// `activation_operand` is "A" or "B".
Roles roles(const Circuit& c, const std::string& activation_operand);

}  // namespace hawx::cimport::detail
