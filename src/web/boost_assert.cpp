// Boost's assertion handler (BOOST_ENABLE_ASSERT_DEBUG_HANDLER, set project-wide): in
// builds without NDEBUG a failed BOOST_ASSERT comes here instead of assert().
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
    // Beast 1.74's chunk parser asserts `n >= 5` where a final chunk split as "0\r\n",
    // "\r", "\n" legally leaves 3 or 4 bytes; the code after the assert asks for more
    // data correctly (the assert was corrected upstream in Beast PR #2861). Without this,
    // a client could abort a debug build with three TCP segments.
    if (std::string_view(expr) == "n >= 5" && std::string_view(file).ends_with("basic_parser.ipp")) return;
    std::fprintf(stderr, "assertion failed: %s in %s (%s:%ld)\n", expr, function, file, line);
    std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file, long line) {
    std::fprintf(stderr, "assertion failed: %s (%s) in %s (%s:%ld)\n", expr, msg, function, file, line);
    std::abort();
}

}  // namespace boost
