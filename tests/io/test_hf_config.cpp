#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/hf_config.h"
#include "test_util.h"

using namespace lowbit;
using json = nlohmann::json;

namespace {
json llama_base() {
  return json{{"architectures", {"LlamaForCausalLM"}},
              {"hidden_size", 64},
              {"intermediate_size", 172},
              {"num_hidden_layers", 2},
              {"num_attention_heads", 8},
              {"num_key_value_heads", 4},
              {"vocab_size", 512},
              {"rms_norm_eps", 1e-5},
              {"rope_theta", 10000.0},
              {"bos_token_id", 1},
              {"eos_token_id", 2}};
}
}  // namespace

TEST(HfConfig, BundledStories260K) {
  ModelConfig c = load_hf_config(test::source_dir() + "/models/stories260K");
  EXPECT_EQ(c.arch, Arch::Llama);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 1);
  ASSERT_EQ(c.eos_token_ids.size(), 1u);
  EXPECT_EQ(c.eos_token_ids[0], 2);
}

TEST(HfConfig, ArchFixtures) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared dir not found (set LOWBIT_SHARED_DIR)";
  const std::string d = shared + "/models/arch-fixtures/";
  ModelConfig l3 = load_hf_config(d + "llama3-rope-scaling");
  EXPECT_EQ(l3.rope_scaling.type, RopeScaling::Type::Llama3);
  EXPECT_DOUBLE_EQ(l3.rope_scaling.factor, 8.0);
  EXPECT_DOUBLE_EQ(l3.rope_theta, 500000.0);
  EXPECT_FALSE(l3.tie_word_embeddings);
  ModelConfig q2 = load_hf_config(d + "qwen2");
  EXPECT_EQ(q2.arch, Arch::Qwen2);
  EXPECT_TRUE(q2.qkv_bias);
  EXPECT_FALSE(q2.o_bias);
  EXPECT_EQ(q2.head_dim, 16);
  EXPECT_EQ(q2.sliding_window, 0);
  ModelConfig q3 = load_hf_config(d + "qwen3");
  EXPECT_TRUE(q3.qk_norm);
  EXPECT_EQ(q3.head_dim, 32);
  EXPECT_EQ(q3.q_dim(), 128);
  ModelConfig m = load_hf_config(d + "mistral");
  EXPECT_EQ(m.arch, Arch::Mistral);
  EXPECT_EQ(m.sliding_window, 4096);
}

TEST(HfConfig, UnsupportedArchitectureIsNamed) {
  json j = llama_base();
  j["architectures"] = {"GPTNeoXForCausalLM"};
  try {
    parse_hf_config(j, "x/config.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("GPTNeoXForCausalLM"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("x/config.json"), std::string::npos) << e.what();
  }
}

TEST(HfConfig, BadValues) {
  json j = llama_base();
  j["num_key_value_heads"] = 3;  // 8 % 3 != 0
  EXPECT_THROW(parse_hf_config(j, "c"), Error);
  j = llama_base();
  j.erase("hidden_size");
  EXPECT_THROW(parse_hf_config(j, "c"), Error);
  j = llama_base();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  EXPECT_THROW(parse_hf_config(j, "c"), Error);
  j = llama_base();
  j["hidden_size"] = "64";
  EXPECT_THROW(parse_hf_config(j, "c"), Error);
  EXPECT_THROW(parse_hf_config(json::array(), "c"), Error);
}

TEST(HfConfig, EosListAndLinearScalingAndRoundTrip) {
  json j = llama_base();
  j["eos_token_id"] = {128001, 128008, 128009};
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  ModelConfig c = parse_hf_config(j, "c");
  EXPECT_EQ(c.eos_token_ids.size(), 3u);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::Linear);
  ModelConfig c2 = parse_hf_config(config_to_json(c), "c2");
  EXPECT_EQ(c2.hidden_size, c.hidden_size);
  EXPECT_EQ(c2.eos_token_ids, c.eos_token_ids);
  EXPECT_EQ(c2.rope_scaling.type, RopeScaling::Type::Linear);
  EXPECT_DOUBLE_EQ(c2.rope_scaling.factor, 2.0);
}
