#pragma once
#include <stdexcept>
#include <string>

namespace cc::storage {

/// @brief The one exception the storage layer throws; carries the backend's error code.
class storage_error : public std::runtime_error {
public:
    storage_error(const std::string& what, int code) : std::runtime_error(what), code_(code) {}

    /// @brief The backend's result code: SQLite's extended code for the SQLite store; for
    /// PostgreSQL 1 (statement failed) or 2 (connection lost), the SQLSTATE in pg_error.
    int code() const noexcept { return code_; }

private:
    int code_;
};

}  // namespace cc::storage
