// Embedding lowbit in a C++ program: load a model folder, generate, score.
//   embed_example MODEL_DIR [PROMPT [TEXT_FILE]]
#include <cstdio>
#include <string>

#include "lowbit/lowbit.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [PROMPT]\n", argv[0]);
    return 2;
  }
  try {
    auto model = lowbit::Model::load(argv[1], {.context_length = 256, .threads = 1});
    std::printf("architecture: %s, %lld parameters\n", model->architecture().c_str(),
                static_cast<long long>(model->n_params()));
    const std::string prompt = argc > 2 ? argv[2] : "Once upon a time";
    lowbit::GenerateOptions g;
    g.max_tokens = 32;
    g.greedy = true;
    std::string text = model->generate(prompt, g);
    std::printf("%s%s\n", prompt.c_str(), text.c_str());
    auto ids = model->tokenize(prompt);
    std::printf("prompt tokens: %zu\n", ids.size());
    if (argc > 3) {  // a text file to score
      std::FILE* f = std::fopen(argv[3], "rb");
      if (!f) throw lowbit::Error(argv[3], "cannot open");
      std::string text;
      char buf[65536];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
      std::fclose(f);
      lowbit::PerplexityResult p = model->perplexity(text, {.context_length = 256, .max_chunks = 4});
      std::printf("perplexity: %.4f over %lld tokens\n", p.perplexity, static_cast<long long>(p.n_scored));
    }
    return 0;
  } catch (const lowbit::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
