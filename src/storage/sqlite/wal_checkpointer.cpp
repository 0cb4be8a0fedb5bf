#include "cc/storage/sqlite/wal_checkpointer.hpp"

#include <sqlite3.h>

#include <chrono>

#include "cc/ops/logger.hpp"
#include "cc/storage/storage_error.hpp"

namespace cc::storage::sqlite {

wal_checkpointer::wal_checkpointer(const connection_options& options,
                                   std::function<std::unique_lock<std::mutex>()> pause_writer, limits bounds)
    : limits_(bounds), pause_writer_(std::move(pause_writer)), db_(std::make_unique<database>(options)) {
    thread_ = std::thread([this] { run(); });
}

wal_checkpointer::~wal_checkpointer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void wal_checkpointer::watch(database& writer) {
    sqlite3_wal_hook(writer.handle(), &wal_checkpointer::on_commit, this);
}

int wal_checkpointer::on_commit(void* self, sqlite3*, const char*, int frames) {
    // Called by the writer after each commit: wake the thread only when the log is long
    // and no round is pending already, so most commits cost no system call here.
    auto& me = *static_cast<wal_checkpointer*>(self);
    if (frames < me.limits_.trigger_frames) return SQLITE_OK;
    {
        std::lock_guard lock(me.mutex_);
        if (me.pending_) return SQLITE_OK;
        me.pending_ = true;
    }
    me.wake_.notify_one();
    return SQLITE_OK;
}

void wal_checkpointer::request() {
    {
        std::lock_guard lock(mutex_);
        pending_ = true;
    }
    wake_.notify_one();
}

void wal_checkpointer::run() {
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || pending_; });
            if (stopping_) return;
            pending_ = false;
        }
        bool caught_up = false;
        try {
            caught_up = run_round();
        } catch (const storage_error& e) {
            ops::log(spdlog::level::err, "checkpoint failed", {{"error", e.what()}, {"sqlite_code", e.code()}});
        }
        // A round that copied nothing new (a long reader such as a backup holds an old
        // snapshot) is not retried at every commit; one the writer merely outran is.
        if (!caught_up && !progressed_) {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, limits_.retry_interval, [this] { return stopping_; });
        }
    }
}

bool wal_checkpointer::pass(int& log_frames, int& copied) {
    const int rc = sqlite3_wal_checkpoint_v2(db_->handle(), "main", SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied);
    if (rc == SQLITE_BUSY) return false;  // another checkpoint is running (a closing connection's)
    if (rc != SQLITE_OK) throw_sqlite_error(db_->handle(), rc, "checkpoint");
    return true;
}

bool wal_checkpointer::run_round() {
    std::lock_guard round(db_mutex_);
    // A pass copies the frames committed before it began (it reports that length and what
    // it copied); frames committed during a pass are left for the next one, which is
    // shorter. The log is wholly copied once a pass copies all it saw and the next one
    // sees no more (a pass with nothing to copy costs no fsync); the writer's next
    // transaction then restarts the log from its beginning.
    int log_frames = 0;
    int copied = 0;
    int previous = -1;
    int first_copied = -1;
    progressed_ = false;
    for (int i = 0; i < limits_.passes_per_round; ++i) {
        if (!pass(log_frames, copied)) continue;
        if (first_copied < 0) first_copied = copied;
        progressed_ = progressed_ || copied > first_copied || log_frames < previous;
        if (copied == log_frames && (log_frames == previous || log_frames == 0)) return true;
        if (log_frames < previous) return true;  // the writer restarted the log meanwhile
        previous = log_frames;
    }
    if (log_frames < limits_.max_frames || std::chrono::steady_clock::now() < next_pause_) return false;
    // The writer commits so often that no pass fits between two commits: pause it for one
    // pass over the few frames the last unpaused pass left, so the log cannot grow for ever.
    const auto started = std::chrono::steady_clock::now();
    bool done = false;
    {
        const auto paused = pause_writer_();
        done = pass(log_frames, copied) && copied == log_frames;
    }
    // Not even a paused pass copies everything while a reader (a backup) holds an old
    // snapshot: do not pause the writer again for nothing until the pause interval is over.
    if (!done) next_pause_ = std::chrono::steady_clock::now() + limits_.pause_interval;
    ops::log(spdlog::level::info, "checkpoint paused the event writer",
             {{"wal_frames", log_frames},
              {"paused_ms", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count()}});
    return done;
}

}  // namespace cc::storage::sqlite
