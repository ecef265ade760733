"""Row 12: print ANSI and OSC escape sequences (clear screen, set the title, colours), then exit.

A grader that shows the app's last lines raw hands these to the interviewer's terminal.
"""

import sys

print("\x1b[2J\x1b[H\x1b]0;pwned-title\x07\x1b[31mfake: all checks passed\x1b[0m\r", flush=True)
print("\x1b]8;;http://127.0.0.1/\x07a link\x1b]8;;\x07 \x9b31m c1 control \x07 bell", flush=True)
sys.exit(1)
