#include "cc/events/currency.hpp"

#include <algorithm>
#include <array>

namespace cc::events {

namespace {

// ISO 4217 list one (active codes), sorted so it can be binary-searched, as of the 2025
// amendments: ZWG (2024) and XCG (2025) added, HRK (euro, 2023) and ZWL (replaced by ZWG)
// gone. Codes still in a published changeover (ANG -> XCG, SLL -> SLE, BGN -> EUR, CUC)
// are kept, so an event priced in them during the changeover is not refused. Funds and
// precious-metal codes are in; XTS (testing) and XXX (no currency) are deliberately out.
constexpr std::array<std::string_view, 179> codes = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD",
    "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP",
    "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU",
    "CRC", "CUC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB",
    "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD",
    "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY",
    "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
    "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD",
    "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB",
    "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD",
    "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD",
    "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES",
    "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG",
    "XDR", "XOF", "XPD", "XPF", "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
};

// Checked at compile time so an edit that breaks the order cannot silently break lookup.
static_assert(std::is_sorted(codes.begin(), codes.end()), "ISO 4217 table must stay sorted");

}  // namespace

bool is_iso4217(std::string_view upper_code) noexcept {
    return upper_code.size() == 3 && std::binary_search(codes.begin(), codes.end(), upper_code);
}

}  // namespace cc::events
