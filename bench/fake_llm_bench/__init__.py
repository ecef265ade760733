"""Benchmark the fake LLM server against its targets (each part's target is stated below; docs/fake-llm.md).

    python -m bench.fake_llm_bench            # full run, about 5 minutes
    python -m bench.fake_llm_bench --quick    # smoke check, about a minute
    python -m bench.fake_llm_bench --profile  # also: GC accounting and py-spy profiles (+1-2 min)
    python -m bench.fake_llm_bench --only ab  # some parts only (a, b, c, d)

The fake is run as shipped (``python -m fake_llm serve --profile calm --seed 0``), pinned on core 0
like every server here; wrk, the asyncio stream client and this script run on core 1.

(a) throughput: non-streamed chat completions per second under the shipped ``calm`` profile, as a
    ratio to a bare FastAPI endpoint on the same uvicorn protocol (bench/bare_server.py) returning
    the fake's own answer verbatim (same size); wrk -t1 -c256 -d10s, interleaved, median of 3.
    Also the servers' CPU time per request, whose ratio holds up better when the core is shared;
(b) delay fidelity: a scripted 250 ms latency on every request, 200 connections held by
    ``wrk --latency`` for 10 s; p50/p99 of observed latency minus 250 ms, and the same from the
    server's ledger (finish_s - arrival_s - 0.25, --ledger-size 200000), median of 3 runs; beside
    it, interleaved, the "bare floor": bare_server.py doing a plain asyncio.sleep(0.25);
(c) 1,000 concurrent slow streams (scripted drip fault, ~10 s each) held open by a raw asyncio
    socket client; completed streams, errors by type, and the server's ledger count;
(d) server RSS (VmRSS) after 1,000 requests and after 100,000 (the ledger is a 10,000-row ring).

--profile adds: garbage-collector time per request (bench/gc_probe.py runs the same server with a
gc callback) and py-spy --native profiles of the fake and the bare server (pip install py-spy).

Prints a table (progress goes to stderr) and writes bench/results/fake_llm.json; server logs and
profiles land in bench/results/ too. Exit status 0 when every part ran (targets missed or not),
1 when a part failed. Every loop is bounded in time, a watchdog stops the script past its budget,
and the servers it started are always stopped.

Modules: ``common`` (settings, targets, small helpers), ``servers`` (the server processes),
``wrk``, one module per part (``throughput``, ``delay``, ``streams``, ``memory``, ``profiling``),
``report`` (the table and the targets) and ``cli`` (the command line).
"""
