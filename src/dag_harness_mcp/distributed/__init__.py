"""Scale-out (docs/scale-out.md): box-up runs as jobs of a PostgreSQL task queue
(procrastinate); ``harness dispatch`` queues them wave by wave, ``harness worker`` processes
on any machine take them. Neither the hooks nor the MCP server's start-up import it."""
