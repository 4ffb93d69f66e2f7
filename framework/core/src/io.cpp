#include "hawx/framework/io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "hawx/sdk/error.hpp"

namespace fs = std::filesystem;

namespace hawx {

void write_file_atomic(const std::string& path, const std::string& content) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(path + ": cannot write: " + std::strerror(errno));
    std::size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            const std::string why = std::strerror(errno);
            ::close(fd);
            ::unlink(tmp.c_str());
            throw Error(path + ": write failed: " + why);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        throw Error(path + ": write failed: " + why);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        throw Error(path + ": cannot move the written file into place: " + why);
    }
}

std::string create_run_dir(const std::string& base, const std::string& name) {
    std::error_code ec;
    fs::create_directories(base, ec);
    if (ec) throw Error(base + ": cannot create output folder: " + ec.message());
    for (int i = 1; i < 100000; ++i) {
        const fs::path candidate = fs::path(base) / (i == 1 ? name : name + "-" + std::to_string(i));
        if (fs::create_directory(candidate, ec)) return candidate.string();
        if (ec) throw Error(candidate.string() + ": cannot create run folder: " + ec.message());
    }
    throw Error(base + ": no free run folder name for '" + name + "'");
}

}  // namespace hawx
