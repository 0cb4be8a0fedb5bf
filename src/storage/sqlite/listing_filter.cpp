#include "cc/storage/sqlite/listing_filter.hpp"

namespace cc::storage::sqlite {

void listing_filter::add(std::string_view column, std::string_view op) {
    where_ += where_.empty() ? " WHERE " : " AND ";
    where_.append(column).append(" ").append(op).append(" ?");
}

listing_filter& listing_filter::equals(std::string_view column, const std::optional<std::string>& value) {
    if (value) {
        add(column, "=");
        values_.emplace_back(*value);
    }
    return *this;
}

listing_filter& listing_filter::compare(std::string_view column, std::string_view op,
                                        const std::optional<std::int64_t>& value) {
    if (value) {
        add(column, op);
        values_.emplace_back(*value);
    }
    return *this;
}

int listing_filter::bind(statement& s) const {
    int index = 1;
    for (const auto& v : values_) {
        if (const auto* text = std::get_if<std::string>(&v)) {
            s.bind(index, std::string_view(*text));
        } else {
            s.bind(index, std::get<std::int64_t>(v));
        }
        ++index;
    }
    return index;
}

}  // namespace cc::storage::sqlite
