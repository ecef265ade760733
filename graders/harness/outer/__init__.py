"""The outer side of a grading, in the grader's own process: copy the submission, read its
manifest, install what it adds (:mod:`.submission`, :mod:`.manifest`), plan its sandbox, launch the
inner session (:mod:`.launch`) and turn what it reports into a result (:mod:`.run`)."""
