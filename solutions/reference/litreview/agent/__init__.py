"""The review agent: the model answers a question over the corpus with tools the app runs.

- :mod:`litreview.agent.tools`: the tools offered to the model and the judging of its calls;
- :mod:`litreview.agent.index`: the corpus index behind the search tool (embeddings, cosine);
- :mod:`litreview.agent.loop`: the loop that owns the steps, the limits and the citations.
"""
