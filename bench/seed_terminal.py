"""The seed lesson's streaming call as a terminal script: its In [1] and its streaming
cell (bench/seed.py holds them verbatim), run as one program with base_url from the
first argument (the seed has "https://api.perplexity.ai") and seed.CHAT_MODEL for its model. The key comes from
PERPLEXITY_API_KEY, as in the seed.

    .venv/bin/python bench/seed_terminal.py http://127.0.0.1:PORT/v1
"""
import sys

import seed

exec(compile(seed.IN_1 + "\n" + seed.streaming_cell(sys.argv[1], seed.CHAT_MODEL), "seed", "exec"))
