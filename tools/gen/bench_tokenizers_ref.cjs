// Reference throughput: HF tokenizers (Rust, napi) and @huggingface/tokenizers (pure JS)
// encoding wiki.test.raw as one string, add_special_tokens=false.
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
async function main() {
  const [shared, ...names] = process.argv.slice(2);
  const text = fs.readFileSync(shared + '/data/wikitext-2-raw/wiki.test.raw', 'utf8');
  const bytes = Buffer.byteLength(text, 'utf8');
  const js = require('@huggingface/tokenizers');
  for (const n of names) {
    const path = shared + '/tokenizers/' + n + '/tokenizer.json';
    const t = Tokenizer.fromFile(path);
    let e = await t.encode(text, null, { addSpecialTokens: false });  // warm-up
    const reps = 5; let best = 1e9;
    for (let r = 0; r < reps; ++r) {
      const t0 = process.hrtime.bigint();
      e = await t.encode(text, null, { addSpecialTokens: false });
      const dt = Number(process.hrtime.bigint() - t0) / 1e9; best = Math.min(best, dt);
    }
    const jt = new js.Tokenizer(JSON.parse(fs.readFileSync(path, 'utf8')), {});
    let jbest = 1e9;
    for (let r = 0; r < 2; ++r) {
      const t0 = process.hrtime.bigint();
      jt.encode(text, { add_special_tokens: false });
      const dt = Number(process.hrtime.bigint() - t0) / 1e9; jbest = Math.min(jbest, dt);
    }
    console.log(`${n}: rust ${(bytes / best / 1048576).toFixed(2)} MiB/s (${e.getIds().length} tokens), js ${(bytes / jbest / 1048576).toFixed(2)} MiB/s`);
  }
}
main();
