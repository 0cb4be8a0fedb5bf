#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "cc/storage/records.hpp"

namespace cc::storage {

/// @brief How many records a page of a listing holds: the query's limit, at least one.
inline int page_size(int limit) { return std::max(limit, 1); }

/// @brief Collects a newest-first page from rows fetched with LIMIT page size + 1: the
/// extra row is not returned, it only says that a next page exists, whose cursor is the
/// last record's `cursor`. `step()` moves to the next row (false when none is left) and
/// `read()` reads the current one.
template <typename Record, typename Step, typename Read>
page<Record> collect_page(int size, std::int64_t Record::*cursor, Step step, Read read) {
    page<Record> out;
    while (step()) {
        if (out.items.size() == static_cast<std::size_t>(size)) {
            out.next = out.items.back().*cursor;
            break;
        }
        out.items.push_back(read());
    }
    return out;
}

}  // namespace cc::storage
