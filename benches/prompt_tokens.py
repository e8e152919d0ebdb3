"""How many tokens a real BPE tokenizer (SmolLM2's) sees in llmw's synthesized prompts.

    cargo run --release --example prompts > /tmp/prompts.jsonl
    pip install tokenizers
    python3 benches/prompt_tokens.py /tmp/prompts.jsonl ../shared/tokenizers/smollm2-135m/tokenizer.json
"""
import json
import sys
from collections import defaultdict

from tokenizers import Tokenizer

tok = Tokenizer.from_file(sys.argv[2])
by_len = defaultdict(list)
for line in open(sys.argv[1]):
    row = json.loads(line)
    n = len(tok.encode(row["prompt"], add_special_tokens=False).ids)
    by_len[row["tokens"]].append(n)
print("requested  measured (min..max over 20 prompts)  deviation")
for want, got in sorted(by_len.items()):
    lo, hi = min(got), max(got)
    print(f"{want:9d}  {lo}..{hi}  {100 * (max(abs(lo - want), abs(hi - want))) / want:.2f} %")
