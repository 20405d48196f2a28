"""Scale-out: box-up runs as jobs of a PostgreSQL task queue (procrastinate).

``harness dispatch`` enqueues one job per role, wave by wave, and waits for a
wave to settle before the next; ``harness worker`` processes, on any number of
machines sharing the PostgreSQL database, take the jobs. Modules:

- :mod:`.queue`: the procrastinate app bound to ``HARNESS_POSTGRES_URL`` and schema;
- :mod:`.job`: the ``box_up_role`` job (start, or resume the role's run in this wave run);
- :mod:`.dispatch`: the wave-ordered dispatcher that also re-queues stalled jobs;
- :mod:`.ownership`: who drives a run across machines (host + pid), ``queue_runner``;
- :mod:`.worktrees`: a taken-over run gets its worktree back on this machine;
- :mod:`.worker`: a worker process's loop.

Nothing here is imported by the hooks or the MCP server's start-up path.
"""
