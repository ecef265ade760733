"""The report side of a grading: the records that cross the process boundary (:mod:`.records`),
points (:mod:`.scoring`), the result (:mod:`.result`), ``results.json`` (:mod:`.results`), the HTML
page (:mod:`.html`) with its timelines (:mod:`.timeline`), and the terminal (:mod:`.terminal`)."""
