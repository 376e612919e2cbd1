// Embedding lowbit in a C++ program: load a model folder, generate, score.
//   embed_example MODEL_DIR [PROMPT]
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
    return 0;
  } catch (const lowbit::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
