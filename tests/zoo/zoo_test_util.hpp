#pragma once
// Helpers shared by the zoo tests.
#include <sys/wait.h>

#include <ATen/ATen.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace hawx::test {

/// A scratch folder removed at scope exit.
struct ZooTempDir {
    std::filesystem::path path;
    ZooTempDir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() / ("hawx_zoo_test_" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~ZooTempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

/// Debian's python with torch (the python3 first on PATH has none).
inline const char* kTorchPython = "/usr/bin/python3";

/// True when kTorchPython can import torch.
inline bool python_has_torch() {
    static const bool ok =
        std::system((std::string(kTorchPython) + " -c 'import torch' > /dev/null 2>&1").c_str()) == 0;
    return ok;
}

inline std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Exit status and output of one `hawx` run (no plugin path from the environment).
struct CmdResult {
    int code;
    std::string out, err;
};
inline CmdResult run_hawx(const std::string& exe, const std::string& args) {
    ZooTempDir io;
    const std::string out = io.file("out"), err = io.file("err");
    const std::string cmd = "HAWX_PLUGIN_PATH= '" + exe + "' " + args + " > '" + out + "' 2> '" + err + "' < /dev/null";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

/// The message of the E that `f` throws, or "<no exception>".
template <typename E, typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "<no exception>";
}

inline bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == std::string::npos; }

}  // namespace hawx::test
