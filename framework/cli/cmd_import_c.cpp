#include "cmd_import_c.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <system_error>

#include <boost/program_options.hpp>

#include "hawx/cimport/c_import.hpp"
#include "hawx/framework/text.hpp"
#include "hawx/sdk/error.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace hawx::cli {

namespace {

const char* kUsage =
    "usage: hawx blocks import-c FILE... [--out DIR] [--activation-operand A|B] [--cc COMPILER] [--strict]\n"
    "       hawx blocks import-c FILE... --emit-plugin-source OUT.cpp --library NAME [--activation-operand A|B]\n"
    "\n"
    "Imports EvoApproxLib-style C circuits (one function (mul|add)<bits>[x<bits>](s|u)_<id> per file).\n"
    "The first form compiles each circuit, tabulates it over all operand pairs and writes\n"
    "DIR/<function>.bin (TFApprox layout) with its DIR/<function>.json sidecar (8x8 circuits only),\n"
    "then compares the computed error figures with the ones published in the file's header.\n"
    "The second form writes the C++ source of a HAWX plugin that wraps the circuits (used by the\n"
    "CMake function hawx_add_c_blocks); OUT.cpp is rewritten only when its content changes.\n"
    "\n"
    "options:\n";

std::string significant(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

/// Writes `content` to `path` atomically unless the file already holds exactly that.
/// Returns true when the file was (re)written.
bool write_if_changed(const std::string& path, const std::string& content) {
    {
        std::ifstream in(path, std::ios::binary);
        if (in) {
            std::ostringstream ss;
            ss << in.rdbuf();
            if (ss.str() == content) return false;
        }
    }
    const fs::path parent = fs::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(path + ": cannot write plugin source");
        out << content;
        out.flush();
        if (!out) {
            fs::remove(tmp, ec);
            throw Error(path + ": write failed");
        }
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw Error(path + ": cannot rename temporary file into place");
    }
    return true;
}

}  // namespace

int import_c_command(const std::vector<std::string>& args) {
    po::options_description visible("");
    // clang-format off
    visible.add_options()
        ("help,h", "print this help")
        ("out,o", po::value<std::string>()->default_value("."), "folder for the .bin/.json tables")
        ("activation-operand", po::value<std::string>()->default_value("A"),
         "which C operand (A or B) is the activation; the other is the weight")
        ("cc", po::value<std::string>(), "C compiler for the tabulator (default: $CC, else cc)")
        ("strict", "exit with an error (status 2), writing nothing, when a published figure differs")
        ("emit-plugin-source", po::value<std::string>(), "write a plugin source to this file instead of tables")
        ("library", po::value<std::string>(), "plugin library name ([A-Za-z0-9_]+), with --emit-plugin-source");
    // clang-format on
    po::options_description all;
    all.add(visible).add_options()("file", po::value<std::vector<std::string>>(), "C files");
    po::positional_options_description pos;
    pos.add("file", -1);

    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw Error(std::string("blocks import-c: ") + e.what() + " (see hawx blocks import-c --help)");
    }
    if (vm.count("help")) {
        std::cout << kUsage << visible;
        return 0;
    }

    cimport::Options options;
    options.activation_operand = vm["activation-operand"].as<std::string>();
    if (options.activation_operand != "A" && options.activation_operand != "B")
        throw Error("blocks import-c: --activation-operand must be A or B, got '" + options.activation_operand + "'");
    if (vm.count("cc")) options.compiler = vm["cc"].as<std::string>();
    options.strict = vm.count("strict") != 0;
    const std::vector<std::string> files =
        vm.count("file") ? vm["file"].as<std::vector<std::string>>() : std::vector<std::string>{};
    if (files.empty()) throw Error("blocks import-c: no C files given (see hawx blocks import-c --help)");

    const bool emit = vm.count("emit-plugin-source") != 0;
    if (emit != (vm.count("library") != 0))
        throw Error("blocks import-c: --emit-plugin-source and --library go together");
    if (emit) {
        if (!vm["out"].defaulted()) throw Error("blocks import-c: --out does not apply with --emit-plugin-source");
        if (options.strict || vm.count("cc"))
            throw Error("blocks import-c: --strict and --cc do not apply with --emit-plugin-source");
        std::vector<cimport::Circuit> circuits;
        for (const auto& f : files) circuits.push_back(cimport::parse_file(f));
        const std::string path = vm["emit-plugin-source"].as<std::string>();
        const std::string library = vm["library"].as<std::string>();
        const bool written = write_if_changed(path, cimport::plugin_source(circuits, library, options));
        std::cout << path << (written ? ": written" : ": up to date") << " (plugin " << library << ", "
                  << circuits.size() << (circuits.size() == 1 ? " circuit" : " circuits") << ")\n";
        return 0;
    }

    const auto results = cimport::import_to_tables(files, vm["out"].as<std::string>(), options);
    for (const auto& r : results) {
        std::cout << r.name << ": MAE% " << significant(r.computed.mae_percent) << ", WCE "
                  << fixed(r.computed.wce, 0) << ", EP% " << fixed(r.computed.ep_percent, 2) << ", MRE% "
                  << significant(r.computed.mre_percent) << " -> " << r.table_path << "; ";
        if (r.published.empty())
            std::cout << "no published figures\n";
        else if (r.mismatches.empty())
            std::cout << "published figures agree\n";
        else
            std::cout << r.mismatches.size() << " published figure(s) differ\n";
        for (const auto& m : r.mismatches) std::cerr << "hawx: warning: " << r.name << ": " << m << "\n";
    }
    return 0;
}

}  // namespace hawx::cli
