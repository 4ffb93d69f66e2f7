// EvoApproxLib C import: the C tokenizer, the finder of file-scope function definitions and
// the integer type names of circuit signatures.
#include "cimport_internal.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <map>
#include <utility>

namespace hawx::cimport::detail {

// ----------------------------------------------------------------------------------------
// C source scanning

bool valid_identifier(const std::string& s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

/// Tokens of the C source with comments, preprocessor lines and literals removed.
std::vector<Token> tokenize(const std::string& src) {
    std::vector<Token> out;
    int line = 1;
    bool line_start = true;
    std::size_t i = 0;
    const std::size_t n = src.size();
    while (i < n) {
        const char c = src[i];
        if (c == '\n') {
            ++line;
            line_start = true;
            ++i;
            continue;
        }
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
            continue;
        }
        if (c == '#' && line_start) {  // preprocessor line, with continuations
            while (i < n && src[i] != '\n') {
                if (src[i] == '\\' && i + 1 < n && src[i + 1] == '\n') {
                    ++line;
                    i += 2;
                    continue;
                }
                if (src[i] == '/' && i + 1 < n && src[i + 1] == '*') {  // comment inside a directive
                    i += 2;
                    while (i + 1 < n && !(src[i] == '*' && src[i + 1] == '/')) {
                        if (src[i] == '\n') ++line;
                        ++i;
                    }
                    i += 2;
                    continue;
                }
                ++i;
            }
            continue;
        }
        line_start = false;
        if (c == '/' && i + 1 < n && src[i + 1] == '/') {
            while (i < n && src[i] != '\n') ++i;
            continue;
        }
        if (c == '/' && i + 1 < n && src[i + 1] == '*') {
            i += 2;
            while (i + 1 < n && !(src[i] == '*' && src[i + 1] == '/')) {
                if (src[i] == '\n') ++line;
                ++i;
            }
            i = std::min(n, i + 2);
            continue;
        }
        if (c == '"' || c == '\'') {
            const char q = c;
            ++i;
            while (i < n && src[i] != q && src[i] != '\n') {
                if (src[i] == '\\') ++i;
                ++i;
            }
            ++i;
            out.push_back({"<literal>", line});
            continue;
        }
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            std::size_t j = i;
            while (j < n && (std::isalnum(static_cast<unsigned char>(src[j])) || src[j] == '_')) ++j;
            out.push_back({src.substr(i, j - i), line});
            i = j;
            continue;
        }
        if (std::isdigit(static_cast<unsigned char>(c))) {
            std::size_t j = i;
            while (j < n && (std::isalnum(static_cast<unsigned char>(src[j])) || src[j] == '.' || src[j] == '_')) ++j;
            out.push_back({src.substr(i, j - i), line});
            i = j;
            continue;
        }
        out.push_back({std::string(1, c), line});
        ++i;
    }
    return out;
}

/// The function definitions at file scope.
std::vector<FunctionDef> find_functions(const std::vector<Token>& toks) {
    std::vector<FunctionDef> defs;
    std::size_t stmt_start = 0;
    int paren = 0;
    auto skip_block = [&](std::size_t open) {  // index of the matching '}'
        int depth = 0;
        for (std::size_t k = open; k < toks.size(); ++k) {
            if (toks[k].text == "{") ++depth;
            if (toks[k].text == "}" && --depth == 0) return k;
        }
        return toks.size();
    };
    for (std::size_t i = 0; i < toks.size(); ++i) {
        const std::string& t = toks[i].text;
        if (t == "(") ++paren;
        else if (t == ")") --paren;
        else if (t == ";" && paren == 0) stmt_start = i + 1;
        else if (t == "{" && paren == 0) {
            const std::size_t close = skip_block(i);
            if (i > 0 && toks[i - 1].text == ")") {
                // find the matching '('
                int depth = 0;
                std::size_t open = i - 1;
                for (std::size_t k = i - 1;; --k) {
                    if (toks[k].text == ")") ++depth;
                    if (toks[k].text == "(" && --depth == 0) {
                        open = k;
                        break;
                    }
                    if (k == 0) break;
                }
                if (open >= 1 && open - 1 >= stmt_start && valid_identifier(toks[open - 1].text)) {
                    FunctionDef d;
                    d.name = toks[open - 1].text;
                    d.line = toks[open - 1].line;
                    d.specifiers.assign(toks.begin() + static_cast<std::ptrdiff_t>(stmt_start),
                                        toks.begin() + static_cast<std::ptrdiff_t>(open - 1));
                    std::vector<Token> cur;
                    int pd = 0;
                    for (std::size_t k = open + 1; k + 1 < i; ++k) {
                        const std::string& x = toks[k].text;
                        if (x == "(") ++pd;
                        if (x == ")") --pd;
                        if (x == "," && pd == 0) {
                            d.params.push_back(cur);
                            cur.clear();
                        } else {
                            cur.push_back(toks[k]);
                        }
                    }
                    if (!cur.empty() || !d.params.empty()) d.params.push_back(cur);
                    defs.push_back(std::move(d));
                    i = close;
                    stmt_start = close + 1;
                    continue;
                }
            }
            i = close;  // struct/enum body or initializer: the statement goes on to its ';'
        }
    }
    return defs;
}

/// Normalized type name -> width; nullopt when unsupported.
std::optional<CType> c_type(const std::string& t) {
    static const std::map<std::string, CType> types = {
        {"uint8_t", {8, false}},        {"uint16_t", {16, false}},      {"uint32_t", {32, false}},
        {"uint64_t", {64, false}},      {"int8_t", {8, true}},          {"int16_t", {16, true}},
        {"int32_t", {32, true}},        {"int64_t", {64, true}},        {"unsigned char", {8, false}},
        {"signed char", {8, true}},     {"unsigned short", {16, false}}, {"unsigned short int", {16, false}},
        {"short", {16, true}},          {"short int", {16, true}},      {"signed short", {16, true}},
        {"unsigned", {32, false}},      {"unsigned int", {32, false}},  {"int", {32, true}},
        {"signed", {32, true}},         {"signed int", {32, true}},     {"unsigned long", {64, false}},
        {"unsigned long int", {64, false}}, {"long", {64, true}},       {"long int", {64, true}},
        {"unsigned long long", {64, false}}, {"unsigned long long int", {64, false}},
        {"long long", {64, true}},      {"long long int", {64, true}},  {"uint_fast8_t", {8, false}},
    };
    auto it = types.find(t);
    if (it == types.end()) return std::nullopt;
    return it->second;
}

std::string join_tokens(const std::vector<Token>& toks, std::size_t from, std::size_t to) {
    std::string s;
    for (std::size_t k = from; k < to; ++k) s += (s.empty() ? "" : " ") + toks[k].text;
    return s;
}

}  // namespace hawx::cimport::detail
