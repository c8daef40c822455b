"""Load benchmark: simulated young people through the fake Bot API in webhook mode, against
one engine + one app worker, two + two, two + two with an engine killed mid-run, and the bare
engine. See bench/README.md and `python -m bench.load --help`."""
