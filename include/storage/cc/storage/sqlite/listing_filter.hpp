#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cc/storage/sqlite/statement.hpp"

namespace cc::storage::sqlite {

/// @brief The WHERE clause of a listing, holding only the filters a query has.
///
/// A clause such as `(? IS NULL OR domain = ?)` serves every query with one statement,
/// but SQLite plans it before the values are bound, so it can use no index and every
/// listing scans the whole table. Each combination of filters gets its own statement
/// instead (at most a few dozen, each prepared once); the values are still bound.
class listing_filter {
public:
    /// @brief `column = value`, when the value is present.
    listing_filter& equals(std::string_view column, const std::optional<std::string>& value);

    /// @brief `column op value` (op is one of <, <=, >, >=), when the value is present.
    listing_filter& compare(std::string_view column, std::string_view op, const std::optional<std::int64_t>& value);

    /// @brief " WHERE a = ? AND b < ?", or "" when no filter is present.
    const std::string& where() const noexcept { return where_; }

    /// @brief Binds the present values to ?1, ?2, ...; returns the next free index.
    int bind(statement& s) const;

private:
    void add(std::string_view column, std::string_view op);

    std::string where_;
    std::vector<std::variant<std::string, std::int64_t>> values_;
};

}  // namespace cc::storage::sqlite
