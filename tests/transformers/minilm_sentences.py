"""The sentences the MiniLM match is checked on: short and long, punctuation,
numbers, accents, words split into several pieces, one sentence much longer
than the rest (so the others carry padding)."""
SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A monkey is playing drums.",
    "Hi",
    "The quick brown fox jumps over the lazy dog; 12,345 times, in 1997!",
    "Café au lait, naïve résumé, and a piñata.",
    "Embeddable training engines let applications retrain their own models overnight without a Python runtime.",
    "Transformers compute attention over every pair of tokens in a sequence, weighting each value by how well "
    "its key matches the query, and stack several such layers with feed-forward blocks and normalisation "
    "between them, which is why a sentence embedding can capture meaning beyond single words.",
]
