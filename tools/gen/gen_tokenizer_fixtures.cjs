// Generates the small tokenizer.json fixtures and their expected outputs under
// tests/tokenizer/data/ for the tokenizer.json features that the real tokenizers in
// ../shared/tokenizers do not use (NFKC, Lowercase, Strip, Digits, Punctuation,
// Whitespace, every Split behavior, RobertaProcessing, continuing_subword_prefix, ...).
//
// The expected outputs come from Hugging Face tokenizers (Rust) through the npm package
// tokenizers@0.23.2, the same reference as ../shared/tokenizers/*/expected_encodings.json.
// NOT run by the tests: it needs node and that package (npm install works offline-free in
// any scratch folder outside the repository):
//
//   mkdir -p /tmp/tokref && (cd /tmp/tokref && npm install tokenizers@0.23.2)
//   NODE_PATH=/tmp/tokref/node_modules node tools/gen/gen_tokenizer_fixtures.cjs tests/tokenizer/data
//
// Each fixture gets a tiny BPE vocabulary trained here (deterministic: most frequent pair,
// ties to the smallest "a b"; 160 merges) on the test strings after the fixture's own
// normalizer and pre-tokenizer (taken from the HF library), so merges really fire. Chars
// above U+2FFF are left out of the alphabet so unk / byte fallback paths run too.
// Output: <name>.json = { tokenizer: <tokenizer.json object>, reference, cases: [ {text,
// ids, tokens, ids_with_special_tokens, decoded, decoded_skip_special} ] } or, for a
// tokenizer.json the library refuses, { tokenizer, reference, error }.
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const STRINGS = [
  '',
  ' ',
  'Hello world',
  '  Hello   World!  ',
  'The quick brown fox jumps over the lazy dog.',
  "I've been 'told he's there, we'LL see",
  '1234567890 3.14159 1,000,000 -42 +7e-10 x1y22z333',
  'Ünïcödé: café, naïve, Fußgänger, ΣΊΣΥΦΟΣ, İstanbul',
  'e\u0301 vs \u00e9 (NFD vs NFC), A\u030a vs \u00c5',
  '\uff21\uff22\uff23\uff11\uff12\uff13 \ufb01nance \u2460\u2461 x\u00b2 \u00bd \u2126 \u212b',
  '!!!???...,,,;;;:::---===+++***///\\\\|||',
  '\t\ttabs\tand\nnewlines\n\n\r\nCRLF\r\n',
  'emoji \ud83e\udd99\ud83d\ude80 \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67 cjk \u4e2d\u6587 \ud55c\uad6d\uc5b4',
  'zero\u200bwidth\u200djoiner\ufeffbom',
  'def f(x):\n    return x**2  # square\n',
  '[MASK] the <sep>end</sep> and <mask>  here [MASK]word',
  ' <mask> <mask>x x<mask> (<mask>)',
  'lowercase ABC and Abc and abc',
  '___ a_b __init__ \u203fx',
  '\u0661\u0662\u0663 \u0966\u0967 \u2167 \u00b3\u2074',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  '\u2581already\u2581has\u2581metaspace \u2581 \u2581\u2581x',
  'Prices: $1,299.99 (\u20ac1.199,99) \u2014 50% off!',
];

// --- components --------------------------------------------------------------------------
const byteLevelPre = (add_prefix_space, use_regex) =>
  ({ type: 'ByteLevel', add_prefix_space, trim_offsets: true, use_regex });
const byteLevelDec = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
const split = (pattern, behavior, invert = false) => ({ type: 'Split', pattern, behavior, invert });
const seqPre = (...p) => ({ type: 'Sequence', pretokenizers: p });
const seqNorm = (...n) => ({ type: 'Sequence', normalizers: n });
const seqDec = (...d) => ({ type: 'Sequence', decoders: d });
const added = (content, opts = {}) => ({
  content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...opts,
});
const template = (single, specials) => ({
  type: 'TemplateProcessing',
  single: single.map((p) => (p === '$A' ? { Sequence: { id: 'A', type_id: 0 } } : { SpecialToken: { id: p, type_id: 0 } })),
  pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
  special_tokens: specials,
});

// Each fixture: tokenizer.json sections; `model` holds BPE options plus generator options
// (byte_level alphabet, merges_format, specials to put first in the vocabulary).
const FIXTURES = [
  {
    name: 'nfkc_lowercase_strip_whitespace',
    normalizer: seqNorm({ type: 'NFKC' }, { type: 'Lowercase' }, { type: 'Strip', strip_left: true, strip_right: true }),
    pre_tokenizer: { type: 'Whitespace' },
    model: { unk_token: '[UNK]', continuing_subword_prefix: '##', specials: ['[UNK]', '[CLS]', '[SEP]'] },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', 2], cls: ['[CLS]', 1] },
    added_tokens: [added('[UNK]'), added('[CLS]'), added('[SEP]')],
  },
  {
    name: 'digits_punctuation_roberta',
    normalizer: { type: 'Strip', strip_left: true, strip_right: false },
    pre_tokenizer: seqPre({ type: 'WhitespaceSplit' }, { type: 'Digits', individual_digits: true },
                          { type: 'Punctuation', behavior: 'Contiguous' }),
    model: { unk_token: '<unk>', fuse_unk: true, end_of_word_suffix: '</w>', specials: ['<s>', '<pad>', '</s>', '<unk>'] },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'BPEDecoder', suffix: '</w>' },
    added_tokens: [added('<s>'), added('<pad>'), added('</s>'), added('<unk>')],
  },
  {
    name: 'digits_contiguous_bert_pre',
    normalizer: { type: 'NFD' },
    pre_tokenizer: seqPre({ type: 'BertPreTokenizer' }, { type: 'Digits', individual_digits: false }),
    model: { unk_token: '[UNK]', fuse_unk: false, specials: ['[UNK]'] },
  },
  {
    name: 'strip_accents_punctuation',
    normalizer: seqNorm({ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' }, { type: 'NFC' }),
    pre_tokenizer: seqPre({ type: 'WhitespaceSplit' }, { type: 'Punctuation', behavior: 'Isolated' }),
    model: { unk_token: '[UNK]', fuse_unk: true, specials: ['[UNK]'] },
  },
  {
    name: 'split_removed_regex',
    pre_tokenizer: seqPre(split({ Regex: '\\s+' }, 'Removed'), byteLevelPre(false, false)),
    model: { byte_level: true },
    decoder: byteLevelDec,
  },
  {
    name: 'split_merged_with_previous_string',
    pre_tokenizer: seqPre(split({ String: ' ' }, 'MergedWithPrevious'), byteLevelPre(false, false)),
    model: { byte_level: true, merges_format: 'pairs' },
    decoder: byteLevelDec,
  },
  {
    name: 'split_merged_with_next_invert',
    pre_tokenizer: seqPre(split({ Regex: '[^\\s\\p{P}]+' }, 'MergedWithNext', true), byteLevelPre(false, false)),
    model: { byte_level: true },
    decoder: byteLevelDec,
  },
  {
    name: 'split_contiguous_string',
    pre_tokenizer: seqPre(split({ String: 'a' }, 'Contiguous'), byteLevelPre(false, false)),
    model: { byte_level: true },
    decoder: byteLevelDec,
  },
  {
    name: 'split_isolated_invert_onig_classes',
    pre_tokenizer: seqPre(split({ Regex: '\\w+|\\h+' }, 'Isolated', true), split({ Regex: '\\s' }, 'Removed'),
                          byteLevelPre(false, false)),
    model: { byte_level: true },
    decoder: byteLevelDec,
  },
  {
    name: 'split_empty_matches',
    pre_tokenizer: seqPre(split({ Regex: 'x*' }, 'Isolated'), byteLevelPre(false, false)),
    model: { byte_level: true },
    decoder: byteLevelDec,
  },
  {
    name: 'bytelevel_prefix_template_added',
    pre_tokenizer: byteLevelPre(true, true),
    model: { byte_level: true, merges_format: 'pairs', specials: ['<|bos|>', '<|eos|>'] },
    post_processor: template(['<|bos|>', '$A', '<|eos|>'], {
      '<|bos|>': { id: '<|bos|>', ids: [0], tokens: ['<|bos|>'] },
      '<|eos|>': { id: '<|eos|>', ids: [1], tokens: ['<|eos|>'] },
    }),
    decoder: byteLevelDec,
    added_tokens: [added('<|bos|>'), added('<|eos|>'),
                   added('<mask>', { lstrip: true, special: true }),
                   added('[MASK]', { single_word: true, special: false, normalized: false }),
                   added('<sep>', { rstrip: true, special: false }),
                   added('</sep>', { special: false, normalized: true })],
  },
  {
    name: 'added_normalized_lowercase',
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: byteLevelPre(false, true),
    model: { byte_level: true },
    decoder: byteLevelDec,
    added_tokens: [added('ABC', { normalized: true, special: false }),
                   added('<MASK>', { normalized: true, special: true }),
                   added('Hello', { normalized: false, special: false, single_word: true }),
                   added('__', { normalized: false, special: true, lstrip: true, rstrip: true })],
  },
  {
    name: 'ignore_merges_bytelevel',
    pre_tokenizer: byteLevelPre(false, true),
    model: { byte_level: true, ignore_merges: true, extra_vocab: ['Ġquick', 'Ġbrown', 'aaaaaaaaaa', 'Ġworld'] },
    post_processor: { type: 'Sequence', processors: [
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      template(['$A', '<|eos|>'], { '<|eos|>': { id: '<|eos|>', ids: [0], tokens: ['<|eos|>'] } })] },
    decoder: byteLevelDec,
    added_tokens: [added('<|eos|>')],
  },
  {
    name: 'metaspace_first_byte_fallback',
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: true },
    model: { byte_fallback: true, unk_token: '<unk>', fuse_unk: true, specials: ['<unk>', '<s>', '</s>'] },
    post_processor: template(['<s>', '$A', '</s>'], {
      '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] },
    }),
    decoder: seqDec({ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: true },
                    { type: 'ByteFallback' }, { type: 'Fuse' }),
    added_tokens: [added('<unk>'), added('<s>'), added('</s>'), added('<mask>', { special: true })],
  },
  {
    name: 'metaspace_never_nosplit',
    normalizer: { type: 'NFKC' },
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'never', split: false },
    model: { byte_fallback: true, specials: ['<unk>'] },
    decoder: seqDec({ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'never', split: false },
                    { type: 'ByteFallback' }, { type: 'Fuse' }),
  },
  {
    name: 'metaspace_always_legacy',
    normalizer: seqNorm({ type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
                        { type: 'Strip', strip_left: false, strip_right: true }),
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', add_prefix_space: true, split: true },
    model: { unk_token: '<unk>', specials: ['<unk>'] },
    decoder: { type: 'Metaspace', replacement: '\u2581', add_prefix_space: true },
  },
  {
    name: 'replace_prepend_decoders',
    normalizer: seqNorm({ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '[0-9]+' }, content: '#' },
                        { type: 'Prepend', prepend: '\u2581' }, { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }),
    model: { byte_fallback: true, specials: ['<unk>', '<s>', '</s>'] },
    post_processor: template(['<s>', '$A'], { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } }),
    // (Strip with stop > 0 panics in tokenizers on an empty decode, so only start here.)
    decoder: seqDec({ type: 'Strip', content: '\u2581', start: 2, stop: 0 },
                    { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' },
                    { type: 'Fuse' }, { type: 'Replace', pattern: { Regex: 'o+' }, content: '0' }),
    added_tokens: [added('<unk>'), added('<s>'), added('</s>')],
  },
  {
    name: 'char_delimiter_no_decoder',
    pre_tokenizer: { type: 'CharDelimiterSplit', delimiter: 'e' },
    model: { unk_token: '[UNK]', specials: ['[UNK]'] },
  },
];

// Files the library must refuse (each with the reason it gives).
const BAD = [
  { name: 'bad_merge_unknown_token', model: { vocab: { a: 0, b: 1, ab: 2 }, merges: ['a c'] } },
  { name: 'bad_merge_result_unknown', model: { vocab: { a: 0, b: 1, abc: 2 }, merges: ['a b'] } },
  { name: 'bad_merge_three_parts', model: { vocab: { a: 0, b: 1, ab: 2 }, merges: ['a b c'] } },
  { name: 'bad_regex', pre_tokenizer: split({ Regex: '(unclosed' }, 'Isolated'), model: { vocab: { a: 0 }, merges: [] } },
  { name: 'bad_version', version: '2.0', model: { vocab: { a: 0 }, merges: [] } },
  { name: 'bad_metaspace_scheme', pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', add_prefix_space: false, split: true }, model: { vocab: { a: 0 }, merges: [] } },
];

// --- tiny deterministic BPE trainer ------------------------------------------------------
function bytesChar() {
  const bs = [];
  for (let b = 33; b <= 126; ++b) bs.push(b);
  for (let b = 0xa1; b <= 0xac; ++b) bs.push(b);
  for (let b = 0xae; b <= 0xff; ++b) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; ++b) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  return bs.map((b, i) => String.fromCodePoint(cs[i]));
}

function tokenizerJson(f, vocab, merges) {
  const m = f.model || {};
  return {
    version: f.version || '1.0', truncation: null, padding: null,
    added_tokens: (f.added_tokens || []).map((t) => ({ id: vocab[t.content] ?? 0, ...t })),
    normalizer: f.normalizer || null, pre_tokenizer: f.pre_tokenizer || null,
    post_processor: f.post_processor || null, decoder: f.decoder || null,
    model: {
      type: 'BPE', dropout: null, unk_token: m.unk_token ?? null,
      continuing_subword_prefix: m.continuing_subword_prefix ?? null, end_of_word_suffix: m.end_of_word_suffix ?? null,
      fuse_unk: !!m.fuse_unk, byte_fallback: !!m.byte_fallback, ignore_merges: !!m.ignore_merges, vocab, merges,
    },
  };
}

function train(f) {
  const m = f.model || {};
  const probe = Tokenizer.fromString(JSON.stringify(tokenizerJson({ ...f, added_tokens: [] }, { '<probe>': 0 }, [])));
  const norm = probe.getNormalizer(), pre = probe.getPreTokenizer();
  const prefix = m.continuing_subword_prefix || '', suffix = m.end_of_word_suffix || '';
  const words = new Map();
  for (const s of STRINGS) {
    const n = norm ? norm.normalizeString(s) : s;
    const pieces = pre ? pre.preTokenizeString(n).map((p) => p[0]) : [n];
    for (const w of pieces) if (w) words.set(w, (words.get(w) || 0) + 1);
  }
  const alphabet = new Set(m.byte_level ? bytesChar() : []);
  const seqs = [];
  for (const [w, count] of words) {
    const chars = Array.from(w).filter((c) => m.byte_level || c.codePointAt(0) < 0x3000);
    if (!chars.length) continue;
    const syms = chars.map((c, i) => (i > 0 ? prefix : '') + c + (i === chars.length - 1 ? suffix : ''));
    syms.forEach((s) => alphabet.add(s));
    seqs.push({ syms, count });
  }
  const vocab = {};
  let next = 0;
  for (const s of m.specials || []) vocab[s] = next++;
  if (m.byte_fallback)
    for (let b = 0; b < 256; ++b) vocab['<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>'] = next++;
  for (const c of [...alphabet].sort()) if (!(c in vocab)) vocab[c] = next++;
  const merges = [];
  for (let k = 0; k < 160; ++k) {
    const counts = new Map();
    for (const { syms, count } of seqs)
      for (let i = 0; i + 1 < syms.length; ++i) {
        const key = syms[i] + '\u0000' + syms[i + 1];
        counts.set(key, (counts.get(key) || 0) + count);
      }
    let best = null, bestCount = 1;
    for (const [key, c] of counts) if (c > bestCount || (c === bestCount && best !== null && key < best)) { best = key; bestCount = c; }
    if (best === null) break;
    const [a, b] = best.split('\u0000');
    const merged = a + b.slice(prefix.length);
    if (!(merged in vocab)) vocab[merged] = next++;
    merges.push([a, b]);
    for (const s of seqs) {
      const out = [];
      for (let i = 0; i < s.syms.length; ++i) {
        if (i + 1 < s.syms.length && s.syms[i] === a && s.syms[i + 1] === b) { out.push(merged); ++i; } else out.push(s.syms[i]);
      }
      s.syms = out;
    }
  }
  for (const t of m.extra_vocab || []) if (!(t in vocab)) vocab[t] = next++;
  for (const t of f.added_tokens || []) if (!(t.content in vocab) && (m.specials || []).includes(t.content)) vocab[t.content] = next++;
  const asPairs = m.merges_format === 'pairs' || merges.some(([a, b]) => a.includes(' ') || b.includes(' '));
  return tokenizerJson(f, vocab, asPairs ? merges : merges.map(([a, b]) => a + ' ' + b));
}

const REFERENCE = 'Hugging Face tokenizers (Rust) via npm "tokenizers" 0.23.2; ids/tokens = encode(text, add_special_tokens=false); ' +
  'ids_with_special_tokens = add_special_tokens=true; decoded = decode(ids, false); decoded_skip_special = decode(ids_with_special_tokens, true)';

async function main() {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node gen_tokenizer_fixtures.cjs OUT_DIR');
  fs.mkdirSync(out, { recursive: true });
  for (const f of FIXTURES) {
    const tj = train(f);
    const tok = Tokenizer.fromString(JSON.stringify(tj));
    const cases = [];
    for (const text of STRINGS) {
      const e = await tok.encode(text, null, { addSpecialTokens: false });
      const es = await tok.encode(text, null, { addSpecialTokens: true });
      const ids = Array.from(e.getIds()), idsS = Array.from(es.getIds());
      cases.push({ text, ids, tokens: e.getTokens(), ids_with_special_tokens: idsS,
                   decoded: await tok.decode(ids, false), decoded_skip_special: await tok.decode(idsS, true) });
    }
    fs.writeFileSync(path.join(out, f.name + '.json'), JSON.stringify({ tokenizer: tj, reference: REFERENCE, cases }) + '\n');
    console.log(f.name, Object.keys(tj.model.vocab).length, 'tokens', tj.model.merges.length, 'merges');
  }
  for (const b of BAD) {
    const tj = { version: b.version || '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
                 pre_tokenizer: b.pre_tokenizer || null, post_processor: null, decoder: null,
                 model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
                          end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ...b.model } };
    let error = null;
    try { Tokenizer.fromString(JSON.stringify(tj)); } catch (e) { error = String(e.message || e); }
    if (error === null) throw new Error(b.name + ': the library accepted it');
    fs.writeFileSync(path.join(out, b.name + '.json'), JSON.stringify({ tokenizer: tj, reference: REFERENCE, error }) + '\n');
    console.log(b.name, 'refused:', error.slice(0, 100));
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
