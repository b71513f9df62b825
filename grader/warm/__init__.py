"""The warm grader: a background process per user and checkout that serves ``check`` and
``grade`` with the grader, numpy, the homework's checks and its worker template already
loaded, so that a student's second ``make check`` costs the client's start plus the grading.

``address``: where it listens and what a client must agree on with it (standard library
only); ``wire``: the framing of its messages; ``client``: what ``python -m grader`` runs
before anything heavy when ``GRADER_WARM=1``; ``server``: the process itself.
"""
