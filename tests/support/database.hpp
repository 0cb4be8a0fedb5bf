#pragma once
#include <string>

#include "cc/storage/sqlite/database.hpp"

namespace cc::testing {

/// @brief The options of a test's own SQLite database at `path`: synchronous=normal,
/// since a test database need not survive a power cut.
inline storage::sqlite::connection_options options_for(const std::string& path) {
    storage::sqlite::connection_options o;
    o.path = path;
    o.synchronous = "normal";
    return o;
}

}  // namespace cc::testing
