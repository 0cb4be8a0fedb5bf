#include "cc/storage/sqlite/wal_checkpointer.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "support/temp_dir.hpp"

using namespace cc::storage::sqlite;
namespace fs = std::filesystem;

namespace {

/// A writer connection with one table; `commit()` writes one row per transaction.
struct writer_db {
    explicit writer_db(const std::string& path) : db({path, 5000, "normal", false}) {
        db.exec("PRAGMA wal_autocheckpoint = 0");
        db.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)");
    }
    void commit() {
        std::lock_guard lock(mutex);
        db.exec("INSERT INTO t (payload) VALUES (hex(randomblob(500)))");
    }
    /// Frames in the log now (a passive checkpoint of nothing new reports them).
    int log_frames() {
        std::lock_guard lock(mutex);
        int log = 0;
        int copied = 0;
        sqlite3_wal_checkpoint_v2(db.handle(), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
        return log;
    }
    database db;
    std::mutex mutex;
};

TEST(WalCheckpointer, KeepsTheLogBoundedUnderContinuousCommits) {
    cc::testing::temp_dir dir;
    const auto path = dir.file("events.db");
    writer_db writer(path);
    std::atomic<int> pauses{0};
    wal_checkpointer::limits bounds;
    bounds.trigger_frames = 64;
    bounds.max_frames = 256;
    bounds.passes_per_round = 4;
    bounds.retry_interval = std::chrono::milliseconds(1);
    wal_checkpointer checkpointer({path, 5000, "normal", false},
                                  [&] {
                                      ++pauses;
                                      return std::unique_lock(writer.mutex);
                                  },
                                  bounds);
    checkpointer.watch(writer.db);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    int commits = 0;
    while (std::chrono::steady_clock::now() < until) {
        writer.commit();
        ++commits;
        std::this_thread::sleep_for(std::chrono::microseconds(100));  // as a commit's fsync would
    }
    sqlite3_wal_hook(writer.db.handle(), nullptr, nullptr);
    // Without restarts the log would hold one frame or more per commit.
    ASSERT_GT(commits, 2'000);
    EXPECT_LT(fs::file_size(path + "-wal"), 2'048u * 4'136u) << commits << " commits, " << pauses << " pauses";
}

TEST(WalCheckpointer, PausesTheWriterOnlyPastTheBound) {
    cc::testing::temp_dir dir;
    const auto path = dir.file("events.db");
    writer_db writer(path);
    writer.commit();
    // A reader's open snapshot keeps later frames from being copied, as a writer that
    // commits during every pass would.
    database reader({path, 5000, "normal", false});
    reader.exec("BEGIN");
    reader.exec("SELECT count(*) FROM t");
    for (int i = 0; i < 20; ++i) writer.commit();

    int pauses = 0;
    auto pause = [&] {
        ++pauses;
        return std::unique_lock(writer.mutex);
    };
    wal_checkpointer::limits unbounded;
    unbounded.max_frames = 1'000'000;
    wal_checkpointer below({path, 5000, "normal", false}, pause, unbounded);
    EXPECT_FALSE(below.run_round());
    EXPECT_EQ(pauses, 0);

    wal_checkpointer::limits bounded;
    bounded.max_frames = 10;
    wal_checkpointer above({path, 5000, "normal", false}, pause, bounded);
    above.run_round();
    EXPECT_EQ(pauses, 1);

    reader.exec("COMMIT");  // with the snapshot gone, a round copies everything
    EXPECT_TRUE(above.run_round());
    EXPECT_EQ(pauses, 1);
}

}  // namespace
