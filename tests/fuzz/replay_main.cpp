// Runs a fuzz target over committed inputs without libFuzzer, so the corpus replays in any
// build (gcc, sanitizers, valgrind). Arguments are files or directories of files.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static bool run_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return true;
}

int main(int argc, char** argv) {
  size_t ran = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    struct stat st;
    if (stat(arg.c_str(), &st) != 0) {
      std::fprintf(stderr, "no such input: %s\n", arg.c_str());
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (!run_file(arg)) return 1;
      ++ran;
      continue;
    }
    std::vector<std::string> names;
    if (DIR* d = opendir(arg.c_str())) {
      while (dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') names.push_back(arg + "/" + e->d_name);
      }
      closedir(d);
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      if (!run_file(n)) return 1;
      ++ran;
    }
  }
  if (ran == 0) {
    std::fprintf(stderr, "no inputs replayed: a corpus replay that runs nothing proves nothing\n");
    return 1;
  }
  std::printf("replayed %zu inputs\n", ran);
  return 0;
}
