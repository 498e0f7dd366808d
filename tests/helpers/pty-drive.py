#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal and answers its prompts (tests only: the interactive paths).
Usage: pty-drive.py PROMPT=ANSWER [PROMPT=ANSWER...] -- COMMAND [ARG...]; prints everything the terminal showed.
Each answer is typed once, after its prompt first appears; gives up after 60 s."""
import os
import pty
import sys
import time


def main() -> int:
    split = sys.argv.index('--')
    answers = [tuple(a.encode().split(b'=', 1)) for a in sys.argv[1:split]]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[split + 1], sys.argv[split + 1:])
    seen, typed = b'', set()
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        for i, (prompt, answer) in enumerate(answers):
            if i not in typed and prompt in seen:
                os.write(fd, answer + b'\n')
                typed.add(i)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(seen.decode('utf-8', 'replace'))
    return os.waitstatus_to_exitcode(status)


sys.exit(main())
