#include "cc/storage/sqlite/wal_sync.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "cc/storage/storage_error.hpp"

namespace cc::storage::sqlite {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw storage_error(what + " " + path + ": " + std::strerror(errno), SQLITE_IOERR_FSYNC);
}

}  // namespace

wal_sync::wal_sync(std::string wal_path) : path_(std::move(wal_path)) {}

wal_sync::~wal_sync() {
    if (fd_ >= 0) ::close(fd_);
}

void wal_sync::sync() {
    std::lock_guard lock(mutex_);
    if (fd_ < 0) {
        // Opened on first use: by then a commit has written the log, so it exists.
        const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail("cannot open the write-ahead log", path_);
        // The log's name must survive a power cut as well as its contents.
        auto dir = std::filesystem::path(path_).parent_path();
        if (dir.empty()) dir = ".";
        const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
            if (dir_fd >= 0) ::close(dir_fd);
            ::close(fd);
            fail("cannot sync the directory of", path_);
        }
        ::close(dir_fd);
        fd_ = fd;
    }
    if (::fdatasync(fd_) != 0) fail("cannot sync the write-ahead log", path_);
}

}  // namespace cc::storage::sqlite
