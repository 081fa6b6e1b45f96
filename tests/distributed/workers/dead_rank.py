"""Run on 2 ranks: rank 1 dies (SIGKILL) after one all-reduce; rank 0's next all-reduce must not hang."""
import os
import signal
import sys

import eagerlab as el
import eagerlab.distributed as dist

dist.init_process_group(timeout=float(sys.argv[1]))
t = el.ones(3)
dist.all_reduce(t)
if dist.get_rank() == 1:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)
dist.all_reduce(t)
print("rank 0 passed an all-reduce without rank 1")
