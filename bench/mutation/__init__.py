"""Mutation benchmark of the graders: do the hidden checks catch what the briefs forbid?

    python -m bench.mutation --sample 3 --exercises retries,citations,batch --out bench/results/mutation

cosmic-ray enumerates the mutants of the reference's policy code (:mod:`bench.mutation.targets`
says which files and functions, and which exercise's checks should kill each one); each mutant is
applied with cosmic-ray's own machinery to a fresh copy of the reference whose manifest lists only
that exercise, and graded by the harness without the soak check (:mod:`bench.mutation.run`). The
report (:mod:`bench.mutation.report`) counts, per exercise, the mutants made, the ones the app did
not even start with (incompetent: killed trivially), the equivalents (from the committed triage
file ``bench/mutation-triage.toml``), the killed and the survivors.

Time (2 shared cores, realistic level, one grading at a time): a mutant's grading takes about 3 s
(cost) to 17 s (batch), 10 s on average; a mutant that does not compile is not graded. Every
mutant (about 1,100) takes about 3 h 15 min; ``--sample 40`` (about 310 mutants) about 50 min;
``--jobs 2`` roughly halves either on an otherwise idle machine.
"""
