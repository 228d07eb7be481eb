"""Writes a deterministic text for the word-count demo: Zipf-distributed
words from a fixed vocabulary, so the top words are stable and checkable.

Usage: python3 gentext.py <out-path> [words] [seed]
"""
import random
import sys

VOCAB = (
    "the and of to a in that he his it was with for as you her on be is at by "
    "they had not but from this all him were which when their she so said one "
    "we my an them would there what have no out if up will who more into your "
    "spark cluster worker master driver executor hearth step node shuffle"
).split()


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
    weights = [1.0 / (i + 1) for i in range(len(VOCAB))]
    words = rng.choices(VOCAB, weights=weights, k=n)
    with open(out, "w") as f:
        for i in range(0, n, 12):
            f.write(" ".join(words[i : i + 12]).capitalize() + ".\n")


if __name__ == "__main__":
    main()
