"""The sandbox a submission runs in: the plan (:mod:`.plan`: bubblewrap's allow-list root, the
grading's own user ID), the root steps before the app runs (:mod:`.jail`), the loopback-only
network of the inner session (:mod:`.netns`) and the limits on the whole grading (:mod:`.cgroups`)."""
