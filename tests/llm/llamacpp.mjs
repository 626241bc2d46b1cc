// tests/llm/llamacpp.mjs -- llama.cpp itself as a reference: drives
// node-llama-cpp (its prebuilt @node-llama-cpp/linux-x64 binaries, CPU only)
// from a JSON request. Does not own the comparisons (check_refs.py) nor the
// numpy reference (ref.py), which takes the same requests.
//
//   node tests/llm/llamacpp.mjs < request.json > reply.json
//
// request: {"model": "x.gguf", "ctx": 256, "threads": 2, "kv": "F32"|"F16",
//           "ops": [op, ...]}; the reply: {"results": [result, ...]}, one per
// op, in order. Ops:
//   {"op": "tokenize", "text": s, "add_special": b, "parse_special": b}
//       -> {"tokens": [...]}   (llama_tokenize; add_special adds what the
//          vocabulary says: BOS for SentencePiece, [CLS] .. [SEP] for WordPiece)
//   {"op": "detokenize", "tokens": [...]} -> {"text": s}
//   {"op": "eval", "tokens": [...]}
//       -> {"probs": [[p_0 .. p_vocab-1], ...]}  the next-token distribution
//          after each position (softmax of the logits at temperature 1)
//   {"op": "generate", "tokens": [...], "n": N}
//       -> {"tokens": [...]}   greedy (temperature 0), stopping after an
//          end-of-generation token or N tokens
//   {"op": "embed", "tokens": [...]} -> {"embedding": [...]}  the model's
//          pooled embedding, L2-normalized (node-llama-cpp gives it raw)
//   {"op": "info"} -> {"vocab": n, "bos": id, "eos": id, "type": "spm"|...}
//   {"op": "bench", "tokens": [...], "n": N}
//       -> {"prompt_tokens", "prompt_seconds", "prompt_tps", "gen_tokens",
//          "gen_seconds", "gen_tps"}: the prompt (all but its last token)
//          evaluated in one batch, then N greedy tokens, each timed
//          (llama.cpp's speed on the file, for make bench-llm; "threads"
//          sets its thread count)
//   {"op": "embed_bench", "texts": [...], "rounds": R}
//       -> {"embeddings", "seconds", "embed_per_s"}: each text embedded
//          (tokenized each time, as krait llm bench does) R times
// A failed op gives {"error": message}.
import { getLlama } from "node-llama-cpp";

process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = "true";

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

// The tokens of text as llama_tokenize(add_special, parse_special) gives
// them (node-llama-cpp's tokenize never adds the special tokens itself).
function tokenize(model, text, addSpecial, parseSpecial) {
  const toks = Array.from(model.tokenize(text, !!parseSpecial));
  if (!addSpecial) return toks;
  const t = model.tokens;
  if (model.vocabularyType === "wpm") return [t.bos, ...toks, t.sep ?? t.eos];
  const out = [];
  if (t.shouldPrependBosToken) out.push(t.bos);
  out.push(...toks);
  if (t.shouldAppendEosToken) out.push(t.eos);
  return out;
}

// The next-token distribution after each of tokens, from a fresh sequence.
async function evalProbs(seq, nVocab, tokens) {
  await seq.clearHistory();
  const input = tokens.map((tok) => [tok, { generateNext: { probabilities: true,
    options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]);
  const res = await seq.controlledEvaluate(input);
  const probs = [];
  for (let i = 0; i < tokens.length; i++) {
    const p = new Array(nVocab).fill(0);
    const m = res[i]?.next?.probabilities;
    if (!m) throw new Error(`no probabilities at position ${i}`);
    for (const [tok, v] of m) p[tok] = v;
    probs.push(p);
  }
  return probs;
}

async function generate(seq, model, tokens, n) {
  await seq.clearHistory();
  const out = [];
  if (n <= 0) return out;
  for await (const tok of seq.evaluate(tokens, { temperature: 0, yieldEogToken: true })) {
    out.push(tok);
    if (model.isEogToken(tok) || out.length >= n) break;
  }
  return out;
}

// Times a prompt and a greedy generation of n tokens from a fresh sequence.
async function bench(seq, tokens, n) {
  await seq.clearHistory();
  const head = tokens.slice(0, -1);
  const t0 = performance.now();
  if (head.length) await seq.evaluateWithoutGeneratingNewTokens(head);
  const t1 = performance.now();
  let got = 0;
  for await (const tok of seq.evaluate(tokens.slice(-1), { temperature: 0, yieldEogToken: true })) {
    if (++got >= n) break;
  }
  const t2 = performance.now();
  const ps = (t1 - t0) / 1000, gs = (t2 - t1) / 1000;
  return { prompt_tokens: head.length, prompt_seconds: ps, prompt_tps: head.length / ps,
    gen_tokens: got, gen_seconds: gs, gen_tps: got / gs };
}

// Times rounds x texts embeddings on the embedding context.
async function embedBench(ectx, texts, rounds) {
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const t of texts) await ectx.getEmbeddingFor(t);
  const s = (performance.now() - t0) / 1000;
  return { embeddings: rounds * texts.length, seconds: s, embed_per_s: rounds * texts.length / s };
}

function normalize(v) {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s) || 1;
  return v.map((x) => x / n);
}

async function main() {
  const req = await readStdin();
  const llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true,
    skipDownload: true, logLevel: "error", progressLogs: false });
  const model = await llama.loadModel({ modelPath: req.model, gpuLayers: 0 });
  const ctxSize = req.ctx ?? 256;
  const threads = req.threads ?? 2;
  const kv = req.kv ?? "F32";
  const results = [];
  let ctx = null, seq = null, ectx = null;
  const vocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
  for (const op of req.ops) {
    try {
      if (op.op === "tokenize") {
        results.push({ tokens: tokenize(model, op.text, op.add_special, op.parse_special) });
      } else if (op.op === "detokenize") {
        results.push({ text: model.detokenize(op.tokens, !!op.special) });
      } else if (op.op === "info") {
        results.push({ vocab, bos: model.tokens.bos, eos: model.tokens.eos,
          type: model.vocabularyType });
      } else if (op.op === "embed") {
        ectx ??= await model.createEmbeddingContext({ contextSize: ctxSize, threads });
        const e = await ectx.getEmbeddingFor(op.tokens);
        results.push({ embedding: normalize(Array.from(e.vector)) });
      } else if (op.op === "embed_bench") {
        ectx ??= await model.createEmbeddingContext({ contextSize: ctxSize, threads });
        results.push(await embedBench(ectx, op.texts, op.rounds ?? 10));
      } else if (op.op === "eval" || op.op === "generate" || op.op === "bench") {
        if (!ctx) {
          ctx = await model.createContext({ contextSize: ctxSize, threads, flashAttention: false,
            batchSize: ctxSize, experimentalKvCacheKeyType: kv, experimentalKvCacheValueType: kv });
          seq = ctx.getSequence();
        }
        if (op.op === "eval") results.push({ probs: await evalProbs(seq, vocab, op.tokens) });
        else if (op.op === "bench") results.push(await bench(seq, op.tokens, op.n ?? 64));
        else results.push({ tokens: await generate(seq, model, op.tokens, op.n ?? 16) });
      } else {
        results.push({ error: `unknown op '${op.op}'` });
      }
    } catch (e) {
      results.push({ error: String(e && e.message || e) });
    }
  }
  process.stdout.write(JSON.stringify({ results }) + "\n");
  await llama.dispose();
}

main().catch((e) => { console.error(`llamacpp.mjs: ${e.stack || e}`); process.exit(1); });
