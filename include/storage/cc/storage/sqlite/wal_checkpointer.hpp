#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "cc/storage/sqlite/database.hpp"

namespace cc::storage::sqlite {

/// @brief Keeps the write-ahead log short without stopping event commits: passive
/// checkpoints on a connection and a thread of their own, repeated until the log is
/// wholly copied into the database, so that the writer's next transaction starts the
/// log again from its beginning (SQLite restarts it only then).
///
/// Only when passes never catch up (the log passes `max_frames`) is the writer paused,
/// for one pass over what the unpaused passes left (a few pages, not the whole log).
class wal_checkpointer {
public:
    struct limits {
        int trigger_frames = 4'096;   ///< a commit that leaves the log this long wakes the thread (16 MiB)
        int max_frames = 16'384;      ///< past this (64 MiB of 4 KiB pages) a pass pauses the writer
        int passes_per_round = 32;    ///< unpaused passes tried before the bound is considered
        std::chrono::milliseconds retry_interval{10};  ///< rest after a round that copied nothing
        std::chrono::milliseconds pause_interval{1'000};  ///< after a paused pass that did not either
    };

    /// @param pause_writer  holds the event writer between two of its transactions
    wal_checkpointer(const connection_options& options, std::function<std::unique_lock<std::mutex>()> pause_writer,
                     limits bounds);
    wal_checkpointer(const connection_options& options, std::function<std::unique_lock<std::mutex>()> pause_writer)
        : wal_checkpointer(options, std::move(pause_writer), limits{}) {}
    ~wal_checkpointer();
    wal_checkpointer(const wal_checkpointer&) = delete;
    wal_checkpointer& operator=(const wal_checkpointer&) = delete;

    /// @brief Installs the WAL hook on the writer's connection (which must outlive the hook or
    /// have it removed with sqlite3_wal_hook(db, nullptr, nullptr) first).
    void watch(database& writer);
    /// @brief Asks for a round soon (the periodic maintenance tick, for a log left idle).
    void request();
    /// @brief One round on the calling thread: returns true when the log ended wholly copied.
    bool run_round();

private:
    static int on_commit(void* self, sqlite3* db, const char* schema, int frames);
    void run();
    /// @brief One passive pass: the log's length when it began and what is copied now;
    /// false if another checkpoint was running.
    bool pass(int& log_frames, int& copied);

    const limits limits_;
    std::function<std::unique_lock<std::mutex>()> pause_writer_;
    std::mutex db_mutex_;  ///< serializes rounds (the thread's and run_round's callers')
    std::unique_ptr<database> db_;
    std::mutex mutex_;  ///< guards pending_, stopping_ (the connection is the thread's alone)
    std::condition_variable wake_;
    bool pending_ = false;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point next_pause_{};  ///< under db_mutex_
    bool progressed_ = false;  ///< the last round copied frames (under db_mutex_)
    std::thread thread_;
};

}  // namespace cc::storage::sqlite
