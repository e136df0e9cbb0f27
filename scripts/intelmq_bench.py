"""Runs IntelMQ's generic CSV parser bot on a feed file the way IntelMQ's own
test harness (intelmq.lib.test.BotTestCase) runs a bot, and reports the rate.

Usage: python intelmq_bench.py FEED.csv
Prints one JSON line: {"lines": N, "events": N, "seconds": S, "per_second": R}.
"""
import base64
import json
import sys
import time
import unittest

import intelmq.lib.test as test
from intelmq.bots.parsers.generic.parser_csv import GenericCsvParserBot

FEED = sys.argv.pop(1)

with open(FEED, "rb") as f:
    RAW = f.read()
LINES = sum(1 for line in RAW.splitlines() if line and not line.startswith(b"#"))


class Bench(test.BotTestCase, unittest.TestCase):
    @classmethod
    def set_bot(cls):
        cls.bot_reference = GenericCsvParserBot
        cls.sysconfig = {
            "columns": "time.source,source.ip,source.port,__IGNORE__,__IGNORE__,malware.name",
            "delimiter": ",",
            "type": "c2-server",
            "time_format": None,
        }

    def test_rate(self):
        self.input_message = {
            "__type": "Report",
            "feed.name": "Feodo Tracker (bench)",
            "feed.url": "https://feodotracker.abuse.ch/downloads/ipblocklist.csv",
            "raw": base64.b64encode(RAW).decode(),
            "time.observation": "2024-06-01T00:00:00+00:00",
        }
        start = time.perf_counter()
        self.run_bot()
        seconds = time.perf_counter() - start
        events = len(self.get_output_queue())
        assert events == LINES, (events, LINES)
        print(json.dumps({"lines": LINES, "events": events, "seconds": round(seconds, 3),
                          "per_second": round(LINES / seconds)}), flush=True)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=0)
