#include "hawx/cimport/c_import.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "hawx/sdk/error.hpp"
#include "hawx/sdk/table_file.hpp"
#include "hawx/sdk/table_sidecar.hpp"

namespace fs = std::filesystem;

namespace hawx::cimport {

namespace {

// ----------------------------------------------------------------------------------------
// Small helpers

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

std::string trim(const std::string& s) {
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

std::string format_number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

/// A double as a C++ literal that reads back exactly.
std::string cxx_double(double v) {
    char buf[64];
    for (int digits = 15; digits <= 17; ++digits) {  // the shortest that reads back exactly
        std::snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    std::string s = buf;
    if (s.find_first_of(".eE") == std::string::npos) s += ".0";
    return s;
}

/// A string as a C / C++ string literal (quotes included).
std::string c_string_literal(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\%03o", c);
            out += buf;
        } else if (c == '?') {
            out += "\\?";  // no trigraphs, whatever the language mode
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

bool valid_identifier(const std::string& s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// ----------------------------------------------------------------------------------------
// Header figures

struct HeaderKey {
    const char* key;
    const char* unit;  // expected unit after the number ("" for none); also accepted when absent
};

const HeaderKey kMetricKeys[] = {{"MAE%", "%"},  {"MAE", ""},   {"WCE%", "%"}, {"WCE", ""},
                                 {"WCRE%", "%"}, {"EP%", "%"},  {"MRE%", "%"}, {"MSE", ""}};
const HeaderKey kCostKeys[] = {{"PDK45_PWR", "mW"}, {"PDK45_AREA", "um2"}, {"PDK45_DELAY", "ns"}};

/// Parses "<number> [unit]"; returns false when malformed. `tolerance` is half a unit of
/// the last printed digit.
bool parse_figure(const std::string& raw, const std::string& unit, double& value, double& tolerance,
                  std::string& number_text) {
    static const std::regex number_re(R"(^([+-]?)([0-9]+)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?\s*(.*)$)");
    static const std::regex number_re2(R"(^([+-]?)()\.([0-9]+)(?:[eE]([+-]?[0-9]+))?\s*(.*)$)");
    std::smatch m;
    const std::string s = trim(raw);
    if (!std::regex_match(s, m, number_re) && !std::regex_match(s, m, number_re2)) return false;
    std::string rest = trim(m[5].str());
    if (!rest.empty()) {
        bool ok = rest == unit;
        if (unit == std::string("um2")) ok = ok || rest == "um^2" || rest == "\xC2\xB5m2" || rest == "\xC2\xB5m^2";
        if (!ok) return false;
    }
    number_text = trim(s.substr(0, s.size() - m[5].length()));
    const int decimals = m[3].matched ? static_cast<int>(m[3].length()) : 0;
    int exponent = 0;
    if (m[4].matched) {
        const std::string e = m[4].str();
        if (e.size() > 5) return false;
        exponent = std::stoi(e);
    }
    errno = 0;
    char* end = nullptr;
    value = std::strtod(number_text.c_str(), &end);
    if (errno == ERANGE || end == number_text.c_str() || !std::isfinite(value)) return false;
    tolerance = 0.5 * std::pow(10.0, exponent - decimals);
    return true;
}

constexpr std::size_t kMaxHeaderLine = 1024;

/// The key of a `// KEY = value` line, found without std::regex; "" when the line is not one.
std::string comment_key(const std::string& line) {
    std::size_t i = 0;
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (line.compare(i, 2, "//") != 0) return "";
    i += 2;
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    const std::size_t b = i;
    while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == '%')) ++i;
    return line.substr(b, i - b);
}

void parse_header(const std::string& path, const std::string& text, Circuit& c) {
    static const std::regex line_re(R"(^\s*//\s*([A-Za-z0-9_%]+)\s*[=:]\s*(.*?)\s*$)");
    std::istringstream in(text);
    std::string line;
    int line_no = 0;
    std::set<std::string> seen;
    std::map<std::string, double> cost;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        // libstdc++'s std::regex recurses once per character: a long line would overflow the
        // stack. Figure lines are short; a long one naming a figure is an error, others are skipped.
        if (line.size() > kMaxHeaderLine) {
            const std::string key = comment_key(line);
            bool figure = false;
            for (const auto& k : kMetricKeys) figure = figure || key == k.key;
            for (const auto& k : kCostKeys) figure = figure || key == k.key;
            if (figure)
                throw Error(path + ":" + std::to_string(line_no) + ": header line for " + key + " is " +
                        std::to_string(line.size()) + " characters long (at most " +
                        std::to_string(kMaxHeaderLine) + ")");
            continue;
        }
        std::smatch m;
        if (!std::regex_match(line, m, line_re)) continue;
        const std::string key = m[1].str();
        const HeaderKey* hk = nullptr;
        bool is_cost = false;
        for (const auto& k : kMetricKeys)
            if (key == k.key) hk = &k;
        for (const auto& k : kCostKeys)
            if (key == k.key) hk = &k, is_cost = true;
        if (!hk) continue;  // other figures (FPGA_*, ...) are not used
        const std::string where = path + ":" + std::to_string(line_no) + ": ";
        if (!seen.insert(key).second) throw Error(where + "header figure " + key + " is given twice");
        double value = 0, tol = 0;
        std::string number;
        if (!parse_figure(m[2].str(), hk->unit, value, tol, number))
            throw Error(where + "malformed header value for " + key + ": '" + m[2].str() + "' (expected a number" +
                        (*hk->unit ? std::string(", optionally followed by ") + hk->unit : std::string()) + ")");
        if (is_cost) {
            if (value < 0) throw Error(where + "negative header value for " + key + ": '" + m[2].str() + "'");
            cost[key] = value;
            continue;
        }
        c.figures.push_back({key, number, value, tol});
        auto& p = c.published;
        if (key == "MAE%") p.mae_percent = value;
        else if (key == "MAE") p.mae = value;
        else if (key == "WCE%") p.wce_percent = value;
        else if (key == "WCE") p.wce = value;
        else if (key == "WCRE%") p.wcre_percent = value;
        else if (key == "EP%") p.ep_percent = value;
        else if (key == "MRE%") p.mre_percent = value;
        else if (key == "MSE") p.mse = value;
    }
    c.published.source = "EvoApproxLib header of " + path;
    if (!cost.empty()) {
        HardwareCost hc;
        std::string missing;
        auto take = [&](const char* k, double& out, const char* what) {
            auto it = cost.find(k);
            if (it != cost.end())
                out = it->second;
            else
                missing += std::string(missing.empty() ? "" : ", ") + what;
        };
        take("PDK45_PWR", hc.power_mw, "power");
        take("PDK45_AREA", hc.area_um2, "area");
        take("PDK45_DELAY", hc.delay_ns, "delay");
        hc.source = "PDK45 figures published in " + path;
        if (!missing.empty()) hc.source += " (not published: " + missing + ")";
        c.cost = hc;
    }
}

// ----------------------------------------------------------------------------------------
// C source scanning

struct Token {
    std::string text;
    int line = 0;
};

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

struct FunctionDef {
    std::string name;
    int line = 0;
    std::vector<Token> specifiers;               // tokens before the name
    std::vector<std::vector<Token>> params;      // tokens of each parameter
};

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

struct CType {
    int bits = 0;
    bool is_signed = false;
};

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
    auto width = [&](const std::string& s) {
        if (s.size() > 3) throw Error(where + "operand width " + s + " in the name is out of range 1..16");
        const int v = std::stoi(s);
        if (v < 1 || v > 16) throw Error(where + "operand width " + s + " in the name is out of range 1..16");
        return v;
    };
    c.a_bits = width(m[2].str());
    c.b_bits = m[3].matched ? width(m[3].str()) : c.a_bits;
    c.is_signed = m[4].str() == "s";
    if (c.result_bits() > (c.is_signed ? 32 : 31))
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
// Plugin source

namespace {

struct Roles {
    int act_param, weight_param;  // parameter index receiving the activation / the weight
    int act_bits, weight_bits;
};

Roles roles(const Circuit& c, const std::string& activation_operand) {
    if (activation_operand != "A" && activation_operand != "B")
        throw Error("activation operand must be \"A\" or \"B\", got \"" + activation_operand + "\"");
    const bool a_is_act = activation_operand == "A";
    Roles r;
    r.act_param = c.index_of(a_is_act ? 'A' : 'B');
    r.weight_param = c.index_of(a_is_act ? 'B' : 'A');
    r.act_bits = a_is_act ? c.a_bits : c.b_bits;
    r.weight_bits = a_is_act ? c.b_bits : c.a_bits;
    return r;
}

std::string prototype(const Circuit& c) {
    std::string s = c.return_type + " " + c.function + "(";
    for (std::size_t i = 0; i < c.params.size(); ++i) {
        if (i) s += ", ";
        s += (c.params[i].is_const ? "const " : "") + c.params[i].type + " " + c.params[i].name;
    }
    return s + ")";
}

std::string file_name(const std::string& path) { return fs::path(path).filename().string(); }

std::string describe_circuit(const Circuit& c, const std::string& activation_operand) {
    const Roles r = roles(c, activation_operand);
    return "EvoApproxLib circuit " + c.function + " from " + file_name(c.path) + ": " +
           (c.is_signed ? "signed " : "unsigned ") + std::to_string(r.act_bits) + "x" +
           std::to_string(r.weight_bits) + (c.op == BlockOp::Multiply ? " multiplier" : " adder") +
           " (activation = C operand " + activation_operand + ")";
}

}  // namespace

std::string plugin_source(const std::vector<Circuit>& circuits, const std::string& library, const Options& options) {
    static const std::regex lib_re("^[A-Za-z0-9_]+$");
    if (!std::regex_match(library, lib_re))
        throw Error("plugin library name '" + library + "' must match [A-Za-z0-9_]+");
    if (circuits.empty()) throw Error("plugin " + library + ": no circuits to build");
    std::map<std::string, std::string> seen;
    for (const auto& c : circuits) {
        auto [it, fresh] = seen.emplace(c.function, c.path);
        if (!fresh)
            throw Error("plugin " + library + ": circuit " + c.function + " is defined in both " + it->second +
                        " and " + c.path);
        roles(c, options.activation_operand);  // validates the option and the parameters
    }

    std::ostringstream o;
    o << "// Generated by `hawx blocks import-c --emit-plugin-source` for the HAWX plugin library '" << library
      << "'.\n// Do not edit: it is rewritten from the C circuit files:\n";
    for (const auto& c : circuits) o << "//   " << c.path << "\n";
    o << "#include <stdint.h>\n\n#include <cstdint>\n\n#include \"hawx/sdk/hawx.hpp\"\n\n";
    o << "extern \"C\" {\n";
    for (const auto& c : circuits) o << prototype(c) << ";\n";
    o << "}\n\nnamespace {\n";

    for (const auto& c : circuits) {
        const Roles r = roles(c, options.activation_operand);
        const std::string cls = "CBlock_" + c.function;
        const int out_bits = c.result_bits();
        char mask[32], sign[32];
        std::snprintf(mask, sizeof mask, "0x%llxull", static_cast<unsigned long long>((1ull << out_bits) - 1));
        std::snprintf(sign, sizeof sign, "0x%llxull", static_cast<unsigned long long>(1ull << (out_bits - 1)));
        o << "\n/// " << describe_circuit(c, options.activation_operand) << "\n";
        o << "class " << cls << " final : public hawx::ApproxBlock {\n"
          << "public:\n"
          << "    explicit " << cls << "(const hawx::Params&) {}\n"
          << "    static hawx::ComponentInfo describe() {\n"
          << "        hawx::ComponentInfo info;\n"
          << "        info.name = " << c_string_literal(c.function) << ";\n"
          << "        info.kind = hawx::Kind::Block;\n"
          << "        info.version = \"1.0\";\n"
          << "        info.summary = " << c_string_literal(describe_circuit(c, options.activation_operand)) << ";\n"
          << "        return info;\n"
          << "    }\n"
          << "    hawx::BlockOp op() const override { return hawx::BlockOp::"
          << (c.op == BlockOp::Multiply ? "Multiply" : "Add") << "; }\n"
          << "    int activation_bits() const override { return " << r.act_bits << "; }\n"
          << "    int weight_bits() const override { return " << r.weight_bits << "; }\n"
          << "    bool is_signed() const override { return " << (c.is_signed ? "true" : "false") << "; }\n"
          << "    std::int32_t apply(std::int32_t activation, std::int32_t weight) const override {\n"
          << "        return call(hawx::value_to_code(activation, " << r.act_bits << "), hawx::value_to_code(weight, "
          << r.weight_bits << "));\n"
          << "    }\n"
          << "    void fill_table(std::int32_t* out) const override {\n"
          << "        for (std::uint32_t a = 0; a < (1u << " << r.act_bits << "); ++a)\n"
          << "            for (std::uint32_t w = 0; w < (1u << " << r.weight_bits << "); ++w) out[(a << "
          << r.weight_bits << ") | w] = call(a, w);\n"
          << "    }\n"
          << "    hawx::HardwareCost cost() const override {\n"
          << "        hawx::HardwareCost c;\n";
        if (c.cost) {
            o << "        c.power_mw = " << cxx_double(c.cost->power_mw) << ";\n"
              << "        c.area_um2 = " << cxx_double(c.cost->area_um2) << ";\n"
              << "        c.delay_ns = " << cxx_double(c.cost->delay_ns) << ";\n"
              << "        c.source = " << c_string_literal(c.cost->source) << ";\n";
        } else {
            o << "        c.source = " << c_string_literal("no hardware cost published in " + c.path) << ";\n";
        }
        o << "        return c;\n"
          << "    }\n"
          << "    hawx::PublishedMetrics published() const override {\n"
          << "        hawx::PublishedMetrics p;\n";
        const auto& p = c.published;
        auto put = [&](const char* field, const std::optional<double>& v) {
            if (v) o << "        p." << field << " = " << cxx_double(*v) << ";\n";
        };
        put("mae", p.mae);
        put("mae_percent", p.mae_percent);
        put("wce", p.wce);
        put("wce_percent", p.wce_percent);
        put("wcre_percent", p.wcre_percent);
        put("ep_percent", p.ep_percent);
        put("mre_percent", p.mre_percent);
        put("mse", p.mse);
        if (!p.empty()) o << "        p.source = " << c_string_literal(p.source) << ";\n";
        o << "        return p;\n"
          << "    }\n\n"
          << "private:\n"
          << "    // Operand codes (bit patterns) in; the circuit's low " << out_bits << " output bits out"
          << (c.is_signed ? ", sign-extended" : "") << ".\n"
          << "    static std::int32_t call(std::uint32_t activation_code, std::uint32_t weight_code) {\n"
          << "        const std::uint64_t r = static_cast<std::uint64_t>(::" << c.function << "(";
        for (int i = 0; i < 2; ++i) {
            if (i) o << ", ";
            const bool is_act = i == r.act_param;
            o << "static_cast<" << c.params[static_cast<std::size_t>(i)].type << ">("
              << (is_act ? "activation_code" : "weight_code") << ")";
        }
        o << "));  // " << c.params[static_cast<std::size_t>(r.act_param)].name << " = activation, "
          << c.params[static_cast<std::size_t>(r.weight_param)].name << " = weight\n"
          << "        const std::uint64_t low = r & " << mask << ";\n";
        if (c.is_signed)
            o << "        return static_cast<std::int32_t>(static_cast<std::int64_t>(low ^ " << sign
              << ") - static_cast<std::int64_t>(" << sign << "));\n";
        else
            o << "        return static_cast<std::int32_t>(low);\n";
        o << "    }\n};\n";
    }

    o << "\nvoid hawx_cblocks_register(hawx::Registry& registry) {\n";
    for (const auto& c : circuits) o << "    hawx::add<CBlock_" << c.function << ">(registry);\n";
    o << "}\n\n}  // namespace\n\n";
    o << "HAWX_PLUGIN(" << c_string_literal(library) << ", \"1.0\", hawx_cblocks_register)\n";
    return o.str();
}

// ----------------------------------------------------------------------------------------
// Tabulation

namespace {

/// A temporary folder, removed with everything in it on destruction.
class TempDir {
public:
    TempDir() {
        std::error_code ec;
        fs::path base = fs::temp_directory_path(ec);
        if (ec) base = "/tmp";
        std::string templ = (base / "hawx-cimport-XXXXXX").string();
        std::vector<char> buf(templ.begin(), templ.end());
        buf.push_back('\0');
        if (!::mkdtemp(buf.data()))
            throw Error("cannot create a temporary folder in " + base.string() + ": " + std::strerror(errno));
        path_ = buf.data();
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::vector<std::string> compiler_command(const Options& options) {
    std::string cc = options.compiler;
    if (cc.empty()) {
        const char* env = std::getenv("CC");
        cc = env && *env ? env : "cc";
    }
    std::vector<std::string> words;
    std::istringstream in(cc);
    for (std::string w; in >> w;) words.push_back(w);
    if (words.empty()) words.push_back("cc");
    return words;
}

/// Runs a shell command; true when it exited with status 0.
bool run(const std::string& command) {
    const int st = std::system(command.c_str());
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

std::string first_error_line(const fs::path& log) {
    std::ifstream in(log);
    std::string line, first;
    while (std::getline(in, line)) {
        if (first.empty() && !trim(line).empty()) first = trim(line);
        if (line.find("error") != std::string::npos) return trim(line);
    }
    return first.empty() ? "no diagnostic" : first;
}

std::string tabulator_source(const Circuit& c) {
    const std::string abs = fs::absolute(c.path).lexically_normal().string();
    const int ia = c.index_of('A');
    std::ostringstream o;
    o << "/* HAWX tabulator for " << c.function << " (generated). */\n"
      << "#include <stdio.h>\n#include <stdint.h>\n#include <stdlib.h>\n"
      << "#include " << c_string_literal(abs) << "\n\n"
      << "int main(int argc, char** argv) {\n"
      << "    FILE* f;\n    uint64_t a, b, r;\n    unsigned char buf[8];\n    int i;\n"
      << "    if (argc != 2) return 3;\n"
      << "    f = fopen(argv[1], \"wb\");\n    if (!f) return 4;\n"
      << "    for (a = 0; a < ((uint64_t)1 << " << c.a_bits << "); ++a) {\n"
      << "        for (b = 0; b < ((uint64_t)1 << " << c.b_bits << "); ++b) {\n"
      << "            r = (uint64_t)" << c.function << "(";
    for (int i = 0; i < 2; ++i) {
        if (i) o << ", ";
        o << "(" << c.params[static_cast<std::size_t>(i)].type << ")" << (i == ia ? "a" : "b");
    }
    o << ");\n"
      << "            for (i = 0; i < 8; ++i) buf[i] = (unsigned char)((r >> (8 * i)) & 0xff);\n"
      << "            if (fwrite(buf, 1, 8, f) != 8) return 5;\n"
      << "        }\n    }\n"
      << "    return fclose(f) == 0 ? 0 : 5;\n}\n";
    return o.str();
}

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

double computed_figure(const ErrorMetrics& m, const std::string& key) {
    if (key == "MAE%") return m.mae_percent;
    if (key == "MAE") return m.mae;
    if (key == "WCE%") return m.wce_percent;
    if (key == "WCE") return m.wce;
    if (key == "WCRE%") return m.wcre_percent;
    if (key == "EP%") return m.ep_percent;
    if (key == "MRE%") return m.mre_percent;
    return m.mse;
}

}  // namespace

std::vector<std::int32_t> tabulate(const Circuit& c, const Options& options) {
    if (c.a_bits + c.b_bits > 16)
        throw Error(c.path + ": " + c.function + " has " + std::to_string(c.a_bits) + "+" + std::to_string(c.b_bits) +
                    " operand bits; tables hold at most 16");
    const Roles r = roles(c, options.activation_operand);
    if (c.path.find('\n') != std::string::npos) throw Error("C file name with a newline is not supported");

    TempDir tmp;
    const fs::path src = tmp.path() / "tabulate.c", exe = tmp.path() / "tabulate", log = tmp.path() / "cc.log",
                   raw = tmp.path() / "table.raw", runlog = tmp.path() / "run.log";
    {
        std::ofstream out(src);
        out << tabulator_source(c);
        if (!out.flush()) throw Error("cannot write " + src.string());
    }
    std::string cmd;
    for (const auto& w : compiler_command(options)) cmd += shell_quote(w) + " ";
    cmd += "-O1 -o " + shell_quote(exe.string()) + " " + shell_quote(src.string()) + " > " + shell_quote(log.string()) +
           " 2>&1";
    if (!run(cmd)) {
        std::string cc;
        for (const auto& w : compiler_command(options)) cc += (cc.empty() ? "" : " ") + w;
        throw Error(c.path + ": the C compiler (" + cc + ") failed on " + c.function + ": " + first_error_line(log));
    }
    if (!run(shell_quote(exe.string()) + " " + shell_quote(raw.string()) + " > " + shell_quote(runlog.string()) +
             " 2>&1"))
        throw Error(c.path + ": running " + c.function + " over all operand pairs failed (the circuit crashed or the "
                    "result could not be written)");

    const std::size_t na = static_cast<std::size_t>(c.a_bits), nb = static_cast<std::size_t>(c.b_bits);
    const std::size_t entries = std::size_t{1} << (na + nb);
    std::ifstream in(raw, std::ios::binary);
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() != 8 * entries)
        throw Error(c.path + ": the tabulator of " + c.function + " wrote " + std::to_string(bytes.size()) +
                    " bytes, expected " + std::to_string(8 * entries));

    const int out_bits = c.result_bits();
    const std::uint64_t mask = (std::uint64_t{1} << out_bits) - 1, sign = std::uint64_t{1} << (out_bits - 1);
    const bool a_is_act = r.act_param == c.index_of('A');
    std::vector<std::int32_t> table(entries);
    for (std::uint32_t a = 0; a < (1u << na); ++a) {
        for (std::uint32_t b = 0; b < (1u << nb); ++b) {
            const std::size_t k = (std::size_t{a} << nb) | b;
            std::uint64_t v = 0;
            for (int i = 7; i >= 0; --i) v = (v << 8) | bytes[8 * k + static_cast<std::size_t>(i)];
            v &= mask;
            const std::int32_t value = c.is_signed ? static_cast<std::int32_t>(static_cast<std::int64_t>(v ^ sign) -
                                                                              static_cast<std::int64_t>(sign))
                                                   : static_cast<std::int32_t>(v);
            const std::size_t idx = a_is_act ? ((std::size_t{a} << nb) | b) : ((std::size_t{b} << na) | a);
            table[idx] = value;
        }
    }
    return table;
}

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
        for (const auto& fig : c.figures) {
            const double v = computed_figure(r.computed, fig.key);
            if (std::fabs(v - fig.value) > fig.tolerance + 1e-9 + 1e-12 * std::fabs(fig.value))
                r.mismatches.push_back(fig.key + " published " + fig.text + ", computed " + format_number(v));
        }
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
        write_table_file(r.table_path, tables[i], c.is_signed);
        try {
            write_sidecar(r.sidecar_path, s);
        } catch (...) {
            fs::remove(r.table_path, ec);
            throw;
        }
    }
    return results;
}

}  // namespace hawx::cimport
