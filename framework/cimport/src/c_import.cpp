// EvoApproxLib C import: a circuit file parsed (parse_file: its function, signature and header
// figures) and circuits imported as table files (import_to_tables).
#include "hawx/cimport/c_import.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <system_error>
#include <utility>

#include "hawx/sdk/error.hpp"
#include "hawx/sdk/table_file.hpp"
#include "hawx/sdk/table_sidecar.hpp"
#include "cimport_internal.hpp"

namespace fs = std::filesystem;

namespace hawx::cimport {

using namespace detail;

// ----------------------------------------------------------------------------------------
// Small helpers

namespace detail {

std::string trim(const std::string& s) {
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

}  // namespace detail

namespace {

std::string read_text(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) throw Error(path + ": is a directory, expected a C file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open C file");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw Error(path + ": cannot read C file");
    return ss.str();
}

std::string format_number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

}  // namespace

// ----------------------------------------------------------------------------------------
// Circuit

int Circuit::result_bits() const {
    return op == BlockOp::Multiply ? a_bits + b_bits : std::max(a_bits, b_bits) + 1;
}

int Circuit::index_of(char operand) const {
    const char want = static_cast<char>(std::toupper(static_cast<unsigned char>(operand)));
    for (std::size_t i = 0; i < params.size(); ++i)
        if (params[i].name.size() == 1 && std::toupper(static_cast<unsigned char>(params[i].name[0])) == want)
            return static_cast<int>(i);
    throw Error(path + ": circuit " + function + " has no parameter named " + std::string(1, want));
}

Circuit parse_file(const std::string& path) {
    const std::string text = read_text(path);
    Circuit c;
    c.path = path;

    const std::vector<FunctionDef> defs = find_functions(tokenize(text));
    static const std::regex name_re(R"(^(mul|add)([0-9]+)(?:x([0-9]+))?([su])_([A-Za-z0-9_]+)$)");
    std::vector<const FunctionDef*> circuits, loose;
    for (const auto& d : defs) {
        // Length bound: std::regex recursion depth grows with the name (see kMaxHeaderLine).
        if (d.name.size() <= 256 && std::regex_match(d.name, name_re))
            circuits.push_back(&d);
        else if (d.name.rfind("mul", 0) == 0 || d.name.rfind("add", 0) == 0)
            loose.push_back(&d);
    }
    if (circuits.empty()) {
        if (!loose.empty())
            throw Error(path + ":" + std::to_string(loose.front()->line) + ": function '" + loose.front()->name +
                        "' does not encode operand widths and signedness in its name (expected "
                        "(mul|add)<bits>[x<bits>](s|u)_<id>, e.g. mul8s_1L2N)");
        std::string found;
        for (const auto& d : defs) found += (found.empty() ? "" : ", ") + d.name;
        throw Error(path + ": no circuit function found (expected one named (mul|add)<bits>[x<bits>](s|u)_<id>, e.g. "
                    "mul8s_1L2N" + (found.empty() ? std::string("; the file defines no function")
                                                   : "; functions defined: " + found) + ")");
    }
    if (circuits.size() > 1)
        throw Error(path + ": two circuit functions, " + circuits[0]->name + " (line " +
                    std::to_string(circuits[0]->line) + ") and " + circuits[1]->name + " (line " +
                    std::to_string(circuits[1]->line) + "); a file must hold exactly one");
    const FunctionDef& f = *circuits.front();
    c.function = f.name;
    const std::string where = path + ":" + std::to_string(f.line) + ": " + f.name + ": ";

    std::smatch m;
    std::regex_match(f.name, m, name_re);
    c.op = m[1].str() == "mul" ? BlockOp::Multiply : BlockOp::Add;
    // Adders go up to 32-bit operands (accumulators; their 33-bit sums go through add_n),
    // multipliers up to 16 (a 32-bit product).
    const std::string range = c.op == BlockOp::Add ? "1..32" : "1..16";
    auto width = [&](const std::string& s) {
        if (s.size() > 3) throw Error(where + "operand width " + s + " in the name is out of range " + range);
        const int v = std::stoi(s);
        if (v < 1 || v > (c.op == BlockOp::Add ? 32 : 16))
            throw Error(where + "operand width " + s + " in the name is out of range " + range);
        return v;
    };
    c.a_bits = width(m[2].str());
    c.b_bits = m[3].matched ? width(m[3].str()) : c.a_bits;
    c.is_signed = m[4].str() == "s";
    if (c.op == BlockOp::Multiply && c.result_bits() > (c.is_signed ? 32 : 31))
        throw Error(where + "a " + std::to_string(c.result_bits()) + "-bit " + (c.is_signed ? "signed" : "unsigned") +
                    " result does not fit a 32-bit block result");

    // return type
    std::vector<Token> spec;
    for (const auto& t : f.specifiers) {
        if (t.text == "static" || t.text == "inline" || t.text == "__inline" || t.text == "__inline__")
            throw Error(where + "the circuit function is declared '" + t.text +
                        "'; it must be a plain external function");
        if (t.text == "const" || t.text == "extern") continue;
        spec.push_back(t);
    }
    c.return_type = join_tokens(spec, 0, spec.size());
    const auto rt = c_type(c.return_type);
    if (!rt)
        throw Error(where + "unsupported return type '" + c.return_type +
                    "' (expected an integer type such as uint16_t or uint64_t)");
    if (rt->bits < c.result_bits())
        throw Error(where + "return type " + c.return_type + " is narrower than the " +
                    std::to_string(c.result_bits()) + "-bit result");

    // parameters
    if (f.params.size() != 2)
        throw Error(where + "expected two parameters named A and B, found " +
                    std::to_string(f.params.size() == 1 && f.params[0].size() == 1 && f.params[0][0].text == "void"
                                       ? 0
                                       : f.params.size()));
    for (const auto& ptoks : f.params) {
        Parameter p;
        std::vector<Token> type;
        for (std::size_t k = 0; k < ptoks.size(); ++k) {
            const std::string& x = ptoks[k].text;
            if (x == "const") {
                p.is_const = true;
                continue;
            }
            if (x == "*" || x == "[" || x == "]" || x == "&" || x == "(" || x == "volatile" || x == "restrict")
                throw Error(where + "unsupported parameter type '" + join_tokens(ptoks, 0, ptoks.size()) +
                            "' (operands must be passed by value as integers)");
            type.push_back(ptoks[k]);
        }
        if (type.size() < 2 || !valid_identifier(type.back().text))
            throw Error(where + "parameter '" + join_tokens(ptoks, 0, ptoks.size()) +
                        "' must have a type and a name (A or B)");
        p.name = type.back().text;
        type.pop_back();
        p.type = join_tokens(type, 0, type.size());
        if (!c_type(p.type))
            throw Error(where + "unsupported parameter type '" + p.type + "' of " + p.name +
                        " (expected an integer type such as uint8_t or uint64_t)");
        c.params.push_back(p);
    }
    auto upper = [](const std::string& s) {
        std::string u = s;
        for (auto& ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        return u;
    };
    const std::string n0 = upper(c.params[0].name), n1 = upper(c.params[1].name);
    if (!((n0 == "A" && n1 == "B") || (n0 == "B" && n1 == "A")))
        throw Error(where + "parameters must be named A and B (in either order), found '" + c.params[0].name +
                    "' and '" + c.params[1].name + "'");
    for (const auto& p : c.params) {
        const int need = upper(p.name) == "A" ? c.a_bits : c.b_bits;
        if (c_type(p.type)->bits < need)
            throw Error(where + "parameter " + p.name + " of type " + p.type + " is narrower than its " +
                        std::to_string(need) + "-bit operand");
    }

    parse_header(path, text, c);
    return c;
}

// ----------------------------------------------------------------------------------------
// Table files

namespace {

/// The block view of a table, for hawx::characterize.
class TableBlock final : public ApproxBlock {
public:
    TableBlock(BlockOp op, int na, int nw, bool s, const std::vector<std::int32_t>& t)
        : op_(op), na_(na), nw_(nw), s_(s), t_(t) {}
    BlockOp op() const override { return op_; }
    int activation_bits() const override { return na_; }
    int weight_bits() const override { return nw_; }
    bool is_signed() const override { return s_; }
    std::int32_t apply(std::int32_t a, std::int32_t w) const override {
        return t_[(value_to_code(a, na_) << nw_) | value_to_code(w, nw_)];
    }
    HardwareCost cost() const override { return {}; }
    void fill_table(std::int32_t* out) const override { std::copy(t_.begin(), t_.end(), out); }

private:
    BlockOp op_;
    int na_, nw_;
    bool s_;
    const std::vector<std::int32_t>& t_;
};

}  // namespace

std::vector<ImportResult> import_to_tables(const std::vector<std::string>& files, const std::string& out_dir,
                                           const Options& options) {
    if (files.empty()) throw Error("import-c: no C files given");
    if (options.activation_operand != "A" && options.activation_operand != "B")
        throw Error("import-c: activation operand must be \"A\" or \"B\", got \"" + options.activation_operand + "\"");

    // 1. parse and check everything
    std::vector<Circuit> circuits;
    std::map<std::string, std::string> seen;
    for (const auto& f : files) {
        Circuit c = parse_file(f);
        if (c.a_bits != 8 || c.b_bits != 8)
            throw Error(f + ": " + c.function + " has " + std::to_string(c.a_bits) + "x" + std::to_string(c.b_bits) +
                        "-bit operands; table files are 8x8 only (build it as a plugin with hawx_add_c_blocks instead)");
        auto [it, fresh] = seen.emplace(c.function, f);
        if (!fresh) throw Error(f + ": circuit " + c.function + " was already given in " + it->second);
        circuits.push_back(std::move(c));
    }

    // 2. tabulate and characterize
    std::vector<ImportResult> results;
    std::vector<std::vector<std::int32_t>> tables;
    for (const auto& c : circuits) {
        std::vector<std::int32_t> table = tabulate(c, options);
        ImportResult r;
        r.name = c.function;
        r.table_path = (fs::path(out_dir) / (c.function + ".bin")).string();
        r.sidecar_path = sidecar_path(r.table_path);
        TableBlock block(c.op, 8, 8, c.is_signed, table);
        r.computed = characterize(block);
        r.published = c.published;
        for (const FigureCheck& f : check_published(c.published, r.computed))
            if (!f.agrees)
                r.mismatches.push_back(f.label + " published " + f.text + ", computed " + format_number(f.computed));
        if (options.strict && !r.mismatches.empty())
            throw Error(c.path + ": " + c.function + ": " + r.mismatches.front() +
                        (r.mismatches.size() > 1 ? " (and " + std::to_string(r.mismatches.size() - 1) + " more)" : "") +
                        "; nothing written (strict)");
        results.push_back(std::move(r));
        tables.push_back(std::move(table));
    }

    // 3. write: table, then sidecar; a table never stays without its sidecar
    std::error_code ec;
    if (!out_dir.empty()) {
        fs::create_directories(out_dir, ec);
        if (ec || !fs::is_directory(out_dir)) throw Error(out_dir + ": cannot create output folder");
    }
    for (std::size_t i = 0; i < circuits.size(); ++i) {
        const Circuit& c = circuits[i];
        const ImportResult& r = results[i];
        TableSidecar s;
        s.name = c.function;
        s.op = c.op;
        s.is_signed = c.is_signed;
        s.activation_first = true;
        if (c.cost)
            s.cost = *c.cost;
        else
            s.cost.source = "no hardware cost published in " + c.path;
        s.published = c.published;
        s.origin = "EvoApproxLib C circuit " + c.function + " imported from " + c.path +
                   " (activation = C operand " + options.activation_operand + ")";
        write_table_and_sidecar(r.table_path, tables[i], s);
    }
    return results;
}

}  // namespace hawx::cimport
