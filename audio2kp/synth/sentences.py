"""English text for the synthetic corpus: a small grammar for training, hand-written sentences held out."""

from __future__ import annotations

import numpy as np

SUBJECTS = ["the old man", "my sister", "a young farmer", "the tall doctor", "our neighbour", "the little boy",
            "a busy waiter", "the brave pilot", "his mother", "the quiet student", "every teacher", "a happy baker",
            "the strong fisherman", "my uncle", "the kind nurse", "a clever monkey", "the grey wolf", "some workers"]
VERBS = ["bought", "painted", "carried", "watched", "found", "opened", "cooked", "fixed", "wanted", "pushed",
         "lifted", "borrowed", "cleaned", "visited", "played with", "looked at", "talked about", "threw away"]
OBJECTS = ["a blue bicycle", "the broken window", "three yellow apples", "a heavy box", "the morning paper",
           "a warm blanket", "two small puppies", "the wooden chair", "a bowl of soup", "the shiny coin",
           "a purple umbrella", "the garden gate", "five paper boats", "a pot of coffee", "the music box",
           "an empty bottle", "the long rope", "a map of the city"]
PLACES = ["in the kitchen", "near the river", "at the market", "before lunch", "under the bridge", "after school",
          "on the beach", "by the fire", "at midnight", "behind the house", "in the park", "during the storm",
          "on monday morning", "at the station", "beside the road", "in winter"]
OPENERS = ["yesterday", "last week", "suddenly", "of course", "every day", "once again", "later that evening"]

#: Sentences never used for training (new words and structures), for the held-out evaluation.
HELD_OUT = [
    "Please remember to water the plants while I am away.",
    "How much does a ticket to Boston cost these days?",
    "We should meet outside the museum at half past four.",
    "Nobody expected the weather to change so quickly.",
    "Could you pass me the salt and pepper, please?",
    "She whispered something funny and everyone laughed.",
    "The orchestra rehearsed the symphony for seven hours.",
    "I would rather walk home than wait for the bus.",
    "Those mountains look beautiful when covered with snow.",
    "Turn left at the bakery and follow the narrow path.",
    "My computer refuses to start after the update.",
    "Fresh bread smells wonderful early in the morning.",
    "Why did the committee postpone the announcement?",
    "Jupiter is the largest planet in our solar system.",
    "Maybe we can go fishing together next summer.",
    "The museum opens at nine and closes at five.",
    "Honestly, I have never seen such a huge pumpkin.",
    "Write your name clearly at the top of every page.",
    "A gentle breeze moved through the open window.",
    "Thank you very much for your wonderful hospitality.",
]


def training_sentence(rng: np.random.Generator) -> str:
    """A random sentence from the training grammar."""
    parts = []
    if rng.random() < 0.3:
        parts.append(OPENERS[rng.integers(len(OPENERS))] + ",")
    parts += [SUBJECTS[rng.integers(len(SUBJECTS))], VERBS[rng.integers(len(VERBS))], OBJECTS[rng.integers(len(OBJECTS))]]
    if rng.random() < 0.7:
        parts.append(PLACES[rng.integers(len(PLACES))])
    text = " ".join(parts)
    return text[0].upper() + text[1:] + ("?" if rng.random() < 0.1 else ".")
