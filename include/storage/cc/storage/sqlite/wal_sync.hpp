#pragma once
#include <mutex>
#include <string>

namespace cc::storage::sqlite {

/// @brief Makes the write-ahead log durable from outside SQLite: one fdatasync of the
/// WAL file covers every commit written to it before the call.
///
/// The event writer's connection commits without syncing (synchronous=NORMAL, which
/// keeps the database consistent but may lose the newest commits to a power cut); this
/// sync then runs on another thread while the writer goes on to its next transaction,
/// and no event is acknowledged before the sync that covers it has returned. SQLite
/// syncs the log itself before each checkpoint copies from it.
class wal_sync {
public:
    /// @param wal_path the database's WAL file (sqlite3_filename_wal), which SQLite keeps
    ///                 while any of this process's connections is open
    explicit wal_sync(std::string wal_path);
    ~wal_sync();
    wal_sync(const wal_sync&) = delete;
    wal_sync& operator=(const wal_sync&) = delete;

    /// @brief Flushes the log to disk (and, the first time, the directory entry that
    /// names it). Throws storage_error when the system reports a failure.
    void sync();

private:
    std::mutex mutex_;
    const std::string path_;
    int fd_ = -1;
};

}  // namespace cc::storage::sqlite
