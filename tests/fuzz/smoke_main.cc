// A driver that runs a libFuzzer target without libFuzzer (any compiler), as `make test`
// does: the seed files given on the command line, then `iterations` inputs mutated from
// them (byte flips, inserts, deletions, splices, truncations) by a seeded generator, so a
// run is repeatable. `make fuzz` runs the same targets under libFuzzer for longer.
//
//   <target>_smoke ITERATIONS SEED_FILE...
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ITERATIONS [SEED_FILE...]\n", argv[0]);
    return 2;
  }
  const long iterations = std::atol(argv[1]);
  std::vector<std::string> seeds;
  for (int i = 2; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    seeds.push_back(ss.str());
  }
  if (seeds.empty()) seeds.push_back("");
  for (const std::string& s : seeds)
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  std::mt19937_64 rng(12345);
  auto pick = [&](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  for (long i = 0; i < iterations; ++i) {
    std::string in = seeds[pick(seeds.size())];
    const int edits = 1 + static_cast<int>(pick(8));
    for (int e = 0; e < edits; ++e) {
      switch (pick(6)) {
        case 0:  // flip a byte
          if (!in.empty()) in[pick(in.size())] = static_cast<char>(rng());
          break;
        case 1:  // insert random bytes
          in.insert(pick(in.size() + 1), std::string(1 + pick(16), static_cast<char>(rng())));
          break;
        case 2:  // delete a run
          if (!in.empty()) {
            size_t at = pick(in.size());
            in.erase(at, 1 + pick(in.size() - at));
          }
          break;
        case 3: {  // splice in part of another seed
          const std::string& o = seeds[pick(seeds.size())];
          if (!o.empty()) {
            size_t at = pick(o.size());
            in.insert(pick(in.size() + 1), o.substr(at, 1 + pick(o.size() - at)));
          }
          break;
        }
        case 4:  // truncate
          in.resize(pick(in.size() + 1));
          break;
        default:  // repeat a run (long lists, deep nesting)
          if (!in.empty()) {
            size_t at = pick(in.size()), n = 1 + pick(std::min<size_t>(64, in.size() - at));
            std::string run = in.substr(at, n);
            for (size_t k = pick(64); k > 0; --k) in.insert(at, run);
          }
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  }
  std::printf("%ld inputs, no crash\n", iterations + static_cast<long>(seeds.size()));
  return 0;
}
