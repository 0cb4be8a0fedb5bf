// Replays fuzz inputs through a fuzz target's LLVMFuzzerTestOneInput without libFuzzer, so
// the seed corpora and every recorded finding (tests/fuzz/regressions/) run as ordinary
// ctest tests in every build, sanitizer builds included (tests/CMakeLists.txt).
//
//   replay_fuzz_api_key DIR_OR_FILE...
//
// Each argument is a file or a directory of files (not recursive). A target that finds a
// bug aborts (or a sanitizer stops the process), which fails the test. An argument that
// does not exist, or a run without a single input, fails too: a moved corpus must not
// turn the test into one that cannot fail.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<char> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void run_one(const std::filesystem::path& path) {
    const auto bytes = read_file(path);
    std::fprintf(stderr, "replay %s (%zu bytes)\n", path.c_str(), bytes.size());
    // A copy in a buffer of exactly its size, so AddressSanitizer sees reads past the end.
    std::vector<std::uint8_t> input(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(input.empty() ? nullptr : input.data(), input.size());
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t inputs = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg(argv[i]);
        std::error_code ec;
        if (std::filesystem::is_regular_file(arg, ec)) {
            run_one(arg);
            ++inputs;
        } else if (std::filesystem::is_directory(arg, ec)) {
            std::vector<std::filesystem::path> files;
            for (const auto& entry : std::filesystem::directory_iterator(arg)) {
                if (entry.is_regular_file() && entry.path().filename().string().front() != '.') {
                    files.push_back(entry.path());
                }
            }
            std::sort(files.begin(), files.end());
            for (const auto& file : files) run_one(file);
            inputs += files.size();
        } else {
            std::fprintf(stderr, "no such file or directory: %s\n", argv[i]);
            return 2;
        }
    }
    if (inputs == 0) {
        std::fprintf(stderr, "no inputs replayed\n");
        return 2;
    }
    std::fprintf(stderr, "%zu inputs replayed without a finding\n", inputs);
    return 0;
}
