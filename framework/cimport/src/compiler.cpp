// EvoApproxLib C import: the C compiler driver. A generated tabulator, compiled with the
// user's C compiler in a temporary folder and run, gives a circuit's table.
#include "cimport_internal.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>
#include <vector>

#include "hawx/sdk/error.hpp"

namespace fs = std::filesystem;

namespace hawx::cimport {

using namespace detail;

// ----------------------------------------------------------------------------------------
// Tabulation

namespace {

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

}  // namespace hawx::cimport
