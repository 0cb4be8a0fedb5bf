#include "cc/intake/event_writer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "cc/storage/sqlite/sqlite_storage.hpp"
#include "cc/storage/storage_error.hpp"

#include "support/database.hpp"
#include "support/temp_dir.hpp"

using namespace cc;
using intake::event_writer;
using intake::write_request;
using storage::insert_outcome;
namespace fs = std::filesystem;

namespace {

using cc::testing::temp_dir;

using cc::testing::options_for;

events::event make_event(const std::string& id) {
    events::event e;
    e.event_id = id;
    e.name = "purchase";
    e.external_id = "crm-" + id;
    e.occurred_at = 1'700'000'000'000;
    e.raw = R"({"event":"purchase","event_id":")" + id + R"("})";
    return e;
}

write_request make_request(const std::vector<std::string>& ids, const std::string& domain = "example.com") {
    write_request r;
    r.domain = domain;
    r.key_id = "key_test";
    r.received_at = 1'700'000'000'500;
    for (const auto& id : ids) r.events.push_back(make_event(id));
    return r;
}

using outcomes = std::optional<std::vector<insert_outcome>>;

/// A store with nothing but failing event inserts.
class failing_store final : public storage::store {
public:
    std::unique_ptr<storage::admin_transaction> begin_admin(bool) override { throw fail(); }
    std::vector<storage::domain_record> load_domains() override { return {}; }
    std::vector<storage::key_record> load_keys() override { return {}; }
    std::int64_t registry_version() override { return 0; }
    std::vector<insert_outcome> insert_events(std::span<const storage::event_insert> events) override {
        calls += 1;
        events_seen += events.size();
        throw fail();
    }
    storage::page<storage::event_record> list_events(const storage::listing_query&) override { return {}; }
    storage::page<storage::audit_record> list_audit(const storage::listing_query&) override { return {}; }
    std::int64_t purge_events(util::millis, int) override { return 0; }
    void save_last_used(std::span<const storage::last_used_update>) override {}
    void check() override { throw fail(); }
    void checkpoint() override {}
    void backup(const std::string&) override { throw fail(); }

    std::atomic<int> calls{0};
    std::atomic<std::size_t> events_seen{0};

private:
    static storage::storage_error fail() { return storage::storage_error("disk I/O error", 10); }
};

/// Delegates to a real store, but holds every insert until the gate is opened, and
/// reports when an insert has started: lets a test fill the queue deterministically.
/// Forwards every call to a real store; the test stores below override what they watch.
class delegating_store : public storage::store {
public:
    explicit delegating_store(storage::store& inner) : inner_(inner) {}

    std::unique_ptr<storage::admin_transaction> begin_admin(bool write) override { return inner_.begin_admin(write); }
    std::vector<storage::domain_record> load_domains() override { return inner_.load_domains(); }
    std::vector<storage::key_record> load_keys() override { return inner_.load_keys(); }
    std::int64_t registry_version() override { return inner_.registry_version(); }
    bool defers_event_sync() const override { return inner_.defers_event_sync(); }
    void sync_events() override { inner_.sync_events(); }
    std::vector<insert_outcome> insert_events(std::span<const storage::event_insert> events) override {
        return inner_.insert_events(events);
    }
    storage::page<storage::event_record> list_events(const storage::listing_query& q) override { return inner_.list_events(q); }
    storage::page<storage::audit_record> list_audit(const storage::listing_query& q) override { return inner_.list_audit(q); }
    std::int64_t purge_events(util::millis before, int limit) override { return inner_.purge_events(before, limit); }
    void save_last_used(std::span<const storage::last_used_update> u) override { inner_.save_last_used(u); }
    void check() override { inner_.check(); }
    void checkpoint() override { inner_.checkpoint(); }
    void backup(const std::string& path) override { inner_.backup(path); }

protected:
    storage::store& inner_;
};

class gated_store final : public delegating_store {
public:
    using delegating_store::delegating_store;

    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }
    /// Waits until `n` inserts have started.
    void wait_for_inserts(int n) {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return started_ >= n; });
    }
    int inserts() {
        std::lock_guard lock(mutex_);
        return started_;
    }
    std::vector<std::size_t> group_sizes() {
        std::lock_guard lock(mutex_);
        return sizes_;
    }

    std::vector<insert_outcome> insert_events(std::span<const storage::event_insert> events) override {
        {
            std::unique_lock lock(mutex_);
            ++started_;
            sizes_.push_back(events.size());
            cv_.notify_all();
            cv_.wait(lock, [&] { return open_; });
        }
        return inner_.insert_events(events);
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
    int started_ = 0;
    std::vector<std::size_t> sizes_;
};

/// Delegates to a real store but defers the sync of its commits, and holds every
/// sync_events() until the test releases it (or makes it fail): shows what the writer
/// acknowledges before and after its events are durable.
class sync_gated_store final : public delegating_store {
public:
    using delegating_store::delegating_store;

    /// Lets `n` more syncs return (each one fails when `fail` is set).
    void release(int n, bool fail = false) {
        {
            std::lock_guard lock(mutex_);
            allowed_ += n;
            fail_ = fail;
        }
        cv_.notify_all();
    }
    /// Waits until `n` syncs have started.
    bool wait_for_syncs(int n) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return started_ >= n; });
    }
    /// Waits until `n` inserts have returned.
    bool wait_for_commits(int n) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return commits_ >= n; });
    }

    bool defers_event_sync() const override { return true; }
    void sync_events() override {
        std::unique_lock lock(mutex_);
        ++started_;
        cv_.notify_all();
        cv_.wait(lock, [&] { return allowed_ > 0; });
        --allowed_;
        if (fail_) throw storage::storage_error("cannot sync the write-ahead log: Input/output error", 10);
    }
    std::vector<insert_outcome> insert_events(std::span<const storage::event_insert> events) override {
        auto result = inner_.insert_events(events);
        {
            std::lock_guard lock(mutex_);
            ++commits_;
        }
        cv_.notify_all();
        return result;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int allowed_ = 0;
    int started_ = 0;
    int commits_ = 0;
    bool fail_ = false;
};

/// Lets every held sync return when the scope ends, so a failed assertion never leaves
/// the writer's destructor waiting. Declare it after the writer.
struct sync_releaser {
    sync_gated_store& store;
    ~sync_releaser() { store.release(1'000'000); }
};

/// Opens the gate when the scope ends, so a failed assertion never leaves the writer's
/// destructor waiting on a closed gate. Declare it after the writer.
struct gate_opener {
    gated_store& gate;
    ~gate_opener() { gate.open(); }
};

/// Collects completions and lets the test wait for them (no sleeping).
class completions {
public:
    intake::write_completion make(std::size_t slot) {
        return [this, slot](outcomes result) {
            {
                std::lock_guard lock(mutex_);
                if (results_.size() <= slot) results_.resize(slot + 1);
                results_[slot] = std::move(result);
                ++calls_;
            }
            cv_.notify_all();
        };
    }
    /// Waits (bounded, to fail rather than hang) until `n` completions arrived.
    bool wait_for(std::size_t n) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return calls_ >= n; });
    }
    std::size_t calls() {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    outcomes result(std::size_t slot) {
        std::lock_guard lock(mutex_);
        return slot < results_.size() ? results_[slot] : std::nullopt;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<outcomes> results_;
    std::size_t calls_ = 0;
};

std::size_t stored_events(storage::store& store, const std::optional<std::string>& domain = std::nullopt) {
    storage::listing_query q;
    q.domain = domain;
    q.limit = 100'000;
    return store.list_events(q).items.size();
}

class EventWriterTest : public ::testing::Test {
protected:
    EventWriterTest() : store_(options_for(dir_.file("events.db"))) {}
    temp_dir dir_;
    storage::sqlite::sqlite_storage store_;
    completions done;  ///< outlives every writer of a test, so no completion hits a dead object
};

}  // namespace

TEST_F(EventWriterTest, StoresEventsAndCompletesWithOneOutcomePerEvent) {
    event_writer writer(store_, 100, 1000);
    ASSERT_TRUE(writer.submit(make_request({"e1", "e2", "e1"}), done.make(0)));
    ASSERT_TRUE(done.wait_for(1));
    const auto first = done.result(0);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(*first, (std::vector<insert_outcome>{insert_outcome::inserted, insert_outcome::inserted,
                                                   insert_outcome::duplicate}));
    EXPECT_EQ(stored_events(store_), 2u);

    // A later request repeating an id gets `duplicate` for it.
    ASSERT_TRUE(writer.submit(make_request({"e3", "e2"}), done.make(1)));
    ASSERT_TRUE(done.wait_for(2));
    EXPECT_EQ(*done.result(1), (std::vector<insert_outcome>{insert_outcome::inserted, insert_outcome::duplicate}));
    EXPECT_EQ(stored_events(store_), 3u);
    EXPECT_EQ(writer.queued_events(), 0u);
}

TEST_F(EventWriterTest, CompletionIsCalledOnlyAfterCommit) {
    // When the completion runs, the event must already be readable from storage.
    event_writer writer(store_, 100, 1000);
    std::promise<std::size_t> seen;
    ASSERT_TRUE(writer.submit(make_request({"x1"}), [&](outcomes r) {
        EXPECT_TRUE(r.has_value());
        seen.set_value(stored_events(store_));
    }));
    auto f = seen.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready);
    EXPECT_EQ(f.get(), 1u);
}

TEST_F(EventWriterTest, ManyConcurrentSubmitsAreAllCompletedAndStored) {
    constexpr int threads = 8;
    constexpr int per_thread = 50;
    event_writer writer(store_, 64, 100'000);
    std::atomic<int> refused{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                const auto slot = static_cast<std::size_t>(t * per_thread + i);
                const auto base = "t" + std::to_string(t) + "-" + std::to_string(i);
                if (!writer.submit(make_request({base + "a", base + "b"}), done.make(slot))) ++refused;
            }
        });
    }
    for (auto& th : pool) th.join();
    EXPECT_EQ(refused.load(), 0);
    ASSERT_TRUE(done.wait_for(threads * per_thread));
    writer.stop();
    EXPECT_EQ(done.calls(), static_cast<std::size_t>(threads * per_thread));
    for (std::size_t slot = 0; slot < threads * per_thread; ++slot) {
        const auto r = done.result(slot);
        ASSERT_TRUE(r.has_value()) << slot;
        EXPECT_EQ(*r, (std::vector<insert_outcome>{insert_outcome::inserted, insert_outcome::inserted})) << slot;
    }
    EXPECT_EQ(stored_events(store_), static_cast<std::size_t>(2 * threads * per_thread));
    EXPECT_EQ(writer.queued_events(), 0u);
}

TEST_F(EventWriterTest, RequestLargerThanQueueIsRefused) {
    event_writer writer(store_, 100, 4);
    bool called = false;
    EXPECT_FALSE(writer.submit(make_request({"a", "b", "c", "d", "e"}), [&](outcomes) { called = true; }));
    writer.stop();
    EXPECT_FALSE(called);
    EXPECT_EQ(stored_events(store_), 0u);
}

TEST_F(EventWriterTest, SubmitBeyondQueueCapacityIsRefused) {
    gated_store gate(store_);
    event_writer writer(gate, 100, 4);
    gate_opener opener{gate};
    bool refused_called = false;

    ASSERT_TRUE(writer.submit(make_request({"a", "b", "c"}), done.make(0)));
    gate.wait_for_inserts(1);  // the writer holds those 3 events in a commit that cannot finish
    EXPECT_EQ(writer.queued_events(), 3u);
    EXPECT_FALSE(writer.submit(make_request({"d", "e"}), [&](outcomes) { refused_called = true; }));
    EXPECT_TRUE(writer.submit(make_request({"f"}), done.make(1)));  // exactly fills the queue
    EXPECT_EQ(writer.queued_events(), 4u);
    EXPECT_FALSE(writer.submit(make_request({"g"}), [&](outcomes) { refused_called = true; }));

    gate.open();
    ASSERT_TRUE(done.wait_for(2));
    writer.stop();
    EXPECT_FALSE(refused_called);
    EXPECT_EQ(stored_events(store_), 4u);
    EXPECT_EQ(writer.queued_events(), 0u);
    // Room again once committed.
    EXPECT_EQ(done.calls(), 2u);
}

TEST_F(EventWriterTest, SubmitBeyondQueueBytesIsRefused) {
    gated_store gate(store_);
    // Room for any number of events, but only about three events' worth of bytes.
    auto big = [](const std::string& id) {
        auto r = make_request({id});
        r.events[0].raw = std::string(10'000, 'x');
        return r;
    };
    const auto one = event_writer::approximate_bytes(big("x").events[0]);
    ASSERT_GT(one, 10'000u);
    event_writer writer(gate, 100, 1'000'000, 3 * one);
    gate_opener opener{gate};
    bool refused_called = false;

    ASSERT_TRUE(writer.submit(big("a"), done.make(0)));
    gate.wait_for_inserts(1);  // held in a commit that cannot finish
    ASSERT_TRUE(writer.submit(big("b"), done.make(1)));
    ASSERT_TRUE(writer.submit(big("c"), done.make(2)));  // exactly fills the bytes
    EXPECT_EQ(writer.queued_bytes(), 3 * one);
    EXPECT_FALSE(writer.submit(big("d"), [&](outcomes) { refused_called = true; }));
    // A small event still fits under the event count, not under the bytes.
    EXPECT_FALSE(writer.submit(make_request({"e"}), [&](outcomes) { refused_called = true; }));

    gate.open();
    ASSERT_TRUE(done.wait_for(3));
    EXPECT_EQ(writer.queued_bytes(), 0u);
    EXPECT_TRUE(writer.submit(big("f"), done.make(3)));  // room again once committed
    writer.stop();
    EXPECT_FALSE(refused_called);
    EXPECT_EQ(stored_events(store_), 4u);
}

TEST_F(EventWriterTest, QueueHasRoomAgainAfterCommit) {
    gated_store gate(store_);
    event_writer writer(gate, 100, 2);
    gate_opener opener{gate};
    ASSERT_TRUE(writer.submit(make_request({"a", "b"}), done.make(0)));
    gate.wait_for_inserts(1);
    EXPECT_FALSE(writer.submit(make_request({"c"}), [](outcomes) {}));
    gate.open();
    ASSERT_TRUE(done.wait_for(1));
    EXPECT_TRUE(writer.submit(make_request({"c"}), done.make(1)));
    ASSERT_TRUE(done.wait_for(2));
    EXPECT_EQ(stored_events(store_), 3u);
}

TEST_F(EventWriterTest, QueuedRequestsAreCommittedTogether) {
    gated_store gate(store_);
    event_writer writer(gate, 100, 1000);
    gate_opener opener{gate};
    ASSERT_TRUE(writer.submit(make_request({"a"}), done.make(0)));
    gate.wait_for_inserts(1);
    ASSERT_TRUE(writer.submit(make_request({"b", "c"}), done.make(1)));
    ASSERT_TRUE(writer.submit(make_request({"d"}), done.make(2)));
    ASSERT_TRUE(writer.submit(make_request({"e"}), done.make(3)));
    gate.open();
    ASSERT_TRUE(done.wait_for(4));
    writer.stop();
    // One commit for the first request, one group commit for the three queued behind it.
    EXPECT_EQ(gate.group_sizes(), (std::vector<std::size_t>{1, 4}));
    EXPECT_EQ(*done.result(1), (std::vector<insert_outcome>{insert_outcome::inserted, insert_outcome::inserted}));
    EXPECT_EQ(*done.result(3), (std::vector<insert_outcome>{insert_outcome::inserted}));
    EXPECT_EQ(stored_events(store_), 5u);
}

TEST_F(EventWriterTest, GroupCommitRespectsMaxBatchButNeverSplitsARequest) {
    gated_store gate(store_);
    event_writer writer(gate, 3, 1000);
    gate_opener opener{gate};
    ASSERT_TRUE(writer.submit(make_request({"a"}), done.make(0)));
    gate.wait_for_inserts(1);
    ASSERT_TRUE(writer.submit(make_request({"b", "c"}), done.make(1)));
    ASSERT_TRUE(writer.submit(make_request({"d", "e"}), done.make(2)));
    ASSERT_TRUE(writer.submit(make_request({"f", "g", "h", "i", "j"}), done.make(3)));  // alone over the cap
    gate.open();
    ASSERT_TRUE(done.wait_for(4));
    writer.stop();
    EXPECT_EQ(gate.group_sizes(), (std::vector<std::size_t>{1, 2, 2, 5}));
    EXPECT_EQ(done.result(3)->size(), 5u);
    EXPECT_EQ(stored_events(store_), 10u);
}

TEST_F(EventWriterTest, StopCommitsWhatWasQueuedBeforeReturning) {
    gated_store gate(store_);
    event_writer writer(gate, 100, 1000);
    gate_opener opener{gate};
    ASSERT_TRUE(writer.submit(make_request({"a"}), done.make(0)));
    gate.wait_for_inserts(1);
    ASSERT_TRUE(writer.submit(make_request({"b"}), done.make(1)));
    ASSERT_TRUE(writer.submit(make_request({"c", "d"}), done.make(2)));

    std::thread stopper([&] { writer.stop(); });
    // Once submit is refused, stop() has begun; only then let the commits through.
    // (Probe requests carry no events; they are accepted until the writer is stopping.)
    std::atomic<std::size_t> probes{0};
    while (writer.submit(write_request{}, [&](outcomes) { ++probes; })) {
        std::this_thread::yield();
    }
    gate.open();
    stopper.join();

    // stop() has returned: everything queued before it is committed and completed.
    EXPECT_GE(done.calls(), 3u);
    for (std::size_t slot = 0; slot < 3; ++slot) EXPECT_TRUE(done.result(slot).has_value()) << slot;
    EXPECT_EQ(stored_events(store_), 4u);
    EXPECT_EQ(writer.queued_events(), 0u);
    EXPECT_FALSE(writer.submit(make_request({"late"}), [](outcomes) {}));
}

TEST_F(EventWriterTest, SubmitAfterStopIsRefused) {
    event_writer writer(store_, 100, 1000);
    writer.stop();
    bool called = false;
    EXPECT_FALSE(writer.submit(make_request({"a"}), [&](outcomes) { called = true; }));
    writer.stop();  // idempotent
    EXPECT_FALSE(called);
    EXPECT_EQ(stored_events(store_), 0u);
}

TEST(EventWriter, StorageFailureCompletesWithNullopt) {
    failing_store store;
    completions done;
    {
        event_writer writer(store, 100, 1000);
        ASSERT_TRUE(writer.submit(make_request({"a", "b"}), done.make(0)));
        ASSERT_TRUE(done.wait_for(1));
        ASSERT_TRUE(writer.submit(make_request({"c"}), done.make(1)));
        ASSERT_TRUE(done.wait_for(2));
        EXPECT_EQ(writer.queued_events(), 0u);  // failed events are not left counted
        // The writer keeps serving after a failure.
        ASSERT_TRUE(writer.submit(make_request({"d"}), done.make(2)));
        writer.stop();
    }
    EXPECT_EQ(done.calls(), 3u);
    for (std::size_t slot = 0; slot < 3; ++slot) EXPECT_FALSE(done.result(slot).has_value()) << slot;
    EXPECT_GE(store.calls.load(), 2);
    EXPECT_EQ(store.events_seen.load(), 4u);
}

TEST_F(EventWriterTest, DeferredSyncAcknowledgesOnlyAfterTheSyncReturns) {
    sync_gated_store store(store_);
    event_writer writer(store, 100, 1000);
    sync_releaser releaser{store};
    ASSERT_TRUE(writer.submit(make_request({"d1"}), done.make(0)));
    ASSERT_TRUE(store.wait_for_syncs(1));
    // Committed (readable) but not yet durable: nothing is acknowledged.
    EXPECT_EQ(stored_events(store_), 1u);
    EXPECT_EQ(done.calls(), 0u);
    store.release(1);
    ASSERT_TRUE(done.wait_for(1));
    EXPECT_EQ(*done.result(0), (std::vector<insert_outcome>{insert_outcome::inserted}));
}

TEST_F(EventWriterTest, GroupsCommittedDuringASyncAreAcknowledgedByTheNextOne) {
    sync_gated_store store(store_);
    event_writer writer(store, 100, 1000);
    sync_releaser releaser{store};
    ASSERT_TRUE(writer.submit(make_request({"a1"}), done.make(0)));
    ASSERT_TRUE(store.wait_for_syncs(1));
    // The writer does not wait for the sync: later requests are committed meanwhile.
    ASSERT_TRUE(writer.submit(make_request({"b1"}), done.make(1)));
    ASSERT_TRUE(store.wait_for_commits(2));
    ASSERT_TRUE(writer.submit(make_request({"c1", "a1"}), done.make(2)));
    ASSERT_TRUE(store.wait_for_commits(3));
    EXPECT_EQ(done.calls(), 0u);
    // The first sync covers the first group only; what was committed after it began
    // waits for a later one (the last group may be handed over just after the second
    // sync began, so allow two).
    store.release(1);
    ASSERT_TRUE(done.wait_for(1));
    ASSERT_TRUE(store.wait_for_syncs(2));
    EXPECT_EQ(done.calls(), 1u);
    store.release(2);
    ASSERT_TRUE(done.wait_for(3));
    EXPECT_EQ(*done.result(1), (std::vector<insert_outcome>{insert_outcome::inserted}));
    EXPECT_EQ(*done.result(2), (std::vector<insert_outcome>{insert_outcome::inserted, insert_outcome::duplicate}));
}

TEST_F(EventWriterTest, AFailedSyncAnswersItsGroupsAsFailed) {
    sync_gated_store store(store_);
    event_writer writer(store, 100, 1000);
    sync_releaser releaser{store};
    ASSERT_TRUE(writer.submit(make_request({"f1"}), done.make(0)));
    ASSERT_TRUE(store.wait_for_syncs(1));
    store.release(1, true);
    ASSERT_TRUE(done.wait_for(1));
    EXPECT_FALSE(done.result(0).has_value());  // the caller answers 503; a retry is a duplicate
}

TEST_F(EventWriterTest, StopWaitsForTheSyncOfEveryCommittedGroup) {
    sync_gated_store store(store_);
    std::optional<event_writer> writer(std::in_place, store, 100, 1000);
    ASSERT_TRUE(writer->submit(make_request({"s1"}), done.make(0)));
    ASSERT_TRUE(store.wait_for_syncs(1));
    std::thread releasing([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        store.release(1'000'000);
    });
    writer.reset();  // returns only once the group is durable and acknowledged
    EXPECT_EQ(done.calls(), 1u);
    EXPECT_TRUE(done.result(0).has_value());
    releasing.join();
}

TEST(SqliteEventSync, FullSynchronousDefersTheSyncAndNormalDoesNot) {
    temp_dir dir;
    auto full = options_for(dir.file("full.db"));
    full.synchronous = "full";
    storage::sqlite::sqlite_storage durable(full);
    EXPECT_TRUE(durable.defers_event_sync());
    const auto e = make_event("sync-1");
    const storage::event_insert insert{"example.com", "key_test", 1, &e};
    ASSERT_EQ(durable.insert_events(std::span(&insert, 1)).size(), 1u);
    EXPECT_NO_THROW(durable.sync_events());

    auto normal = options_for(dir.file("normal.db"));
    normal.synchronous = "normal";
    storage::sqlite::sqlite_storage relaxed(normal);
    EXPECT_FALSE(relaxed.defers_event_sync());
}
