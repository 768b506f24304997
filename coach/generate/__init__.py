"""Generation: the generator protocol, the extractive composer, the LLM generator, questions."""
